/**
 * Limits that protect the server and its users: failed-login delays and
 * lockouts, quotas, file size, a full disk, connections that never log in,
 * and the audit trail of all of it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connectRaw, readAudit, runClient, startServer, waitFor } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import { partialListing, partialSizes } from "../helpers/partials.ts";
import { canMountTmpfs, withSmallTmpfs } from "../helpers/tmpfs.ts";

Deno.test("wrong passwords meet growing delays, then a lockout; other users keep working", async () => {
  await using server = await startServer(["--max-login-failures=3", "--lockout=60"]);
  const durations: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = performance.now();
    const result = await runClient(server, ["pwd"], { password: `guess-${attempt}` });
    durations.push(performance.now() - started);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /wrong user name or password/);
  }
  const right = await runClient(server, ["pwd"]);
  assert.equal(right.code, 3, "even the right password is refused while locked out");
  assert.match(right.stderr, /too many failed logins for this user; try again in \d+ s/);
  const bob = await runClient(server, ["pwd"], { user: "bob" });
  assert.equal(bob.code, 0, "bob is not affected");
  const audit = await readAudit(server);
  const logins = audit.filter((event) => event.event === "login" && event.user === "alice");
  assert.deepEqual(logins.map((event) => event.result), [
    "failed",
    "failed",
    "failed",
    "refused: user locked out",
  ]);
  const delays = logins.slice(0, 3).map((event) => event.delayMs as number);
  assert.deepEqual(delays, [250, 500, 1000], "the delay doubles with each failure");
  delays.forEach((delay, index) => {
    assert.ok(durations[index] >= delay, `attempt ${index + 1} took ${durations[index]} ms`);
  });
  assert.ok(audit.some((event) => event.event === "lockout" && event.user === "alice"));
  assert.match(server.output(), /locked out "?user"? "?alice"? for 60 s/);
  assert.doesNotMatch(await Deno.readTextFile(join(server.logDir, "server.log")), /guess-/);
});

Deno.test("uploads past the quota or the size limit are refused and leave no file", async () => {
  await using server = await startServer(["--quota=1M", "--max-file-size=700K"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeFile(join(local, "a.bin"), seededBytes(600 * 1024, 1));
  await Deno.writeFile(join(local, "b.bin"), seededBytes(600 * 1024, 2));
  await Deno.writeFile(join(local, "huge.bin"), seededBytes(800 * 1024, 3));
  assert.equal((await runClient(server, ["put", "a.bin"], { cwd: local })).code, 0);

  const overQuota = await runClient(server, ["put", "b.bin"], { cwd: local });
  assert.equal(overQuota.code, 1);
  assert.match(
    overQuota.stderr,
    /^dfos: put: \/b\.bin: quota exceeded: the upload needs 600\.0 KiB, but only \d+\.\d KiB of alice's 1\.0 MiB quota is free\n$/,
  );
  const tooBig = await runClient(server, ["put", "huge.bin"], { cwd: local });
  assert.equal(tooBig.code, 1);
  assert.match(
    tooBig.stderr,
    /huge\.bin is 819200 bytes; this server accepts files of at most 716800 bytes/,
  );

  assert.deepEqual((await runClient(server, ["ls"])).stdout, "a.bin\n");
  const { count, bytes } = await partialListing(server);
  assert.deepEqual({ count, bytes }, { count: 0, bytes: 0 }, "no partial left");
  assert.equal((await runClient(server, ["rm", "a.bin"])).code, 0);
  assert.equal((await runClient(server, ["put", "b.bin"], { cwd: local })).code, 0, "room again");
  const refusals = (await readAudit(server)).filter((event) =>
    event.event === "upload" && event.result !== "ok"
  );
  assert.equal(refusals.length, 2);
  await Deno.remove(local, { recursive: true });
});

const tmpfsMountable = await canMountTmpfs();
if (!tmpfsMountable) {
  console.warn(
    "limits_test: the full-disk test is ignored: it needs to mount a small tmpfs (root)",
  );
}

Deno.test({
  name: "a full disk fails the upload clearly, keeps the partial for resume, and no truncated file",
  ignore: !tmpfsMountable,
  async fn() {
    await withSmallTmpfs({ prefix: "dfos-full-", name: "storage" }, async (dir, mountPoint) => {
      await using server = await startServer([`--storage=${mountPoint}`], dir);
      const local = join(dir, "local");
      await Deno.mkdir(local);
      await Deno.writeFile(join(local, "big.bin"), seededBytes(3 * 1024 * 1024, 4));
      const result = await runClient(server, ["put", "big.bin"], { cwd: local });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no space|full/i);
      assert.equal((await runClient(server, ["ls"])).stdout, "", "nothing under the real name");
      const partials = await partialSizes(server);
      assert.equal(partials.length, 1, "the partial is kept for a later resume");
    });
  },
});

Deno.test("connections that never log in are capped and time out; then clients are served", async () => {
  await using server = await startServer(["--max-unauthenticated=2", "--login-timeout=4"]);
  const silent = [await connectRaw(server), await connectRaw(server)];
  // The server may not have counted them yet: the refusal itself is the event to wait for.
  const crowded = await waitFor(
    async () => {
      const attempt = await runClient(server, ["pwd"], { timeoutMs: 20_000 });
      return attempt.code !== 0 && attempt;
    },
    3_000,
    "a refusal while two connections sit in the handshake",
  );
  assert.equal(crowded.code, 4, crowded.stderr);
  await waitFor(async () => (await runClient(server, ["pwd"])).code === 0, 10_000, "service");
  for (const conn of silent) conn.close();
});

Deno.test("the audit log records who did what, from where, with path, bytes, duration and result", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeFile(join(local, "f.bin"), seededBytes(5000, 9));
  const script = "put f.bin\nget f.bin back.bin\nmkdir d\nmv f.bin d/g.bin\nrm d/g.bin\nrmdir d\n" +
    "-cat ../../../etc/passwd\n-cat bad\\\\name\n";
  assert.equal((await runClient(server, [], { stdin: script, cwd: local })).code, 0);
  await runClient(server, ["pwd"], { password: "wrong" });
  const audit = await readAudit(server);
  const byEvent = (name: string) => audit.filter((event) => event.event === name);
  const write = byEvent("upload")[0];
  assert.equal(write.user, "alice");
  assert.equal(write.path, "/f.bin");
  assert.equal(write.bytes, 5000);
  assert.equal(write.result, "ok");
  assert.equal(typeof write.durationMs, "number");
  assert.match(String(write.session), /^[0-9a-f]{8}$/);
  assert.match(String(write.remote), /^127\.0\.0\.1:\d+$/);
  assert.equal(byEvent("download")[0].bytes, 5000);
  assert.deepEqual(byEvent("rename").map((e) => [e.path, e.to]), [["/f.bin", "/d/g.bin"]]);
  for (const name of ["mkdir", "delete", "rmdir"]) {
    assert.equal(byEvent(name)[0]?.result, "ok", name);
  }
  assert.ok(
    audit.some((e) =>
      e.requested === "bad\\name" && e.path === undefined && String(e.result).includes("backslash")
    ),
    "a path that cannot resolve is recorded as sent",
  );
  assert.ok(audit.some((e) => e.event === "login" && e.result === "failed"));
  const raw = await Deno.readTextFile(join(server.logDir, "audit.log"));
  assert.match(raw.split("\n")[0], /^\{"@timestamp":"\d{4}-\d\d-\d\dT/);
  assert.doesNotMatch(raw, /alice-secret|wrong"/, "no password in the audit log");
  await Deno.remove(local, { recursive: true });
});
