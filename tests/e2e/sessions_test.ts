/**
 * Many clients at once: the slot limit, the waiting queue, the per-user
 * session limit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, spawnClient, startServer, USERS, waitFor } from "../helpers/processes.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";
import { partialListing } from "../helpers/partials.ts";

Deno.test("10 clients upload at once with the right hashes; an 11th waits, then is served", async () => {
  await using server = await startServer(["--max-clients=10", "--max-sessions-per-user=10"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const hashes: string[] = [];
  for (let index = 0; index < 10; index++) {
    const bytes = seededBytes(3 * 1024 * 1024 + index, 100 + index);
    hashes.push(sha256(bytes));
    await Deno.writeFile(join(local, `file-${index}.bin`), bytes);
  }
  const shells = Array.from({ length: 10 }, () => spawnClient(server, [], { cwd: local }));
  await Promise.all(shells.map((shell, index) => shell.send(`put file-${index}.bin`)));
  const root = join(server.storageDir, "alice");
  await waitFor(
    async () => {
      for (let index = 0; index < 10; index++) {
        const exists = await Deno.stat(join(root, `file-${index}.bin`)).then(
          () => true,
          () => false,
        );
        if (!exists) return false;
      }
      return true;
    },
    60_000,
    "all 10 uploads",
  );
  for (let index = 0; index < 10; index++) {
    assert.equal(await sha256File(join(root, `file-${index}.bin`)), hashes[index]);
  }

  const eleventh = spawnClient(server, ["ls"], { cwd: local });
  await waitFor(() => eleventh.stderr().includes("position 1 of 1"), 15_000, "the queue message");
  assert.equal(eleventh.stdout(), "", "not served while all slots are taken");
  await shells[0].send("exit");
  assert.equal(await shells[0].finish(), 0);
  assert.equal(await eleventh.finish(), 0, eleventh.stderr());
  assert.match(eleventh.stdout(), /file-0\.bin\n(.|\n)*file-9\.bin\n/);
  assert.match(
    eleventh.stderr(),
    /^dfos: server busy: waiting for a free slot \(position 1 of 1\)\n$/,
  );
  for (const shell of shells.slice(1)) {
    await shell.send("exit");
    assert.equal(await shell.finish(), 0, shell.stderr());
  }
  await Deno.remove(local, { recursive: true });
});

Deno.test("past the queue bound a client is told the server is busy (exit 4)", async () => {
  await using server = await startServer(["--max-clients=1", "--max-queue=0"]);
  const holder = spawnClient(server, []);
  await holder.send("pwd");
  await waitFor(() => holder.stdout().includes("/"), 15_000, "the first session");
  const refused = await runClient(server, ["ls"], { user: "bob" });
  assert.equal(refused.code, 4);
  assert.match(
    refused.stderr,
    /^dfos: bob@127\.0\.0\.1:\d+: server busy: 0 connections already waiting\n$/,
  );
  await holder.send("exit");
  assert.equal(await holder.finish(), 0);
});

Deno.test("a second login of the same user is refused while the first is open", async () => {
  await using server = await startServer();
  const first = spawnClient(server, []);
  await first.send("pwd");
  await waitFor(() => first.stdout().includes("/"), 15_000, "the first session");
  const second = await runClient(server, ["ls"]);
  assert.equal(second.code, 4);
  assert.match(second.stderr, /alice already has 1 open session, the most allowed/);
  const otherUser = await runClient(server, ["pwd"], { user: "bob" });
  assert.equal(otherUser.code, 0, "other users are not affected");
  await first.send("exit");
  assert.equal(await first.finish(), 0);
  assert.equal((await runClient(server, ["pwd"])).code, 0, "after logout alice may log in again");
});

/** Bytes in alice's unfinished uploads on the server. */
async function partialBytes(server: { storageDir: string }): Promise<number> {
  return (await partialListing(server)).bytes;
}

Deno.test("a client killed during an upload and started again at once is let in (its old slot frees)", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const bytes = seededBytes(8 * 1024 * 1024, 5);
  await Deno.mkdir(join(local, "tree"));
  await Deno.writeFile(join(local, "tree", "big.bin"), bytes);
  for (let index = 0; index < 300; index++) {
    await Deno.writeTextFile(join(local, "tree", `f${index}.txt`), `${index}\n`.repeat(100));
  }
  for (let round = 0; round < 5; round++) {
    const slow = spawnClient(server, ["--limit-rate=1M", "put", "-r", "tree", `/t${round}`], {
      cwd: local,
    });
    await waitFor(
      async () => (await partialBytes(server)) > 256 * 1024,
      15_000,
      "the upload under way",
    );
    slow.child.kill("SIGKILL");
    await slow.finish().catch(() => {});
    const again = await runClient(server, ["pwd"]);
    assert.equal(again.code, 0, `round ${round}: ${again.stderr}`);
  }
  assert.equal((await runClient(server, ["put", "tree/big.bin"], { cwd: local })).code, 0);
  assert.equal(await sha256File(join(server.storageDir, "alice", "big.bin")), sha256(bytes));
  await Deno.remove(local, { recursive: true });
});

Deno.test("each user sees only their own folder", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeTextFile(join(local, "secret.txt"), "alice only");
  assert.equal((await runClient(server, ["put", "secret.txt"], { cwd: local })).code, 0);
  const bob = await runClient(server, ["ls"], { user: "bob" });
  assert.equal(bob.code, 0);
  assert.equal(bob.stdout, "");
  for (const path of ["/../alice/secret.txt", "../alice/secret.txt", "/alice/secret.txt"]) {
    const attempt = await runClient(server, ["cat", path], { user: "bob", password: USERS.bob });
    assert.equal(attempt.code, 1, path);
    assert.match(attempt.stderr, /no such file or directory/);
  }
  await Deno.remove(local, { recursive: true });
});
