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

class BarProgress implements Progress {
  #bar: cliProgress.SingleBar;
  #total = 0;
  #value = 0;
  #files = 0;
  #filesDone = 0;
  #started = false;
  #startTime = Date.now();

  constructor(label: string) {
    this.#bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: `${label} |{bar}| {percentage}% {done}/{size} {rate}/s ETA {eta_formatted}{files}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 10,
    }, cliProgress.Presets.shades_classic);
  }

  grow(bytes: number, files = 0): void {
    this.#total += bytes;
    this.#files += files;
    if (!this.#started) {
      this.#started = true;
      this.#bar.start(Math.max(this.#total, 1), 0, this.#payload());
    } else {
      this.#bar.setTotal(Math.max(this.#total, 1));
    }
  }

  advance(bytes: number): void {
    this.#value += bytes;
    this.#bar.update(this.#value, this.#payload());
  }

  fileDone(): void {
    this.#filesDone++;
    this.#bar.update(this.#value, this.#payload());
  }

  stop(): void {
    if (this.#started) this.#bar.stop();
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
