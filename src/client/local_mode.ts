/**
 * The permission bits of files a download creates, as cp and scp give them:
 * 0o666 less the umask. The umask cannot be read directly without a
 * permission DFOS does not take (`--allow-sys`), and `/proc/self/status` is
 * closed to it as well, so the client asks the kernel once: it creates an
 * empty probe file with mode 0o666, reads the mode it got, and removes it.
 *
 * @module
 */

import { join } from "node:path";

/** The permission bits a file's mode may carry here (no setuid, setgid or sticky bit). */
export const PERMISSION_BITS = 0o777;

let umasked: number | undefined;

/**
 * The mode a new file created with 0o666 gets: 0o666 less the umask. Found
 * once per run by a probe file in `folder` (a folder the download writes
 * to anyway), whose name starts with `.dfos-mode-probe-`.
 */
export function newFileMode(folder: string): number {
  if (umasked !== undefined) return umasked;
  const probe = join(folder, `.dfos-mode-probe-${crypto.randomUUID()}`);
  const file = Deno.openSync(probe, { write: true, createNew: true, mode: 0o666 });
  try {
    umasked = (file.statSync().mode ?? 0o600) & PERMISSION_BITS;
  } finally {
    file.close();
    Deno.removeSync(probe);
  }
  return umasked;
}
