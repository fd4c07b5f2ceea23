/**
 * A sync begins walking its local folder while the client connects and
 * logs in. The walk of a folder that is not there yet (a first sync, which
 * creates it) must not fail the run, and a run that cannot log in changes
 * nothing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";
import { EXIT } from "../../src/client/errors.ts";

Deno.test("a first sync into a local folder that does not exist yet creates it and brings the server's files", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-start-" });
  try {
    const remote = join(server.storageDir, "alice", "fresh");
    await Deno.mkdir(join(remote, "sub"), { recursive: true });
    await Deno.writeTextFile(join(remote, "sub", "note.txt"), "from the server\n");
    const result = await runClient(server, ["sync", "new/folder", "/fresh"], {
      cwd: dir,
      env: { XDG_STATE_HOME: join(dir, "state") },
    });
    assert.equal(result.code, 0, result.stderr);
    const text = await Deno.readTextFile(join(dir, "new", "folder", "sub", "note.txt"));
    assert.equal(text, "from the server\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sync that cannot log in fails with the login's exit code and changes nothing on either side", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-start-" });
  try {
    await Deno.mkdir(join(dir, "a"));
    await Deno.writeTextFile(join(dir, "a", "local.txt"), "local\n");
    const result = await runClient(server, ["sync", "a", "/refused"], {
      cwd: dir,
      env: { XDG_STATE_HOME: join(dir, "state"), DFOS_PASSWORD: "not-the-password" },
    });
    assert.equal(result.code, EXIT.AUTH, result.stderr);
    assert.match(result.stderr, /dfos: .*(password|denied|login)/i);
    assert.deepEqual([...Deno.readDirSync(join(dir, "a"))].map((entry) => entry.name), [
      "local.txt",
    ]);
    await assert.rejects(Deno.stat(join(server.storageDir, "alice", "refused")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
