/**
 * `dfos server --metrics`: a real server's endpoint after a known sequence
 * of operations, checked by the counters, by `promtool check metrics`, and
 * by a real Prometheus scraping it on loopback.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  collectText,
  dfosCommand,
  readAudit,
  runClient,
  startServer,
  type TestServer,
  waitFor,
  within,
} from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../src/metrics/exposition.ts";

/** Starts a server with its metrics on a free loopback port; resolves to both ports. */
async function startMetricsServer(args: string[] = []) {
  const server = await startServer(["--metrics=127.0.0.1:0", ...args]);
  const port = Number(
    server.output().match(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/)?.[1],
  );
  assert.ok(port > 0, `the metrics address is in the log:\n${server.output()}`);
  return { server, metricsPort: port };
}

/** The scraped text, and every sample in it by `name{labels}` as written. */
async function scrape(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), EXPOSITION_CONTENT_TYPE);
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, samples };
}

type Samples = Map<string, number>;

/** How much each sample grew from `before` to `after` (those absent before count from 0). */
function growth(before: Samples, after: Samples): Map<string, number> {
  const grown = new Map<string, number>();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) grown.set(key, delta);
  }
  return grown;
}

/** Scrapes until no session is open (a client that exited may still be logging out). */
function idle(port: number): Promise<Samples> {
  return waitFor(
    async () => {
      const { samples } = await scrape(port);
      return samples.get("dfos_sessions_open") === 0 &&
        samples.get("dfos_connections_open") === 0 &&
        samples;
    },
    10_000,
    "the sessions to close",
  );
}

/** Whether `command --version` runs here (a command not found throws as it is spawned). */
async function installed(command: string): Promise<boolean> {
  try {
    const probe = new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    });
    return (await probe.output()).success;
  } catch {
    return false;
  }
}

const hasPromtool = await installed("promtool");
const hasPrometheus = await installed("prometheus");
for (const [found, tool] of [[hasPromtool, "promtool"], [hasPrometheus, "prometheus"]] as const) {
  if (!found) {
    console.log(`${tool} not found (Debian package prometheus): its metrics test is skipped`);
  }
}

const N = 300_000; // More than one 256 KiB chunk: the upload and the download stream.

Deno.test("after a login, a failed login, an upload of N bytes, a download and a get of a missing file the counters moved by exactly that", async () => {
  const { server, metricsPort } = await startMetricsServer();
  await using _ = server;
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await Deno.writeFile(join(local, "f.bin"), seededBytes(N, 5));
    const before = await idle(metricsPort);
    const wrong = await runClient(server, ["ls"], { password: "not-alice-secret" });
    assert.notEqual(wrong.code, 0);
    const batch = "put f.bin\nget f.bin copy.bin\n-get missing.bin\n";
    const run = await runClient(server, [], { stdin: batch, cwd: local });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await Deno.stat(join(local, "copy.bin"))).size, N);
    const after = await idle(metricsPort);
    const grown = growth(before, after);
    const expected = new Map([
      ['dfos_logins_total{result="ok"}', 1],
      ['dfos_logins_total{result="bad_credentials"}', 1],
      ["dfos_password_check_wait_seconds_count", 2],
      // The client looks before it downloads: a stat that finds the file, and one that does not.
      ['dfos_requests_total{operation="stat",status="OK"}', 1],
      ['dfos_requests_total{operation="stat",status="NOT_FOUND"}', 1],
      ['dfos_requests_total{operation="upload",status="OK"}', 1],
      ['dfos_requests_total{operation="download",status="OK"}', 1],
      ['dfos_request_errors_total{operation="stat",status="NOT_FOUND"}', 1],
      ['dfos_transfer_bytes_total{direction="upload"}', N],
      ['dfos_transfer_bytes_total{direction="download"}', N],
      ['dfos_transfer_files_total{direction="upload"}', 1],
      ['dfos_transfer_files_total{direction="download"}', 1],
      ['dfos_transfer_size_bytes_count{direction="upload"}', 1],
      ['dfos_transfer_size_bytes_sum{direction="upload"}', N],
      ['dfos_transfer_size_bytes_count{direction="download"}', 1],
      ['dfos_transfer_size_bytes_sum{direction="download"}', N],
      ['dfos_transfer_duration_seconds_count{direction="upload"}', 1],
      ['dfos_transfer_duration_seconds_count{direction="download"}', 1],
    ]);
    // Exactly these moved, among the counters and counts: nothing else, nothing twice.
    const counted =
      /^dfos_(logins|lockouts|requests|request_errors|transfer_bytes|transfer_files)_total|_count\b|_size_bytes_sum/;
    const moved = new Map([...grown].filter(([key]) => counted.test(key)));
    assert.deepEqual(moved, expected);
    assert.doesNotMatch(server.output(), /not on loopback/, "no warning for a loopback endpoint");
    assert.ok(!after.has('dfos_sessions_open{user="alice"}'));
    const { text } = await scrape(metricsPort);
    assert.doesNotMatch(text, /alice/, "no label names a user");
    // The stat that succeeded is counted, but it is no more in the audit log than before.
    const audited = (await readAudit(server)).map((record) => `${record.event} ${record.result}`);
    assert.ok(audited.includes("stat /missing.bin: no such file or directory"), audited.join("\n"));
    assert.ok(!audited.includes("stat ok"), audited.join("\n"));
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

/** A short run of traffic, so that labelled series exist: a login that fails, one that lists. */
async function someTraffic(server: TestServer): Promise<void> {
  await runClient(server, ["ls"], { password: "wrong" });
  const run = await runClient(server, [], { stdin: "mkdir a\nls\n-get missing\n" });
  assert.equal(run.code, 0, run.stderr);
}

