/**
 * The progress bar on a terminal, loaded only when one is shown.
 *
 * @module
 */

import cliProgress from "cli-progress";
import process from "node:process";
import { formatBytes } from "../shared/format_bytes.ts";
import { isShown, type Progress, showBar, type ShownBar } from "./progress.ts";

/**
 * A cli-progress bar. It appears with the first byte or file moved, not
 * when the work is announced, so a request the server refuses shows no
 * bar before its error. It is a one-bar `MultiBar` because that kind can
 * print lines above itself ({@link printLine}).
 */
export class BarProgress implements Progress, ShownBar {
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
    if (isShown(this)) showBar(undefined);
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
    showBar(this)?.stop();
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
