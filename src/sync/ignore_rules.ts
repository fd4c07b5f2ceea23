/**
 * Which paths sync leaves alone: the rules of a `.dfosignore` file at the
 * top of the folder (gitignore syntax), and DFOS's own temporary files.
 * Loaded only where a folder has rules (the matcher is a CommonJS package,
 * whose loader costs every start); without rules, `OWN_FILES_ONLY` applies.
 *
 * @module
 */

import ignore, { type Ignore } from "ignore";
import { isOwnFile, type PathFilter } from "./own_files.ts";

export { IGNORE_FILE, ignoreFileText, MAX_IGNORE_FILE_BYTES } from "./own_files.ts";

/** Decides, for a relative path, whether sync leaves it alone. */
export class IgnoreRules implements PathFilter {
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