Deno.test({
  name: "the scraped text passes promtool check metrics",
  ignore: !hasPromtool,
  async fn() {
    const { server, metricsPort } = await startMetricsServer();
    await using _ = server;
    await someTraffic(server);
    const { text } = await scrape(metricsPort);
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const { code, stdout, stderr } = await within(child.output(), 20_000, "promtool");
    const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, said);
    assert.equal(said, "");
  },
});

/** A port free on loopback at the moment of asking. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** The result of an instant query of the Prometheus at `port`. */
async function query(port: number, expression: string): Promise<{ value: [number, string] }[]> {
  const response = await fetch(
    `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expression)}`,
  );
  const body = await response.json();
  return response.ok && body.status === "success" ? body.data.result : [];
}

Deno.test({
  name:
    "a real Prometheus on loopback scrapes the endpoint: up is 1 and the dfos_ metrics are there",
  ignore: !hasPrometheus,
  async fn() {
    const { server, metricsPort } = await startMetricsServer();
    await using _ = server;
    await someTraffic(server);
    const dir = await Deno.makeTempDir({ prefix: "dfos-prometheus-" });
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: dfos",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${metricsPort}"]`,
      "",
    ].join("\n");
    await Deno.writeTextFile(join(dir, "prometheus.yml"), config);
    const port = freePort();
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = collectText(prometheus.stderr);
    try {
      let exited = false;
      prometheus.status.then(() => exited = true);
      const ready = await waitFor(
        () => exited ? "exited" : log.text().includes("Server is ready to receive web requests"),
        20_000,
        "Prometheus to be ready",
      ).catch((error) => error);
      assert.equal(ready, true, `Prometheus did not start:\n${log.text()}`);
      // Prometheus hands new targets to its scrapers every 5 s: the first scrape comes after that.
      await waitFor(
        async () => (await query(port, 'up{job="dfos"}'))[0]?.value[1] === "1",
        20_000,
        "up 1",
      );
      const logins = await query(port, 'dfos_logins_total{job="dfos",result="bad_credentials"}');
      assert.equal(logins[0]?.value[1], "1", "the failed login, as Prometheus read it");
      const build = await query(port, "dfos_build_info");
      assert.equal(build.length, 1);
      const requests = await query(port, 'dfos_requests_total{operation="mkdir",status="OK"}');
      assert.equal(requests[0]?.value[1], "1");
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.status;
      await log.done;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("/healthz is ok while serving, 503 while the server shuts down, and the endpoint stops with it", async () => {
  const { server, metricsPort } = await startMetricsServer(["--shutdown-grace=30"]);
  await using _ = server;
  const health = async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    return `${response.status} ${await response.text()}`;
  };
  assert.equal(await health(), "200 ok\n");
  // A connection that never logs in holds the shutdown open (until the grace period ends).
  const holder = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await waitFor(async () =>
      (await scrape(metricsPort)).samples.get("dfos_connections_open") === 1
    );
    server.child.kill("SIGTERM");
    await waitFor(async () => await health() === "503 shutting down\n", 10_000, "503");
    assert.equal(
      (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()))
        .includes("dfos_sessions_open 0"),
      true,
      "metrics still served while shutting down",
    );
  } finally {
    holder.close();
  }
  assert.equal(await server.stop(), 0);
  await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/healthz`), TypeError);
});

/** Runs `dfos server ARGS` with a users file until it exits. */
async function serverExit(args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  try {
    await Deno.writeTextFile(join(dir, "users.txt"), "alice:alice-secret\n");
    const command = dfosCommand([
      "server",
      "--host=127.0.0.1",
      "--port=0",
      `--storage=${join(dir, "storage")}`,
      `--users=${join(dir, "users.txt")}`,
      `--log-dir=${join(dir, "logs")}`,
      ...args,
    ], { signal: AbortSignal.timeout(20_000) });
    const { code, stderr } = await command.output();
    return { code, stderr: new TextDecoder().decode(stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a malformed --metrics is a usage error, and an address in use stops the start with its name", async () => {
  const malformed = await serverExit(["--metrics=9464"]);
  assert.equal(malformed.code, 2);
  assert.match(
    malformed.stderr,
    /option '--metrics <host:port>' argument '9464' is invalid\. expected HOST:PORT/,
  );
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const busy = await serverExit([`--metrics=127.0.0.1:${taken.addr.port}`]);
    assert.equal(busy.code, 1);
    assert.match(
      busy.stderr,
      new RegExp(
        `cannot start: cannot serve metrics on 127\\.0\\.0\\.1:${taken.addr.port}: the address is already in use`,
      ),
    );
    assert.doesNotMatch(busy.stderr, /listening on/);
  } finally {
    taken.close();
  }
});

Deno.test("an endpoint bound beyond loopback is served, with one warning that it needs no login", async () => {
  const server = await startServer(["--metrics=0.0.0.0:0"]);
  await using _ = server;
  const port = Number(server.output().match(/metrics on http:\/\/0\.0\.0\.0:(\d+)\/metrics/)?.[1]);
  const warnings = server.output().match(
    /the metrics endpoint 0\.0\.0\.0:\d+ is not on loopback and needs no login/g,
  );
  assert.equal(warnings?.length, 1, server.output());
  const { samples } = await scrape(port); // Through loopback, like everything in the tests.
  assert.equal(samples.get("dfos_sessions_open"), 0);
});
