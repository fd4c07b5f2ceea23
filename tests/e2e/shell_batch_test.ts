/**
 * Commands piped into the shell run as a batch, as with `sftp -b`: the first
 * failure stops it and gives the exit code, a leading `-` lets a command
 * fail without stopping it, and `#` lines and blank lines are comments.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";

Deno.test("a failing command stops the batch, and its exit code is the client's", async () => {
  await using server = await startServer();
  const result = await runClient(server, [], { stdin: "ls nope\npwd\n" });
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "dfos: ls: /nope: no such file or directory\n");
  assert.equal(result.stdout, "", "pwd did not run");
  const usage = await runClient(server, [], { stdin: "pwd\nfrobnicate\npwd\n" });
  assert.equal(usage.code, 2, "a usage error exits 2");
  assert.equal(usage.stdout, "/\n", "only the first pwd ran");
  const quote = await runClient(server, [], { stdin: "cat 'unclosed\npwd\n" });
  assert.equal(quote.code, 2);
  assert.equal(quote.stderr, "dfos: shell: unterminated ' quote\n");
  assert.equal(quote.stdout, "");
});

Deno.test("a line starting with - may fail without stopping the batch", async () => {
  await using server = await startServer();
  const result = await runClient(server, [], { stdin: "-ls nope\n  -rm nope\npwd\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "/\n");
  assert.equal(
    result.stderr,
    "dfos: ls: /nope: no such file or directory\ndfos: rm: /nope: no such file or directory\n",
  );
});

Deno.test("# lines and blank lines are comments", async () => {
  await using server = await startServer();
  const script = "# make a folder\n\n   \n  # and show where we are\nmkdir a\n#cd a\npwd\n";
  const result = await runClient(server, [], { stdin: script });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.equal(result.stdout, "/\n");
});

Deno.test("a batch's output is the files' bytes: cat of a file without a final newline adds none", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  const bytes = new Uint8Array([0x61, 0x62, 0x00, 0xff, 0x63]); // No newline at the end.
  await Deno.writeFile(join(root, "raw.bin"), bytes);
  const result = await runClient(server, [], { stdin: "cat -a raw.bin\ncat -n 2 raw.bin\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdoutBytes, new Uint8Array([...bytes, 0x61, 0x62]));
});
