/**
 * Every client command, in the one-shot form and in the shell, against a
 * real server on loopback.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";

Deno.test("one-shot commands: put, ls, stat, cat, get, mkdir, mv, rm, rmdir", async (t) => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const content = seededBytes(5000, 3);
  await Deno.writeFile(join(local, "report.pdf"), content);
  const run = (...args: string[]) => runClient(server, args, { cwd: local });

  await t.step("put uploads a file into the cwd", async () => {
    const result = await run("put", "report.pdf");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await sha256File(join(server.storageDir, "alice", "report.pdf")), sha256(content));
  });
  await t.step("put of an existing name without -f fails with exit 1 and says so", async () => {
    const result = await run("put", "report.pdf");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^dfos: put: .*already exists.*\n$/);
  });
  await t.step("put -f replaces it", async () => {
    assert.equal((await run("put", "-f", "report.pdf")).code, 0);
  });
  await t.step("ls and list show the name; ls -l shows type, size and time", async () => {
    assert.equal((await run("ls")).stdout, "report.pdf\n");
    assert.equal((await run("list")).stdout, "report.pdf\n");
    assert.match(
      (await run("ls", "-l")).stdout,
      /^- +5000 +\d{4}-\d\d-\d\d \d\d:\d\d +report\.pdf\n$/,
    );
  });
  await t.step("stat prints path, type, size and mtime", async () => {
    const { stdout } = await run("stat", "report.pdf");
    assert.match(stdout, /path: \/report\.pdf\ntype: file\nsize: 5000 /);
  });
  await t.step("cat shows the first 1024 bytes; -n chooses; preview is an alias", async () => {
    assert.deepEqual((await run("cat", "report.pdf")).stdoutBytes, content.subarray(0, 1024));
    assert.deepEqual(
      (await run("cat", "-n", "10", "report.pdf")).stdoutBytes,
      content.subarray(0, 10),
    );
    assert.deepEqual((await run("preview", "-a", "report.pdf")).stdoutBytes, content);
  });
  await t.step(
    "get downloads byte-identical, keeps mtime, refuses to overwrite without -f",
    async () => {
      assert.equal((await run("get", "report.pdf", "copy.pdf")).code, 0);
      assert.equal(await sha256File(join(local, "copy.pdf")), sha256(content));
      const remote = await Deno.stat(join(server.storageDir, "alice", "report.pdf"));
      const copy = await Deno.stat(join(local, "copy.pdf"));
      assert.equal(copy.mtime?.getTime(), remote.mtime?.getTime());
      const again = await run("download", "report.pdf", "copy.pdf");
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already exists locally/);
      assert.equal((await run("get", "-f", "report.pdf", "copy.pdf")).code, 0);
    },
  );
  await t.step("mkdir -p, mv into a directory, cd and pwd", async () => {
    assert.equal((await run("mkdir", "-p", "docs/2026")).code, 0);
    assert.equal((await run("mkdir", "docs")).code, 1);
    assert.equal((await run("mv", "report.pdf", "docs/2026")).code, 0);
    assert.equal((await run("ls", "docs/2026")).stdout, "report.pdf\n");
    assert.equal((await run("cd", "docs")).code, 0);
    assert.equal((await run("pwd")).stdout, "/\n"); // Each one-shot run is a new session.
    const cdFile = await run("cd", "docs/2026/report.pdf");
    assert.equal(cdFile.code, 1);
    assert.match(cdFile.stderr, /not a directory/);
  });
  await t.step(
    "rmdir refuses a non-empty directory; rm refuses a directory without -r",
    async () => {
      const rmdir = await run("rmdir", "docs");
      assert.equal(rmdir.code, 1);
      assert.match(rmdir.stderr, /^dfos: rmdir: .*not empty/i);
      assert.equal((await run("rm", "docs")).code, 1);
      assert.equal((await run("rm", "docs/2026/report.pdf")).code, 0);
      assert.equal((await run("rmdir", "docs/2026")).code, 0);
      assert.equal((await run("mkdir", "docs/x")).code, 0);
      assert.equal((await run("delete", "-r", "docs")).code, 0);
      assert.equal((await run("ls")).stdout, "");
    },
  );
  await t.step("get of a missing file fails with exit 1 and one line", async () => {
    const result = await run("get", "missing.txt");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^dfos: get: \/missing\.txt: no such file or directory\n$/);
  });
  await t.step("lpwd, lls, help and exit run locally", async () => {
    assert.equal((await run("lpwd")).stdout.trim(), await Deno.realPath(local));
    assert.match((await run("lls")).stdout, /copy\.pdf/);
    const help = (await run("help")).stdout;
    assert.match(help, /put \[-r\] \[-f\] LOCAL \[REMOTE\] \(upload\) /);
    assert.match(help, /^ {2}ls \[-l\] \[PATH\] \(list, dir\) /m, "aliases are listed");
    assert.match(help, /^ {2}exit \(quit, bye\) /m);
    assert.match((await run("help", "get")).stdout, /also: download/);
    assert.equal((await run("exit")).code, 0);
  });
  await t.step("usage errors exit 2", async () => {
    const unknown = await run("frobnicate");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal((await run("ls", "--bogus")).code, 2);
    assert.equal((await run("mv", "only-one")).code, 2);
    assert.equal((await run("cat", "-n", "zero", "x")).code, 1);
  });
  await Deno.remove(local, { recursive: true });
});

Deno.test("the shell runs the same commands from stdin and keeps its working directory", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeTextFile(join(local, "notes.txt"), "hello from the shell\n");
  const script = [
    "mkdir -p 'work dir'",
    "cd 'work dir'",
    "pwd",
    "upload notes.txt",
    "ls -l",
    "cat notes.txt",
    "stat notes.txt",
    "mv notes.txt renamed.txt",
    "get renamed.txt back.txt",
    "lls",
    "-get missing.txt", // May fail: the batch goes on.
    "rm renamed.txt",
    "cd ..",
    "rmdir 'work dir'",
    "ls",
    "bye",
    "pwd",
  ].join("\n") + "\n";
  const result = await runClient(server, [], { stdin: script, cwd: local });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^\/work dir\n/);
  assert.match(result.stdout, /- +21 .* notes\.txt\n/);
  assert.match(result.stdout, /hello from the shell\n/);
  assert.match(result.stdout, /path: \/work dir\/notes\.txt/);
  assert.match(result.stdout, /back\.txt/);
  assert.equal(result.stderr, "dfos: get: /work dir/missing.txt: no such file or directory\n");
  assert.ok(!result.stdout.trimEnd().endsWith("/"), "nothing runs after bye");
  assert.equal(await Deno.readTextFile(join(local, "back.txt")), "hello from the shell\n");
  assert.deepEqual([...Deno.readDirSync(join(server.storageDir, "alice"))].map((e) => e.name), [
    ".dfos",
  ]);
  await Deno.remove(local, { recursive: true });
});

Deno.test("a wrong password exits 3 with one line; an unknown user looks the same", async () => {
  await using server = await startServer();
  const wrong = await runClient(server, ["ls"], { password: "not-it" });
  assert.equal(wrong.code, 3);
  assert.equal(wrong.stderr, `dfos: alice@127.0.0.1:${server.port}: wrong user name or password\n`);
  const unknown = await runClient(server, ["ls"], { user: "mallory", password: "x" });
  assert.equal(unknown.code, 3);
  assert.equal(unknown.stderr, wrong.stderr.replace("alice", "mallory"));
});

Deno.test("without any password source the client fails with a usage error", async () => {
  await using server = await startServer();
  const result = await runClient(server, ["ls"], { password: "" });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no password: use --password-file FILE, set DFOS_PASSWORD/);
});

Deno.test("--password-file reads the first line", async () => {
  await using server = await startServer();
  const file = join(server.dir, "pw");
  await Deno.writeTextFile(file, "alice-secret\nignored\n");
  const result = await runClient(server, [`--password-file=${file}`, "pwd"], { password: "" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "/\n");
});

Deno.test("connecting to a port nobody listens on exits 4", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const result = await runClient({ port }, ["ls"]);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /^dfos: alice@127\.0\.0\.1:\d+: cannot connect to 127\.0\.0\.1:\d+/);
});
