/**
 * Counters the server keeps for its performance log, and the sampler that
 * writes one JSON line every few seconds while the server is busy: CPU %,
 * RSS, heap, sessions, queue length, bytes in/out per second and transfers
 * per second. An idle server (no sessions, nobody queued, nothing moved)
 * writes one line marked `idle` when it becomes idle, then nothing until
 * there is work again: about 17,000 identical lines a day say nothing.
 *
 * @module
 */

import process from "node:process";
import { performanceLog } from "../log/logging.ts";

/**
 * How a login ended, as the metrics count it. A wrong password and an
 * unknown user name are one result, as they are to the client: the metrics
 * endpoint needs no login, and must not tell which names exist.
 */
export const LOGIN_RESULTS = [
  "ok",
  "bad_credentials",
  "locked_out",
  "busy",
  "demo_password_remote",
  "session_limit",
] as const;
/** One of {@link LOGIN_RESULTS}. */
export type LoginResult = (typeof LOGIN_RESULTS)[number];

/** Running totals, updated by sessions (and read by the performance log and the metrics). */
export class ServerMetrics {
  bytesIn = 0;
  bytesOut = 0;
  transfersCompleted = 0;
  sessions = 0;
  queued = 0;
  peakRss = 0;
  /** Connections held now, logged in or not. */
  connections = 0;
  /** The most connections held at once (from the open-file limit); 0 until the server runs. */
  maxConnections = 0;
  /** Logins by how they ended. */
  readonly logins = Object.fromEntries(LOGIN_RESULTS.map((result) => [result, 0])) as Record<
    LoginResult,
    number
  >;
  /** Lockouts begun, by what they lock. */
  readonly lockouts = { user: 0, address: 0 };
}

/** One line of the performance log. */
export interface PerformanceSample {
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  sessions: number;
  queued: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
  transfersPerSecond: number;
  /** Set on the line written as the server becomes idle: no line follows until it is busy again. */
  idle?: true;
}

/** What the sampler reads of the process; the defaults are the real ones. */
export interface SamplerSources {
  /** Milliseconds on a monotonic clock. Default `performance.now`. */
  now?: () => number;
  /** CPU time used, µs. Default `process.cpuUsage`. */
  cpuUsage?: () => { user: number; system: number };
  /** Default `Deno.memoryUsage`. */
  memoryUsage?: () => { rss: number; heapUsed: number; heapTotal: number };
  /** Where a sample goes. Default: a line of the performance log. */
  write?: (sample: PerformanceSample) => void;
}

/**
 * Takes samples of `metrics` when told to ({@link startPerformanceSampler}
 * tells it every interval) and writes those worth a line.
 */
export class PerformanceSampler {
  #metrics: ServerMetrics;
  #now: () => number;
  #cpuUsage: () => { user: number; system: number };
  #memoryUsage: () => { rss: number; heapUsed: number; heapTotal: number };
  #write: (sample: PerformanceSample) => void;
  #lastTime: number;
  #lastCpu: { user: number; system: number };
  #last = { bytesIn: 0, bytesOut: 0, transfers: 0 };
  /** The last line written said the server is idle: nothing more until it is busy. */
  #quiet = false;

  constructor(metrics: ServerMetrics, sources: SamplerSources = {}) {
    this.#metrics = metrics;
    this.#now = sources.now ?? (() => performance.now());
    this.#cpuUsage = sources.cpuUsage ?? (() => process.cpuUsage());
    this.#memoryUsage = sources.memoryUsage ?? (() => Deno.memoryUsage());
    this.#write = sources.write ??
      ((sample) => performanceLog.info("performance sample", { ...sample }));
    this.#lastTime = this.#now();
    this.#lastCpu = this.#cpuUsage();
  }

  /** Samples the interval since the last call; writes it unless the server was idle and said so. */
  sample(): void {
    const sample = this.#measure();
    const busy = sample.sessions > 0 || sample.queued > 0 ||
      sample.bytesInPerSecond > 0 || sample.bytesOutPerSecond > 0 ||
      sample.transfersPerSecond > 0;
    if (busy) {
      this.#quiet = false;
      this.#write(sample);
    } else if (!this.#quiet) {
      this.#quiet = true;
      this.#write({ ...sample, idle: true });
    }
  }

  #measure(): PerformanceSample {
    const metrics = this.#metrics;
    const now = this.#now();
    const seconds = Math.max(now - this.#lastTime, 1) / 1000;
    const cpu = this.#cpuUsage();
    const memory = this.#memoryUsage();
    metrics.peakRss = Math.max(metrics.peakRss, memory.rss);
    const sample = {
      cpuPercent: round(
        ((cpu.user - this.#lastCpu.user + cpu.system - this.#lastCpu.system) / 1e6 / seconds) *
          100,
      ),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      sessions: metrics.sessions,
      queued: metrics.queued,
      bytesInPerSecond: Math.round((metrics.bytesIn - this.#last.bytesIn) / seconds),
      bytesOutPerSecond: Math.round((metrics.bytesOut - this.#last.bytesOut) / seconds),
      transfersPerSecond: round((metrics.transfersCompleted - this.#last.transfers) / seconds),
    };
    this.#lastCpu = cpu;
    this.#lastTime = now;
    this.#last = {
      bytesIn: metrics.bytesIn,
      bytesOut: metrics.bytesOut,
      transfers: metrics.transfersCompleted,
    };
    return sample;
  }
}

/** Samples every `intervalMs`; returns a function that stops it. */
export function startPerformanceSampler(metrics: ServerMetrics, intervalMs: number): () => void {
  const sampler = new PerformanceSampler(metrics);
  const timer = setInterval(() => sampler.sample(), intervalMs);
  return () => clearInterval(timer);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
