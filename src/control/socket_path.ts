/**
 * Where the control socket is: `control.sock` in the server's state folder.
 * The server and `dfos server status`/`stop` find it the same way, from
 * the same settings and defaults.
 *
 * @module
 */

import { join } from "node:path";
import { DEFAULT_SERVER_CONFIG, stateDirFor } from "../server/server_config.ts";

/** The socket's name inside the state folder. */
export const CONTROL_SOCKET_NAME = "control.sock";

/**
 * The settings that place the socket, as `dfos server` takes them. A
 * setting left undefined takes the server's default; a configuration file
 * fills them in before flags override them.
 */
export interface ControlSocketSettings {
  /** `--storage` (default `./server_storage`): the state folder goes beside it. */
  storageDir?: string;
  /** `--state-dir` (default: `server_state` beside the storage). */
  stateDir?: string;
}

/** The socket in `stateDir`. */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET_NAME);
}

/** The state folder and socket that `settings` name, with the server's defaults. */
export function locateControlSocket(
  settings: ControlSocketSettings,
): { stateDir: string; socketPath: string } {
  const storageDir = settings.storageDir ?? DEFAULT_SERVER_CONFIG.storageDir;
  const stateDir = stateDirFor(storageDir, settings.stateDir);
  return { stateDir, socketPath: controlSocketPath(stateDir) };
}
