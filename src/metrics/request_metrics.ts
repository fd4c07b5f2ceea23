/**
 * Requests and transfers as metrics, from the change feed's record of each
 * finished request: requests and errors by operation and status, bytes and
 * files by direction, and the durations and sizes of finished transfers.
 *
 * @module
 */

import type { FeedSubscriber, RequestRecord } from "../server/change_feed.ts";
import { statusName } from "../protocol/status.ts";
import { Counter } from "./counter.ts";
import { Histogram } from "./histogram.ts";
import type { MetricFamily } from "./metric_family.ts";

/** Upper bounds of the transfer duration buckets, seconds: 5 ms to an hour. */
export const TRANSFER_SECONDS_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
];

/** Upper bounds of the transfer size buckets, bytes: 1 KiB to 16 GiB, by fours. */
export const TRANSFER_BYTES_BUCKETS = Array.from({ length: 13 }, (_, at) => 1024 * 4 ** at);

/** The status label of a request that succeeded; failures carry their `STATUS` name. */
export const STATUS_OK = "OK";

const DIRECTIONS = [{ direction: "upload" }, { direction: "download" }];

/** The request and transfer families, fed by {@link RequestMetrics.subscriber}. */
export class RequestMetrics {
  readonly requests = new Counter({
    name: "dfos_requests_total",
    help:
      "Requests finished, by operation (as in the audit log) and status (OK or the STATUS name).",
    labelNames: ["operation", "status"],
  });
  readonly errors = new Counter({
    name: "dfos_request_errors_total",
    help: "Requests that failed, by operation and status.",
    labelNames: ["operation", "status"],
  });
  readonly bytes = new Counter({
    name: "dfos_transfer_bytes_total",
    help: "File bytes moved by transfers, finished or not, by direction.",
    labelNames: ["direction"],
    initial: DIRECTIONS,
  });
  readonly files = new Counter({
    name: "dfos_transfer_files_total",
    help: "Transfers finished whole, by direction.",
    labelNames: ["direction"],
    initial: DIRECTIONS,
  });
  readonly durations = new Histogram({
    name: "dfos_transfer_duration_seconds",
    help: "How long finished transfers took, by direction, in seconds.",
    buckets: TRANSFER_SECONDS_BUCKETS,
    labelNames: ["direction"],
    initial: DIRECTIONS,
  });
  readonly sizes = new Histogram({
    name: "dfos_transfer_size_bytes",
    help: "Bytes moved by finished transfers, by direction.",
    buckets: TRANSFER_BYTES_BUCKETS,
    labelNames: ["direction"],
    initial: DIRECTIONS,
  });

  /** Every family, in the order an endpoint shows them. */
  get families(): MetricFamily[] {
    return [this.requests, this.errors, this.bytes, this.files, this.durations, this.sizes];
  }

  /** What the change feed tells of each finished request. */
  readonly subscriber: FeedSubscriber = { request: (record) => this.count(record) };

  /** Counts one finished request. */
  count(record: RequestRecord): void {
    const { operation } = record;
    const status = record.code === undefined ? STATUS_OK : statusName(record.code);
    this.requests.inc({ operation, status });
    if (status !== STATUS_OK) this.errors.inc({ operation, status });
    if (operation !== "upload" && operation !== "download") return;
    const labels = { direction: operation };
    const bytes = record.detail.bytes ?? 0;
    this.bytes.inc(labels, bytes);
    if (status !== STATUS_OK) return;
    this.files.inc(labels);
    this.sizes.observe(labels, bytes);
    this.durations.observe(labels, (record.detail.durationMs ?? 0) / 1000);
  }
}
