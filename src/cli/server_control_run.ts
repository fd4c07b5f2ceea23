/**
 * Running `dfos server status` and `dfos server stop`: one request over the
 * control socket, its answer on stdout, a failure as one `dfos: …` line on
 * stderr with the exit code its kind calls for:
 *
 * | code | meaning |
 * |------|---------|
 * | 0 | shown; stopped and exited |
 * | 1 | not allowed (another user's server), not a socket, refused, not stopped in time |
 * | 4 | no server running (no socket, or nothing answers on it), no answer |
 *
 * @module
 */

import { EXIT } from "../client/errors.ts";
import {
  ControlClientError,
  type ControlFailure,
  requestStatus,
  requestStop,
} from "../control/control_client.ts";
import type { StoppingReply } from "../control/control_protocol.ts";
import { type ControlSocketSettings, locateControlSocket } from "../control/socket_path.ts";
import { formatStatus } from "../control/status_table.ts";

const EXIT_FOR: Record<ControlFailure, number> = {
  "not-running": EXIT.CONNECTION,
  "no-answer": EXIT.CONNECTION,
  "denied": EXIT.FAILED,
  "not-a-socket": EXIT.FAILED,
  "refused": EXIT.FAILED,
  "not-stopped": EXIT.FAILED,
};

/** Prints the status of the server `settings` locate, as a table or as JSON. */
export async function runStatus(
  settings: ControlSocketSettings,
  options: { json: boolean },
): Promise<number> {
  const { socketPath } = locateControlSocket(settings);
  try {
    const status = await requestStatus(socketPath);
    const text = options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status);
    await write(Deno.stdout, text);
    return EXIT.OK;
  } catch (error) {
    return await fail("server status", error);
  }
}

/** Stops the server `settings` locate and waits for it to exit. */
export async function runStop(
  settings: ControlSocketSettings,
  options: { timeoutMs?: number },
): Promise<number> {
  const { socketPath } = locateControlSocket(settings);
  try {
    const stopping = await requestStop(socketPath, {
      timeoutMs: options.timeoutMs,
      onStopping: (reply) => write(Deno.stdout, stoppingLine(reply)),
    });
    await write(Deno.stdout, `server stopped (pid ${stopping.pid})\n`);
    return EXIT.OK;
  } catch (error) {
    return await fail("server stop", error);
  }
}

function stoppingLine(reply: StoppingReply): string {
  const grace = `running transfers have up to ${reply.graceSeconds} s to finish`;
  return reply.alreadyStopping
    ? `the server (pid ${reply.pid}) was already stopping; waiting for it to exit\n`
    : `stopping the server (pid ${reply.pid}): ${grace}\n`;
}

async function fail(what: string, error: unknown): Promise<number> {
  if (!(error instanceof ControlClientError)) throw error;
  await write(Deno.stderr, `dfos: ${what}: ${error.message}\n`);
  return EXIT_FOR[error.failure];
}

async function write(stream: { write(bytes: Uint8Array): Promise<number> }, text: string) {
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; offset < bytes.length;) offset += await stream.write(bytes.subarray(offset));
}
