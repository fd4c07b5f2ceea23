/**
 * Names for the losing version of a conflict, as Syncthing users know them:
 * `report.sync-conflict-20261201-093000-laptop.pdf` beside `report.pdf`.
 *
 * @module
 */

/** Marks a name as a conflict copy; such names are never deleted by a one-way sync. */
export const CONFLICT_MARKER = ".sync-conflict-";

/** Longest name a folder entry may have, in bytes. */
const MAX_NAME_BYTES = 255;

/**
 * The name under which the other version of `path` is kept:
 * `NAME.sync-conflict-YYYYMMDD-HHMMSS-HOST.EXT` in the same folder, the time
 * in UTC. A name that starts with a dot and has no other dot (`.bashrc`), or
 * has no dot at all, gets the marker at its end.
 */
export function conflictName(path: string, when: Date, host: string): string {
  const slash = path.lastIndexOf("/");
  const folder = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const stamp = when.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const tag = `${CONFLICT_MARKER}${stamp}-${safeHost(host)}`;
  return folder + fitName(stem, tag + extension);
}

/** Whether `path` names a conflict copy. */
export function isConflictCopy(path: string): boolean {
  return path.slice(path.lastIndexOf("/") + 1).includes(CONFLICT_MARKER);
}

/** A host name reduced to what is safe in a file name on every system. */
function safeHost(host: string): string {
  const cleaned = host.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 32);
  return cleaned === "" ? "unknown" : cleaned;
}

/** `stem + suffix`, the stem shortened (by whole characters) so the name fits in 255 bytes. */
function fitName(stem: string, suffix: string): string {
  const encoder = new TextEncoder();
  const room = MAX_NAME_BYTES - encoder.encode(suffix).length;
  const characters = [...stem];
  while (characters.length > 0 && encoder.encode(characters.join("")).length > room) {
    characters.pop();
  }
  return characters.join("") + suffix;
}
