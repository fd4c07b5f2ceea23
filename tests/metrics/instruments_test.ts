import assert from "node:assert/strict";
import { Counter } from "../../src/metrics/counter.ts";
import { Histogram } from "../../src/metrics/histogram.ts";
import { ValueFunc } from "../../src/metrics/value_func.ts";
import { MetricsRegistry } from "../../src/metrics/registry.ts";
import { MAX_SERIES_PER_FAMILY } from "../../src/metrics/_labelled_series.ts";

Deno.test("a counter counts per label set, shows its initial sets at 0, and writes labels in its own order", async () => {
  const registry = new MetricsRegistry();
  const counter = registry.register(
    new Counter({
      name: "t_requests_total",
      help: "Requests.",
      labelNames: ["operation", "status"],
      initial: [{ status: "OK", operation: "list" }],
    }),
  );
  counter.inc({ status: "NOT_FOUND", operation: "download" });
  counter.inc({ operation: "download", status: "NOT_FOUND" }, 2);
  assert.equal(counter.value({ operation: "download", status: "NOT_FOUND" }), 3);
  assert.equal(
    await registry.render(),
    [
      "# HELP t_requests_total Requests.",
      "# TYPE t_requests_total counter",
      't_requests_total{operation="list",status="OK"} 0',
      't_requests_total{operation="download",status="NOT_FOUND"} 3',
      "",
    ].join("\n"),
  );
});

Deno.test("a counter refuses to go down, wrong labels, and more series than it may keep", () => {
  const counter = new Counter({ name: "t_total", help: "t", labelNames: ["a"] });
  assert.throws(() => counter.inc({ a: "x" }, -1), RangeError);
  assert.throws(() => counter.inc({ a: "x" }, NaN), RangeError);
  assert.throws(() => counter.inc({}), /takes the labels a/);
  assert.throws(() => counter.inc({ a: "x", b: "y" }), /takes only the labels a/);
  for (let i = 0; i < MAX_SERIES_PER_FAMILY; i++) counter.inc({ a: String(i) });
  assert.throws(() => counter.inc({ a: "one more" }), /the most kept/);
  counter.inc({ a: "0" }); // A series it has still counts.
  assert.equal(counter.value({ a: "0" }), 2);
});

Deno.test("bad names are refused when a family is made", () => {
  assert.throws(() => new Counter({ name: "dfos-x", help: "" }), /not a valid metric name/);
  assert.throws(() => new Counter({ name: "x", help: "", labelNames: ["__a"] }), /label name/);
  assert.throws(() => new Counter({ name: "x", help: "", labelNames: ["a", "a"] }), /twice/);
  assert.throws(
    () => new Histogram({ name: "x", help: "", buckets: [1], labelNames: ["le"] }),
    /le/,
  );
  assert.throws(() => new Histogram({ name: "x", help: "", buckets: [2, 1] }), /ascending/);
  assert.throws(() => new Histogram({ name: "x", help: "", buckets: [1, Infinity] }), /finite/);
});

Deno.test("a histogram counts each value in the first bucket it fits, above the last in +Inf", async () => {
  const histogram = new Histogram({ name: "t_seconds", help: "t", buckets: [0.1, 1] });
  for (const value of [0, 0.1, 0.5, 1, 7]) histogram.observe({}, value);
  assert.throws(() => histogram.observe({}, NaN), RangeError);
  const registry = new MetricsRegistry();
  registry.register(histogram);
  assert.equal(
    await registry.render(),
    [
      "# HELP t_seconds t",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.1"} 2',
      't_seconds_bucket{le="1"} 4',
      't_seconds_bucket{le="+Inf"} 5',
      "t_seconds_sum 8.6",
      "t_seconds_count 5",
      "",
    ].join("\n"),
  );
});

Deno.test("families without labels show their one series before anything happens", async () => {
  const registry = new MetricsRegistry();
  registry.register(new Counter({ name: "t_total", help: "t" }));
  registry.register(new Histogram({ name: "t_bytes", help: "t", buckets: [1] }));
  const text = await registry.render();
  assert.match(text, /^t_total 0$/m);
  assert.match(text, /^t_bytes_count 0$/m);
});

Deno.test("a value read at scrape time is read at each scrape, and may have no series", async () => {
  let sessions = 1;
  const registry = new MetricsRegistry();
  registry.register(
    new ValueFunc({ type: "gauge", name: "t_open", help: "t", read: () => sessions }),
  );
  registry.register(new ValueFunc({ type: "gauge", name: "t_unknown", help: "t", read: () => [] }));
  assert.match(await registry.render(), /^t_open 1$/m);
  sessions = 4;
  const text = await registry.render();
  assert.match(text, /^t_open 4$/m);
  assert.match(text, /# TYPE t_unknown gauge\n$/);
});

Deno.test("a registry refuses a name taken, or one a histogram's lines use", () => {
  const registry = new MetricsRegistry();
  registry.register(new Histogram({ name: "t_seconds", help: "t", buckets: [1] }));
  assert.throws(() => registry.register(new Counter({ name: "t_seconds", help: "" })), /clashes/);
  assert.throws(
    () => registry.register(new Counter({ name: "t_seconds_count", help: "" })),
    /clashes/,
  );
});
