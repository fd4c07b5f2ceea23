/**
 * Creating the control socket safely. The socket is bound inside a fresh
 * folder of mode 0700, given mode 0600 there, and only then linked under its
 * name, so nobody else can connect to it at any moment, whatever the state
 * folder's own mode. Whatever already has the name is refused, except a
 * socket nothing answers on (left by a server that was killed), which is
 * replaced; a symbolic link is never followed. At the end the socket is
 * removed, if it is still the one this server made.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { utf8Length } from "../shared/utf8_length.ts";

/** Longest path a Unix socket address holds: 108 bytes with its NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What the private folder the socket is bound in adds to the state folder's path. */
const BIND_PATH_EXTRA = "/.c0123456789abcdef/s".length;

/** How long a socket already at the path has to accept a connection before it counts as live, ms. */
const PROBE_TIMEOUT_MS = 2_000;

/** The control socket cannot be created; the message says why and what to do. */
export class ControlSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlSocketError";
  }
}

/** A bound control socket. */
export interface BoundSocket {
  readonly listener: Deno.UnixListener;
  readonly path: string;
  /** A stale socket of an earlier server was found at the path and replaced. */
  readonly replacedStale: boolean;
  /** Stops listening and removes the socket file if it is still this one. */
  close(): Promise<void>;
}

/** Binds the control socket at `path` (mode 0600), creating its folder (mode 0700) if needed. */
export async function bindControlSocket(path: string): Promise<BoundSocket> {
  const folder = dirname(path);
  if (utf8Length(folder) + BIND_PATH_EXTRA > MAX_SOCKET_PATH_BYTES) {
    throw new ControlSocketError(
      `the state folder's path ${folder} is too long for a control socket (${
        utf8Length(folder)
      } bytes, at most ${MAX_SOCKET_PATH_BYTES - BIND_PATH_EXTRA}): give a shorter --state-dir`,
    );
  }
  await Deno.mkdir(folder, { recursive: true, mode: 0o700 });
  const replacedStale = (await existingSocket(path)) === "stale";
  const listener = await bindPrivately(path, replacedStale);
  const made = await Deno.lstat(path);
  return {
    listener,
    path,
    replacedStale,
    async close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      const now = await Deno.lstat(path).catch(() => undefined);
      if (now && now.dev === made.dev && now.ino === made.ino) {
        await Deno.remove(path).catch(ignoreNotFound);
      }
    },
  };
}

/**
 * Binds in a private folder, sets mode 0600, then links the socket under
 * `path`; a link never replaces anything, so a name taken meanwhile is refused.
 */
async function bindPrivately(path: string, replaceStale: boolean): Promise<Deno.UnixListener> {
  const privateFolder = await Deno.makeTempDir({ dir: dirname(path), prefix: ".c" });
  let listener: Deno.UnixListener | undefined;
  try {
    const bound = join(privateFolder, "s");
    listener = Deno.listen({ transport: "unix", path: bound });
    await Deno.chmod(bound, 0o600);
    if (replaceStale) await Deno.remove(path).catch(ignoreNotFound);
    await Deno.link(bound, path).catch((error) => {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      throw new ControlSocketError(`${path} was created by someone else while this server started`);
    });
    return listener;
  } catch (error) {
    listener?.close();
    throw error;
  } finally {
    await Deno.remove(privateFolder, { recursive: true }).catch(() => {});
  }
}

/** What is at `path` now: nothing, or a socket nobody answers on; anything else is refused. */
async function existingSocket(path: string): Promise<"absent" | "stale"> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
  if (info.isSymlink) {
    throw new ControlSocketError(
      `${path} is a symbolic link, not a control socket: refusing to follow or replace it; remove it or give another --state-dir`,
    );
  }
  if (!info.isSocket) {
    throw new ControlSocketError(
      `${path} exists and is ${kindOf(info)}, not a socket: remove it or give another --state-dir`,
    );
  }
  if (await answers(path)) {
    throw new ControlSocketError(
      `another server is running with the state folder ${
        dirname(path)
      }: its control socket ${path} answers (stop it with dfos server stop, or give another --state-dir)`,
    );
  }
  return "stale";
}

/** Whether a process accepts connections on the socket at `path`. */
async function answers(path: string): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<"slow">((resolve) =>
    timer = setTimeout(() => resolve("slow"), PROBE_TIMEOUT_MS)
  );
  const connecting = Deno.connect({ transport: "unix", path });
  try {
    const outcome = await Promise.race([connecting, slow]);
    if (outcome === "slow") {
      connecting.then((conn) => conn.close(), () => {});
      return true; // Something holds it, too busy to accept: not ours to take.
    }
    outcome.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new ControlSocketError(
        `cannot tell whether a server answers on ${path}: permission denied (it belongs to another user)`,
      );
    }
    if (
      error instanceof Deno.errors.ConnectionRefused ||
      error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.NotFound
    ) return false;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isFile) return "a regular file";
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a named pipe";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "something else";
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
