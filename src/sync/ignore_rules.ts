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
const BUILT_IN = [".*.dfos-part", ".*.dfos-part.json", ".*.dfos-sync"];

/** Decides, for a relative path, whether sync leaves it alone. */
export class IgnoreRules {
  readonly #matcher: Ignore;

  /** Rules from the texts of `.dfosignore` files (both sides' files are combined). */
  constructor(texts: string[] = []) {
    this.#matcher = ignore().add(BUILT_IN);
    for (const text of texts) this.#matcher.add(text);
  }

  /** Whether `path` (relative, `/`-separated) is ignored; `directory` says it is a folder. */
  ignores(path: string, directory: boolean): boolean {
    return this.#matcher.ignores(directory ? `${path}/` : path);
  }
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
