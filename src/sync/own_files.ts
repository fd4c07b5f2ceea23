/**
 * What sync leaves alone without any `.dfosignore`: DFOS's own temporary
 * files. Kept apart from the gitignore matcher (`ignore_rules.ts`) so that a
 * folder without rules never loads it.
 *
 * @module
 */

/** The name of the rules file at the top of a synced folder. */
export const IGNORE_FILE = ".dfosignore";

/** Largest rules file read, in bytes: beyond it the file is refused, not cut. */
export const MAX_IGNORE_FILE_BYTES = 256 * 1024;

/** DFOS's own files, never synced: download partials and sync's temporary files. */
const BUILT_IN_SUFFIXES = [".dfos-part", ".dfos-part.json", ".dfos-sync"];

/** Decides, for a relative path, whether sync leaves it alone. */
export interface PathFilter {
  /** Whether `path` (relative, `/`-separated) is ignored; `directory` says it is a folder. */
  ignores(path: string, directory: boolean): boolean;
}

/** The built-in rules alone: DFOS's own files, nothing else. */
export const OWN_FILES_ONLY: PathFilter = { ignores: (path) => isOwnFile(path) };

/** A hidden name of DFOS's own (`.NAME.dfos-part`, ...), in any folder. */
export function isOwnFile(path: string): boolean {
  const start = path.lastIndexOf("/") + 1;
  if (path.charCodeAt(start) !== 46) return false; // Not hidden: the common case, decided at once.
  const name = path.slice(start);
  return BUILT_IN_SUFFIXES.some((suffix) =>
    name.endsWith(suffix) && name.length >= suffix.length + 1
  );
}

/** Decodes a `.dfosignore` file's bytes, refusing one that is too large. */
export function ignoreFileText(bytes: Uint8Array): string {
  if (bytes.length > MAX_IGNORE_FILE_BYTES) {
    throw new RangeError(
      `${IGNORE_FILE} is larger than ${MAX_IGNORE_FILE_BYTES} bytes: refused rather than half read`,
    );
  }
  return new TextDecoder().decode(bytes);
}
