/**
 * What the audit log says about operations in a subfolder: the resolved
 * path always, the path as sent beside it where that differs, and operation
 * names an operator reads.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openClient, readAudit, runClient, startServer, waitFor } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";

/** Every name the audit log uses for what happened. */
const AUDIT_EVENTS = new Set([
  "login",
  "lockout",
  "list",
  "stat",
  "cd",
  "mkdir",
  "rmdir",
  "delete",
  "rename",
  "set-mtime",
  "download",
  "upload",
  "list-partials",
  "discard-partials",
]);

Deno.test("audit records of failed and successful operations in a subfolder carry the resolved path, the sent one beside it, and readable operation names", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await Deno.writeFile(join(local, "f.bin"), seededBytes(3000, 4));
    const shell = "mkdir a\ncd a\nput f.bin\nget f.bin back.bin\nmv f.bin g.bin\n";
    const run = await runClient(server, [], { stdin: shell, cwd: local });
    assert.equal(run.code, 0, run.stderr);
    const connection = await openClient(server);
    try {
      assert.equal(await connection.chdir("a"), "/a");
      await connection.setMtime("g.bin", Date.UTC(2020, 0, 1));
      await assert.rejects(connection.remove("missing.bin", false));
      await assert.rejects(connection.rename("missing.bin", "x.bin", false));
      await assert.rejects(connection.setMtime("../a/missing.bin", 0));
    } finally {
      await connection.close();
    }
    const audit = await waitFor(
      async () => {
        const records = await readAudit(server);
        return records.filter((record) => record.event !== "login").length >= 8 && records;
      },
      10_000,
      "the audit records",
    );
    const find = (event: string, result: (text: string) => boolean) =>
      audit.find((record) => record.event === event && result(String(record.result)));
    const ok = (text: string) => text === "ok";
    const failed = (text: string) => text !== "ok";

    assert.equal(find("mkdir", ok)?.path, "/a");
    assert.equal(find("upload", ok)?.path, "/a/f.bin");
    assert.equal(find("download", ok)?.path, "/a/f.bin");
    assert.deepEqual([find("rename", ok)?.path, find("rename", ok)?.to], ["/a/f.bin", "/a/g.bin"]);
    assert.deepEqual(pathsOf(find("set-mtime", ok)), { path: "/a/g.bin", requested: "g.bin" });
    assert.deepEqual(pathsOf(find("delete", failed)), {
      path: "/a/missing.bin",
      requested: "missing.bin",
    });
    assert.deepEqual(pathsOf(find("rename", failed)), {
      path: "/a/missing.bin",
      requested: "missing.bin",
      to: "/a/x.bin",
      requestedTo: "x.bin",
    });
    assert.deepEqual(pathsOf(find("set-mtime", failed)), {
      path: "/a/missing.bin",
      requested: "../a/missing.bin",
    });
    assert.match(String(find("delete", failed)?.result), /missing\.bin/);
    for (const record of audit) {
      assert.ok(AUDIT_EVENTS.has(String(record.event)), `readable name: ${record.event}`);
      if (record.requested !== undefined) assert.notEqual(record.requested, record.path);
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

/** The path fields of an audit record. */
function pathsOf(record: Record<string, unknown> | undefined) {
  const { path, requested, to, requestedTo } = record ?? {};
  return Object.fromEntries(
    Object.entries({ path, requested, to, requestedTo }).filter(([, value]) => value !== undefined),
  );
}

Deno.test("a path that cannot resolve is audited as sent, with no resolved path", async () => {
  await using server = await startServer();
  const connection = await openClient(server);
  try {
    await assert.rejects(connection.mkdir("bad\\name", false));
  } finally {
    await connection.close();
  }
  const record = await waitFor(
    async () => (await readAudit(server)).find((record) => record.event === "mkdir"),
    10_000,
    "the audit record",
  );
  assert.deepEqual(pathsOf(record), { requested: "bad\\name" });
  assert.match(String(record.result), /backslash/);
});
