/**
 * Transfer progress: a bar with bytes, rate and ETA on a terminal
 * (progress_bar.ts, loaded only then), nothing otherwise.
 *
 * @module
 */

/** What transfers report to. */
export interface Progress {
  /** Adds work: bytes (and files) still to move. */
  grow(bytes: number, files?: number): void;
  /** Reports moved bytes. */
  advance(bytes: number): void;
  /** Reports a finished file. */
  fileDone(): void;
  /** Removes the display. */
  stop(): void;
}

/** A {@link Progress} that shows nothing. */
export const SILENT_PROGRESS: Progress = {
  grow() {},
  advance() {},
  fileDone() {},
  stop() {},
};

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Label before the bar, e.g. the file name. */
  label: string;
  /** Show nothing. Default: show only when stderr is a terminal. */
  quiet?: boolean;
}

/** A bar on stderr when it is a terminal and not `quiet`; otherwise {@link SILENT_PROGRESS}. */
export async function createProgress(options: ProgressOptions): Promise<Progress> {
  if (options.quiet || !Deno.stderr.isTerminal()) return SILENT_PROGRESS;
  // The bar's library takes about 10 ms to load: scripts and pipes never pay it.
  const { BarProgress } = await import("./progress_bar.ts");
  return new BarProgress(options.label);
}

/** A bar on the terminal: it can print a line above itself, and go. */
export interface ShownBar {
  log(text: string): void;
  stop(): void;
}

/** The bar on the terminal now, if any: {@link printLine} writes above it. */
let shown: ShownBar | undefined;

/** Makes `bar` the one shown (undefined: none), returning the one shown before. */
export function showBar(bar: ShownBar | undefined): ShownBar | undefined {
  const before = shown;
  shown = bar;
  return before;
}

/** Whether `bar` is the one shown. */
export function isShown(bar: ShownBar): boolean {
  return shown === bar;
}

/**
 * Prints `text` as one line on stderr. While a progress bar is shown, the
 * line goes above the bar, never glued to it, and the bar is drawn again
 * below: notices and warnings that arrive mid-transfer use this.
 */
export function printLine(text: string): void {
  if (shown) shown.log(text);
  else console.error(text);
}
