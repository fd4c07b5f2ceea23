/**
 * A status report as people read it: a few summary lines, then one line
 * per session and per running transfer (README "Status and control").
 *
 * @module
 */

import { formatBytes } from "../shared/format_bytes.ts";
import { plural } from "../shared/plural.ts";
import type { ServerStatus, SessionStatus, TransferStatus } from "./status_report.ts";

const HEADINGS = ["USER", "ADDRESS", "SINCE", "SESSION", "TRANSFER"];

/**
 * The report as text, times in the local time zone; `now` (ms since the
 * epoch) decides whether a login time needs its date.
 */
export function formatStatus(status: ServerStatus, now: number = Date.now()): string {
  const { server, queue, totals } = status;
  const lines = [
    `server    pid ${server.pid}, version ${server.version}, on ${server.host}:${server.port}, up ${
      formatDuration(server.uptimeSeconds)
    }${server.stopping ? "; STOPPING: running transfers are finishing" : ""}`,
    `sessions  ${status.sessions.length} of ${server.maxClients}; queue: ${queue.waiting} waiting (at most ${queue.max})`,
    `served    ${plural(totals.sessionsServed, "session")}, ${
      plural(totals.transfersCompleted, "transfer")
    }; ${formatBytes(totals.bytesIn)} in, ${formatBytes(totals.bytesOut)} out`,
    "",
  ];
  if (status.sessions.length === 0) return [...lines, "no sessions", ""].join("\n");
  const rows = status.sessions.flatMap((session) => sessionRows(session, now));
  return [...lines, ...alignColumns([HEADINGS, ...rows]), ""].join("\n");
}

/** One row for the session with its first transfer, one more per further transfer. */
function sessionRows(session: SessionStatus, now: number): string[][] {
  const first = [session.user, session.remote, clockTime(session.since, now), session.id];
  if (session.transfers.length === 0) return [[...first, "-"]];
  return session.transfers.map((transfer, index) => [
    ...(index === 0 ? first : ["", "", "", ""]),
    describeTransfer(transfer),
  ]);
}

/** "upload /big.iso: 412.0 MiB of 1.0 GiB (40%), 11.2 MiB/s". */
export function describeTransfer(transfer: TransferStatus): string {
  const percent = transfer.size === 0 ? 100 : Math.floor((transfer.done / transfer.size) * 100);
  return `${transfer.direction} ${transfer.path}: ${formatBytes(transfer.done)} of ${
    formatBytes(transfer.size)
  } (${percent}%), ${formatBytes(transfer.bytesPerSecond)}/s`;
}

/** "3d 4h", "1h 2m 3s", "2m 3s", "5s". */
export function formatDuration(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor(seconds / 3600) % 24;
  const minutes = Math.floor(seconds / 60) % 60;
  const secs = Math.floor(seconds) % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m ${secs}s`;
  if (minutes > 0) return `${minutes}m ${secs}s`;
  return `${secs}s`;
}

/** "14:02:11" today, "2026-11-30 14:02" on an earlier day. */
function clockTime(iso: string, now: number): string {
  const time = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, "0");
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
  if (time.toDateString() === new Date(now).toDateString()) return clock;
  const date = `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}`;
  return `${date} ${clock.slice(0, 5)}`;
}

/** The rows with every column but the last padded to its widest cell. */
function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column]))
      .join("  ")
  );
}
