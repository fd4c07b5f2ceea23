/**
 * Counters the server keeps for its performance log, and the sampler that
 * writes one line every few seconds: CPU %, RSS, heap, sessions, queue
 * length, bytes in/out per second and transfers per second.
 *
 * @module
 */

import process from "node:process";
import { performanceLog } from "../log/logging.ts";

/** Running totals, updated by sessions. */
export class ServerMetrics {
  bytesIn = 0;
  bytesOut = 0;
  transfersCompleted = 0;
  sessions = 0;
  queued = 0;
  peakRss = 0;
}

/** Starts sampling every `intervalMs`; returns a function that stops it. */
export function startPerformanceSampler(metrics: ServerMetrics, intervalMs: number): () => void {
  let lastCpu = process.cpuUsage();
  let lastTime = performance.now();
  let last = { bytesIn: 0, bytesOut: 0, transfers: 0 };
  const timer = setInterval(() => {
    const now = performance.now();
    const seconds = (now - lastTime) / 1000;
    const cpu = process.cpuUsage(lastCpu);
    const memory = Deno.memoryUsage();
    metrics.peakRss = Math.max(metrics.peakRss, memory.rss);
    performanceLog.info("sample", {
      cpuPercent: round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      sessions: metrics.sessions,
      queued: metrics.queued,
      bytesInPerSecond: Math.round((metrics.bytesIn - last.bytesIn) / seconds),
      bytesOutPerSecond: Math.round((metrics.bytesOut - last.bytesOut) / seconds),
      transfersPerSecond: round((metrics.transfersCompleted - last.transfers) / seconds),
    });
    lastCpu = process.cpuUsage();
    lastTime = now;
    last = {
      bytesIn: metrics.bytesIn,
      bytesOut: metrics.bytesOut,
      transfers: metrics.transfersCompleted,
    };
  }, intervalMs);
  return () => clearInterval(timer);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
