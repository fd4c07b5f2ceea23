/**
 * `dfos client` on a terminal with neither `--host` nor `--port`: searches
 * the local network for a moment and offers the servers that answered, the
 * default address one key away. Picking a server only chooses where to
 * connect: trust is decided afterwards by the known-hosts rules, exactly as
 * for an address typed with `--host`.
 *
 * @module
 */

import { hostAddress } from "../transport/known_hosts.ts";
import type { ServerAddress } from "./host_address.ts";
import { discoverServers, type ListedServer } from "./discover_command.ts";
import { TERMINAL, type TrustDialogue } from "./trust_prompt.ts";
import { TRUST_WORDS } from "../discovery/trust_status.ts";

/** How long the client looks for servers before offering them, ms. */
export const PICKER_SEARCH_MS = 1_000;

/**
 * Where to connect: a server picked from those found, `fallback` when none
 * was found, the search failed or the user pressed Enter; undefined when
 * input ended without an answer.
 */
export async function offerDiscoveredServers(
  fallback: ServerAddress,
  knownHostsPath: string | undefined,
  dialogue: TrustDialogue = TERMINAL,
): Promise<ServerAddress | undefined> {
  const where = hostAddress(fallback.host, fallback.port);
  let servers: ListedServer[];
  try {
    servers = await discoverServers(PICKER_SEARCH_MS, knownHostsPath);
  } catch (error) {
    await dialogue.write(
      `dfos: cannot look for servers: ${(error as Error).message}; connecting to ${where}\n`,
    );
    return fallback;
  }
  if (servers.length === 0) {
    await dialogue.write(
      `dfos: no DFOS server answered on the local network; connecting to ${where}\n`,
    );
    return fallback;
  }
  return await pickServer(servers, fallback, dialogue);
}

/** Lists `servers` and reads the choice: a number, or Enter for `fallback`. */
export async function pickServer(
  servers: ListedServer[],
  fallback: ServerAddress,
  dialogue: TrustDialogue = TERMINAL,
): Promise<ServerAddress | undefined> {
  const lines = servers.map((server, index) =>
    `  ${index + 1}) ${server.name}  ${hostAddress(server.addresses[0], server.port)}  ${
      TRUST_WORDS[server.trust]
    }`
  );
  const range = servers.length === 1 ? "1" : `1-${servers.length}`;
  await dialogue.write(
    [
      "DFOS servers on the local network:",
      ...lines,
      `Connect to which one (${range}, or Enter for ${
        hostAddress(fallback.host, fallback.port)
      })? `,
    ].join("\n"),
  );
  for (;;) {
    const line = await dialogue.readLine();
    if (line === null) {
      await dialogue.write("\n");
      return undefined;
    }
    const answer = line.trim();
    if (answer === "") return fallback;
    const index = /^\d{1,4}$/.test(answer) ? Number(answer) - 1 : -1;
    if (index >= 0 && index < servers.length) {
      return { host: servers[index].addresses[0], port: servers[index].port };
    }
    await dialogue.write(
      `Please type ${
        servers.length === 1 ? "1" : `a number from 1 to ${servers.length}`
      }, or press Enter: `,
    );
  }
}
