/**
 * `dfos discover`: lists the DFOS servers that answer on the local network
 * (DNS-SD over multicast DNS), with whether the fingerprint each announces
 * is the one the known-hosts file holds for it. Exit 0 when the search ran
 * (even if nobody answered), 1 when it could not run.
 *
 * @module
 */

import { Command, InvalidArgumentError, Option } from "commander";
import { EXIT } from "../client/errors.ts";
import { defaultKnownHostsPath, hostAddress, KnownHosts } from "../transport/known_hosts.ts";
import { seconds } from "./options.ts";
import type { DiscoveredServer } from "../discovery/server_collector.ts";
import { type TrustStatus, trustStatus } from "../discovery/trust_status.ts";

/** Default time answers are collected, ms. */
export const DEFAULT_DISCOVERY_MS = 2_000;

/** Longest search allowed, ms. */
const MAX_DISCOVERY_MS = 60_000;

/** A discovered server with its standing in known-hosts. */
export type ListedServer = DiscoveredServer & { trust: TrustStatus };

/** Builds the `discover` subcommand; `onExit` receives the exit code. */
export function discoverCommand(onExit: (code: number) => void): Command {
  return new Command("discover")
    .description("list the DFOS servers that announce themselves on the local network")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for answers")
        .argParser(discoveryTimeout).default(DEFAULT_DISCOVERY_MS, "2"),
    )
    .option("--json", "print the list as JSON")
    .option("--known-hosts <file>", "servers trusted so far (default: ~/.config/dfos/known_hosts)")
    .action(async (options: { timeout: number; json?: boolean; knownHosts?: string }) => {
      onExit(await runDiscover(options));
    });
}

async function runDiscover(
  options: { timeout: number; json?: boolean; knownHosts?: string },
): Promise<number> {
  let servers: ListedServer[];
  try {
    servers = await discoverServers(options.timeout, options.knownHosts);
  } catch (error) {
    console.error(`dfos: discover: ${(error as Error).message}`);
    return EXIT.FAILED;
  }
  if (options.json) {
    console.log(JSON.stringify(servers, null, 2));
  } else if (servers.length === 0) {
    console.error(`dfos: discover: no DFOS server answered within ${options.timeout / 1000} s`);
  } else {
    console.log(serverTable(servers));
  }
  return EXIT.OK;
}

/**
 * Searches for `timeoutMs` and marks each server's standing in the
 * known-hosts file. Rejects with a DiscoveryError when no search can run.
 */
export async function discoverServers(
  timeoutMs: number,
  knownHostsPath = defaultKnownHostsPath(),
): Promise<ListedServer[]> {
  // Loaded only to search: node:dgram and the DNS codec are not for every command.
  const { searchServers } = await import("../discovery/search.ts");
  const servers = await searchServers({ timeoutMs });
  const knownHosts = await KnownHosts.load(knownHostsPath);
  return servers.map((server) => ({ ...server, trust: trustStatus(server, knownHosts) }));
}

/** The servers as aligned columns, a header line first. */
export function serverTable(servers: ListedServer[]): string {
  const rows = [
    ["NAME", "ADDRESS", "TRUST", "FINGERPRINT"],
    ...servers.map((server) => [
      server.name,
      hostAddress(server.addresses[0], server.port),
      server.trust,
      server.fingerprint ?? "-",
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()
  )
    .join("\n");
}

function discoveryTimeout(value: string): number {
  const ms = seconds(value);
  if (ms < 100 || ms > MAX_DISCOVERY_MS) {
    throw new InvalidArgumentError(`expected 0.1 to ${MAX_DISCOVERY_MS / 1000} seconds`);
  }
  return ms;
}
