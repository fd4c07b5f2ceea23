import assert from "node:assert/strict";
import { RequestMetrics } from "../../src/metrics/request_metrics.ts";
import type { RequestRecord } from "../../src/server/change_feed.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { ChangeFeed } from "../../src/server/change_feed.ts";
import { auditTrail } from "../../src/server/audit_trail.ts";
import { logRecordsDuring } from "../helpers/log_records.ts";

function record(fields: Partial<RequestRecord>): RequestRecord {
  return {
    operation: "list",
    user: "alice",
    sessionId: "1f2e3d4c",
    remote: "127.0.0.1:5000",
    detail: {},
    result: "ok",
    ...fields,
  };
}

Deno.test("each finished request counts once by operation and status; failures count as errors too", () => {
  const metrics = new RequestMetrics();
  metrics.count(record({ operation: "stat", audited: false }));
  metrics.count(record({ operation: "stat", result: "/a: no such file", code: STATUS.NOT_FOUND }));
  metrics.count(record({ operation: "delete", result: "x", code: STATUS.PERMISSION_DENIED }));
  assert.equal(metrics.requests.value({ operation: "stat", status: "OK" }), 1);
  assert.equal(metrics.requests.value({ operation: "stat", status: "NOT_FOUND" }), 1);
  assert.equal(metrics.errors.value({ operation: "stat", status: "NOT_FOUND" }), 1);
  assert.equal(metrics.errors.value({ operation: "delete", status: "PERMISSION_DENIED" }), 1);
  assert.equal(
    metrics.errors.value({ operation: "stat", status: "OK" }),
    0,
    "no error series for OK",
  );
});

Deno.test("a finished transfer counts its bytes, a file, its size and duration; one cut short only its bytes", async () => {
  const metrics = new RequestMetrics();
  metrics.count(record({ operation: "upload", detail: { bytes: 5000, durationMs: 250 } }));
  metrics.count(record({
    operation: "upload",
    detail: { bytes: 700, durationMs: 90 },
    result: "cancelled by the client",
    code: STATUS.CANCELLED,
  }));
  metrics.count(record({ operation: "download", detail: { bytes: 0, durationMs: 1 } }));
  const upload = { direction: "upload" };
  assert.equal(metrics.bytes.value(upload), 5700);
  assert.equal(metrics.files.value(upload), 1);
  assert.equal(metrics.files.value({ direction: "download" }), 1, "an empty file is a file");
  const sizes = (await metrics.sizes.collect()).series as { labels: object; sum: number }[];
  assert.deepEqual(sizes.map((series) => [series.labels, series.sum]), [
    [upload, 5000],
    [{ direction: "download" }, 0],
  ]);
  const durations = (await metrics.durations.collect()).series as { sum: number }[];
  assert.equal(durations[0].sum, 0.25);
});

Deno.test("the audit log leaves out what is marked unaudited; the metrics see it all the same", async () => {
  const metrics = new RequestMetrics();
  const records = await logRecordsDuring(() => {
    const feed = new ChangeFeed();
    feed.subscribe(auditTrail);
    feed.subscribe(metrics.subscriber);
    feed.request(record({ operation: "list", audited: false }));
    feed.request(record({ operation: "mkdir", detail: { path: "/a" } }));
  }, ["dfos", "audit"]);
  assert.deepEqual(records.map((line) => line.properties.event), ["mkdir"]);
  assert.equal(metrics.requests.value({ operation: "list", status: "OK" }), 1);
  assert.equal(metrics.requests.value({ operation: "mkdir", status: "OK" }), 1);
});
