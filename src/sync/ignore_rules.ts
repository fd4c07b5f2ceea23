/**
 * Which paths sync leaves alone: the rules of a `.dfosignore` file at the
 * top of the folder (gitignore syntax), and DFOS's own temporary files.
 *
 * @module
 */

import ignore, { type Ignore } from "ignore";

/** The name of the rules file at the top of a synced folder. */
export const IGNORE_FILE = ".dfosignore";

/** Largest rules file read, in bytes: beyond it the file is refused, not cut. */
export const MAX_IGNORE_FILE_BYTES = 256 * 1024;

/** DFOS's own files, never synced: download partials and sync's temporary files. */
const BUILT_IN_SUFFIXES = [".dfos-part", ".dfos-part.json", ".dfos-sync"];

/** Decides, for a relative path, whether sync leaves it alone. */
export class IgnoreRules {
  /** The rules of the `.dfosignore` files; none: only the built-in ones apply. */
  readonly #matcher: Ignore | undefined;

  /** Rules from the texts of `.dfosignore` files (both sides' files are combined). */
  constructor(texts: string[] = []) {
    if (texts.length === 0) return;
    this.#matcher = ignore();
    for (const text of texts) this.#matcher.add(text); // A text is split into its lines.
  }

  /** Whether `path` (relative, `/`-separated) is ignored; `directory` says it is a folder. */
  ignores(path: string, directory: boolean): boolean {
    return isOwnFile(path) || (this.#matcher?.ignores(directory ? `${path}/` : path) ?? false);
  }
}

/** A hidden name of DFOS's own (`.NAME.dfos-part`, ...), in any folder. */
function isOwnFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.startsWith(".") &&
    BUILT_IN_SUFFIXES.some((suffix) => name.endsWith(suffix) && name.length >= suffix.length + 1);
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
