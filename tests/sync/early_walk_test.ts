/**
 * The walk begun as the program starts: which command lines it recognises
 * as a sync of which folder (as the command line itself reads them), that
 * the client's options it knows are the client's options, and that the sync
 * gets the walk only for the folder it names, once: a wrong guess is
 * stopped, never used.
 */

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  CLIENT_FLAG_OPTIONS,
  CLIENT_VALUE_OPTIONS,
  startEarlyWalk,
  syncFolderOf,
  takeEarlyWalk,
} from "../../src/sync/early_walk.ts";
import { clientCommand } from "../../src/cli/client_command.ts";
import { walkAhead } from "../../src/sync/walk_ahead.ts";

/** Starts the early walk of "sub/../sub" from the working folder and prints what it listed. */
const RELATIVE_FOLDER_CHECK = `
  import { resolve } from "node:path";
  import { startEarlyWalk, takeEarlyWalk } from "${new URL(
  "../../src/sync/early_walk.ts",
  import.meta.url,
)}";
  startEarlyWalk(["client", "sync", "sub/../sub", "/r"]);
  const early = takeEarlyWalk(resolve("sub"));
  if (early === undefined) throw new Error("no early walk of the folder as the command reads it");
  const reply = await early.reply;
  if (!("listing" in reply)) throw new Error(JSON.stringify(reply));
  console.log(JSON.stringify(reply.listing.paths));
`;

Deno.test("a sync's local folder is read off the command line as the client and sync read it", () => {
  const cases: [string[], string | undefined][] = [
    [["client", "sync", "here", "/r"], "here"],
    [["client", "--host", "h", "--port", "1", "sync", "a", "/r"], "a"],
    // Option values that look like the command, or like flags, are values.
    [["client", "-u", "sync", "sync", "a", "/r"], "a"],
    [["client", "--user", "sync", "--password-file", "-q", "sync", "a", "/r"], "a"],
    [["client", "--user=sync", "sync", "a", "/r"], "a"],
    [["client", "-qu", "sync", "sync", "a", "/r"], "a"],
    [["client", "-usync", "-qC", "sync", "a", "/r"], "a"],
    [["client", "--limit-rate", "1M", "--timeout", "5", "sync", "a", "/r"], "a"],
    // sync's flags anywhere among its folders; --max-delete takes the next word.
    [["client", "sync", "-n", "--push", "a", "--delete", "/r", "--force"], "a"],
    [["client", "sync", "--max-delete", "5", "a", "/r"], "a"],
    [["client", "sync", "--max-delete=5", "a", "/r"], "a"],
    [["client", "sync", "a", "--max-delete", "/r", "/r"], "a"],
    [["client", "sync", "--", "-a", "/r"], "-a"],
    [["client", "sync", "-", "/r"], "-"],
    // Not a one-shot sync of two folders, or not understood: no guess.
    [["client", "sync", "--watch", "a", "/r"], undefined],
    [["client", "sync", "a", "/r", "--watch"], undefined],
    [["client", "sync", "a"], undefined],
    [["client", "sync", "a", "b", "c"], undefined],
    [["client", "sync", "a", "/r", "--help"], undefined],
    [["client", "sync", "-x", "a", "/r"], undefined],
    [["client", "--help", "sync", "a", "/r"], undefined],
    [["client", "--frobnicate", "sync", "a", "/r"], undefined],
    [["client", "-Z", "sync", "a", "/r"], undefined],
    [["client", "--host", "sync", "a", "/r"], undefined], // The command is "a".
    [["client", "put", "sync", "/r"], undefined],
    [["client", "help", "sync"], undefined],
    [["client"], undefined],
    [["server", "sync", "a", "/r"], undefined],
    [["sync", "a", "/r"], undefined],
    [[], undefined],
  ];
  for (const [args, folder] of cases) assert.equal(syncFolderOf(args), folder, args.join(" "));
});

Deno.test("the client's options the early walk knows are exactly the client command's", () => {
  const command = clientCommand(() => {});
  const values = new Set<string>();
  const flags = new Set<string>();
  for (const option of command.options) {
    const into = option.required || option.optional ? values : flags;
    for (const name of [option.long, option.short]) if (name) into.add(name);
  }
  assert.deepEqual([...CLIENT_VALUE_OPTIONS].sort(), [...values].sort());
  assert.deepEqual([...CLIENT_FLAG_OPTIONS].sort(), [...flags].sort());
});

/** A folder with a file and a subfolder, removed after `body`. */
async function withFolder(body: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "dfos-early-walk-" });
  try {
    await Deno.mkdir(join(dir, "tree", "sub"), { recursive: true });
    await Deno.writeTextFile(join(dir, "tree", "sub", "a.txt"), "a\n");
    await body(dir);
  } finally {
    takeEarlyWalk("/")?.stop(); // Nothing left over for the next test.
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the sync takes the walk begun early for the folder it names, however the folder is written", async () => {
  await withFolder(async (dir) => {
    const written = `${dir}/./tree/sub/..//`;
    startEarlyWalk(["client", "sync", written, "/r"]);
    const early = takeEarlyWalk(resolve(written));
    assert.ok(early, "the folder was normalised as the command normalises it");
    const reply = await early.reply;
    assert.ok("listing" in reply);
    assert.deepEqual(reply.listing.paths, ["sub", "sub/a.txt"]);
    assert.equal(takeEarlyWalk(resolve(written)), undefined, "handed out once");

    // The sync command's walk ahead takes it.
    startEarlyWalk(["client", "sync", written, "/r"]);
    const walk = walkAhead(written);
    assert.ok(walk);
    assert.deepEqual((await walk.result).paths, ["sub", "sub/a.txt"]);
    assert.equal(takeEarlyWalk(resolve(written)), undefined, "taken by the walk ahead");

    // A relative folder, from the working folder: in a process of its own, as the working folder
    // is the whole process's (test modules run side by side in this one).
    const relative = await new Deno.Command(Deno.execPath(), {
      args: ["eval", RELATIVE_FOLDER_CHECK],
      cwd: join(dir, "tree"),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    assert.equal(relative.code, 0, decoder.decode(relative.stderr));
    assert.deepEqual(
      JSON.parse(decoder.decode(relative.stdout)),
      ["a.txt"],
      "the relative folder was made absolute as the command makes it",
    );
  });
});

Deno.test("a walk begun early for another folder is stopped and not used: the sync walks its own", async () => {
  await withFolder(async (dir) => {
    await Deno.mkdir(join(dir, "other"));
    await Deno.writeTextFile(join(dir, "other", "b.txt"), "b\n");
    startEarlyWalk(["client", "sync", join(dir, "other"), "/r"]);
    const walk = walkAhead(join(dir, "tree"));
    assert.ok(walk);
    assert.deepEqual((await walk.result).paths, ["sub", "sub/a.txt"]);
    assert.equal(takeEarlyWalk(join(dir, "other")), undefined, "the wrong guess was dropped");
  });
});

Deno.test("no early walk for a folder with rules of its own, for a file, or for nothing", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(join(dir, "tree", ".dfosignore"), "*.tmp\n");
    for (const folder of [join(dir, "tree"), join(dir, "tree", "sub", "a.txt"), join(dir, "no")]) {
      startEarlyWalk(["client", "sync", folder, "/r"]);
      assert.equal(takeEarlyWalk(folder), undefined, folder);
    }
    assert.equal(walkAhead(join(dir, "tree")), undefined, "the rules need the walk in the run");
  });
});
