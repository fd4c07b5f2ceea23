import assert from "node:assert/strict";
import { formatExposition, formatValue } from "../../src/metrics/exposition.ts";
import { escapeLabelValue, formatLabels } from "../../src/metrics/labels.ts";

Deno.test("a counter and a gauge are written with HELP, TYPE and one line per series", () => {
  const text = formatExposition([
    {
      name: "dfos_logins_total",
      help: "Logins by result.",
      type: "counter",
      series: [
        { labels: { result: "ok" }, value: 3 },
        { labels: { result: "bad_credentials" }, value: 0 },
      ],
    },
    {
      name: "dfos_sessions_open",
      help: "Sessions.",
      type: "gauge",
      series: [{ labels: {}, value: 2 }],
    },
  ]);
  assert.equal(
    text,
    [
      "# HELP dfos_logins_total Logins by result.",
      "# TYPE dfos_logins_total counter",
      'dfos_logins_total{result="ok"} 3',
      'dfos_logins_total{result="bad_credentials"} 0',
      "# HELP dfos_sessions_open Sessions.",
      "# TYPE dfos_sessions_open gauge",
      "dfos_sessions_open 2",
      "",
    ].join("\n"),
  );
});

Deno.test("a histogram's buckets are cumulative, end at +Inf with the count, and come with _sum and _count", () => {
  const text = formatExposition([{
    name: "dfos_transfer_duration_seconds",
    help: "Durations.",
    type: "histogram",
    series: [{
      labels: { direction: "upload" },
      bounds: [0.5, 1, 10],
      counts: [1, 0, 2, 1],
      sum: 31.5,
    }],
  }]);
  assert.equal(
    text,
    [
      "# HELP dfos_transfer_duration_seconds Durations.",
      "# TYPE dfos_transfer_duration_seconds histogram",
      'dfos_transfer_duration_seconds_bucket{direction="upload",le="0.5"} 1',
      'dfos_transfer_duration_seconds_bucket{direction="upload",le="1"} 1',
      'dfos_transfer_duration_seconds_bucket{direction="upload",le="10"} 3',
      'dfos_transfer_duration_seconds_bucket{direction="upload",le="+Inf"} 4',
      'dfos_transfer_duration_seconds_sum{direction="upload"} 31.5',
      'dfos_transfer_duration_seconds_count{direction="upload"} 4',
      "",
    ].join("\n"),
  );
});

Deno.test("label values escape backslash, double quote and line feed; nothing else", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue("tab\there, é, {}=,"), "tab\there, é, {}=,");
  assert.equal(formatLabels({ path: 'x"\n' }), '{path="x\\"\\n"}');
  assert.equal(formatLabels({}), "");
  assert.equal(formatLabels({}, ["le", "+Inf"]), '{le="+Inf"}');
});

Deno.test("help text escapes backslash and line feed, so it stays on its line", () => {
  const text = formatExposition([{
    name: "x",
    help: 'two\nlines \\ and "quotes"',
    type: "gauge",
    series: [],
  }]);
  assert.equal(text, '# HELP x two\\nlines \\\\ and "quotes"\n# TYPE x gauge\n');
});

Deno.test("values: integers and fractions as numbers, infinities and NaN as the format spells them", () => {
  assert.deepEqual(
    [1, 0, -2, 0.25, 1e21, Infinity, -Infinity, NaN].map(formatValue),
    ["1", "0", "-2", "0.25", "1e+21", "+Inf", "-Inf", "NaN"],
  );
});

Deno.test("nothing to show is an empty text", () => {
  assert.equal(formatExposition([]), "");
});
