/**
 * Transfer progress: a bar with bytes, rate and ETA on a terminal (via
 * cli-progress), nothing otherwise.
 *
 * @module
 */

import cliProgress from "cli-progress";
import process from "node:process";
import { formatBytes } from "../shared/format_bytes.ts";

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
export function createProgress(options: ProgressOptions): Progress {
  if (options.quiet || !Deno.stderr.isTerminal()) return SILENT_PROGRESS;
  return new BarProgress(options.label);
}

/** The bar on the terminal now, if any: {@link printLine} writes above it. */
let shown: BarProgress | undefined;

/**
 * Prints `text` as one line on stderr. While a progress bar is shown, the
 * line goes above the bar, never glued to it, and the bar is drawn again
 * below: notices and warnings that arrive mid-transfer use this.
 */
export function printLine(text: string): void {
  if (shown) shown.log(text);
  else console.error(text);
}

/**
 * A cli-progress bar. It appears with the first byte or file moved, not
 * when the work is announced, so a request the server refuses shows no
 * bar before its error. It is a one-bar `MultiBar` because that kind can
 * print lines above itself ({@link printLine}).
 */
class BarProgress implements Progress {
  #label: string;
  #bars: cliProgress.MultiBar | undefined;
  #bar: cliProgress.SingleBar | undefined;
  #total = 0;
  #value = 0;
  #files = 0;
  #filesDone = 0;
  #startTime = Date.now();

  constructor(label: string) {
    this.#label = label;
  }

  grow(bytes: number, files = 0): void {
    this.#total += bytes;
    this.#files += files;
    this.#bar?.setTotal(Math.max(this.#total, 1));
  }

  advance(bytes: number): void {
    this.#value += bytes;
    if (this.#value > 0) this.#draw();
  }

  fileDone(): void {
    this.#filesDone++;
    this.#draw();
  }

  stop(): void {
    if (!this.#bars) return;
    this.#bars.stop();
    this.#bars = undefined;
    this.#bar = undefined;
    if (shown === this) shown = undefined;
  }

  /** Prints `text` on its own line above the bar. */
  log(text: string): void {
    this.#bars?.log(`${text}\n`);
    this.#bars?.update();
  }

  #draw(): void {
    if (this.#bar) return this.#bar.update(this.#value, this.#payload());
    this.#bars = new cliProgress.MultiBar({
      stream: process.stderr,
      format:
        `${this.#label} |{bar}| {percentage}% {done}/{size} {rate}/s ETA {eta_formatted}{files}`,
      hideCursor: true,
      clearOnComplete: false,
      // Drawn every frame: after a line printed above, an unchanged bar must appear again.
      forceRedraw: true,
      etaBuffer: 50,
      fps: 10,
    }, cliProgress.Presets.shades_classic);
    this.#bar = this.#bars.create(Math.max(this.#total, 1), this.#value, this.#payload());
    shown?.stop();
    shown = this;
  }

  #payload() {
    const seconds = Math.max((Date.now() - this.#startTime) / 1000, 0.001);
    return {
      done: formatBytes(this.#value),
      size: formatBytes(this.#total),
      rate: formatBytes(this.#value / seconds),
      files: this.#files > 1 ? ` ${this.#filesDone}/${this.#files} files` : "",
    };
  }
}
