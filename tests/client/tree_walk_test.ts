import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClientConnection } from "../../src/client/connection.ts";
import type { WireEntry } from "../../src/protocol/messages.ts";
import {
  REMOTE_LISTINGS_IN_FLIGHT,
  type TreeItem,
  walkLocal,
  walkRemote,
} from "../../src/client/tree_walk.ts";
import { runWindow } from "../../src/client/transfer_window.ts";

function pathOf(item: TreeItem): string {
  if (item.kind === "folder") return `${item.folder.path}/`;
  if (item.kind === "unreadable") return `${item.path}!`;
  return item.kind === "file" ? item.file.path : `${item.skipped.path}@`;
}

/** Every folder comes before anything inside it. */
function assertParentsFirst(items: TreeItem[]): void {
  const seen = new Set<string>([""]);
  for (const item of items) {
    const path = pathOf(item).replace(/[/@!]$/, "");
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (path !== "") assert.ok(seen.has(parent), `${path} came before its folder`);
    if (item.kind === "folder") seen.add(item.folder.path);
  }
}

Deno.test("the local walk gives every folder before its entries, files with sizes, links skipped", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "a/b"), { recursive: true });
    await Deno.writeTextFile(join(root, "a/b/deep.txt"), "12345");
    await Deno.writeTextFile(join(root, "top.txt"), "1");
    await Deno.symlink("top.txt", join(root, "link"));
    const items = await Array.fromAsync(walkLocal(root));
    assert.deepEqual(items.map(pathOf), ["/", "a/", "link@", "top.txt", "a/b/", "a/b/deep.txt"]);
    assertParentsFirst(items);
    const deep = items.find((item) => item.kind === "file" && item.file.path === "a/b/deep.txt");
    assert.equal(deep?.kind === "file" && deep.file.size, 5);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the local walk of a missing folder or a file fails at its first step, naming it", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "file"), "x");
    for (const path of [join(root, "missing"), join(root, "file")]) {
      await assert.rejects(() => Array.fromAsync(walkLocal(path)), (error: Error) => {
        assert.match(error.message, new RegExp(path.replaceAll("/", "\\/")));
        return true;
      });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the local walk names what went away while it walked, and goes on with the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "gone"));
    await Deno.mkdir(join(root, "kept"));
    await Deno.writeTextFile(join(root, "kept/x.txt"), "x");
    await Deno.writeTextFile(join(root, "a.txt"), "a");
    await Deno.writeTextFile(join(root, "b.txt"), "b");
    const items: TreeItem[] = [];
    // The walk reads a folder's names at once and each entry as it gives it: remove some between.
    for await (const item of walkLocal(root)) {
      items.push(item);
      if (item.kind === "file" && item.file.path === "a.txt") {
        await Deno.remove(join(root, "b.txt"));
        await Deno.remove(join(root, "gone"));
      }
    }
    const unreadable = items.flatMap((item) => item.kind === "unreadable" ? [item] : []);
    assert.deepEqual(unreadable.map((item) => item.path), ["b.txt", "gone"]);
    assert.match(unreadable[0].error.message, /b\.txt: no such local file or directory$/);
    assert.deepEqual(items.map(pathOf).filter((path) => path.startsWith("kept")), [
      "kept/",
      "kept/x.txt",
    ]);

    // A folder listed by its parent and gone before its turn.
    await Deno.mkdir(join(root, "later"));
    const again: TreeItem[] = [];
    for await (const item of walkLocal(root)) {
      again.push(item);
      if (item.kind === "folder" && item.folder.path === "later") {
        await Deno.remove(join(root, "later"));
      }
    }
    const gone = again.find((item) => item.kind === "unreadable");
    assert.equal(gone?.kind === "unreadable" && gone.path, "later");
    assert.ok(again.some((item) => item.kind === "file" && item.file.path === "kept/x.txt"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A connection whose List answers from `tree` (folder → entries) when `release` is called. */
function fakeServer(tree: Map<string, WireEntry[]>) {
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let most = 0;
  const connection = {
    list(path: string): Promise<WireEntry[]> {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve, reject) =>
        waiting.push(() => {
          inFlight--;
          const entries = tree.get(path);
          if (entries) resolve(entries);
          else reject(new Error(`${path}: not found`));
        })
      );
    },
  } as unknown as ClientConnection;
  const answerAll = () => {
    for (const answer of waiting.splice(0)) answer();
  };
  return { connection, answerAll, most: () => most };
}

function entry(name: string, kind: "file" | "directory"): WireEntry {
  return { name, kind, size: kind === "file" ? 10 : 0, mtimeMs: 1_000 };
}

Deno.test("the remote walk lists at most its bound of folders at once, and gives the whole tree", async () => {
  // /r holds 200 folders, each holding a file and a folder with a file: 601 folders, 400 files.
  const tree = new Map<string, WireEntry[]>();
  const top: WireEntry[] = [];
  for (let index = 0; index < 200; index++) {
    top.push(entry(`d${index}`, "directory"));
    tree.set(`/r/d${index}`, [entry("f", "file"), entry("sub", "directory")]);
    tree.set(`/r/d${index}/sub`, [entry("g", "file")]);
  }
  tree.set("/r", top);
  const server = fakeServer(tree);
  const walk = walkRemote(server.connection, "/r", entry("r", "directory"));
  const items: TreeItem[] = [];
  const answering = setInterval(server.answerAll, 1);
  try {
    for await (const item of walk) items.push(item);
  } finally {
    clearInterval(answering);
  }
  assert.ok(server.most() <= REMOTE_LISTINGS_IN_FLIGHT, `${server.most()} listings at once`);
  assert.ok(server.most() > 1, "folders were listed one at a time");
  assert.equal(items.filter((item) => item.kind === "folder").length, 401);
  assert.equal(items.filter((item) => item.kind === "file").length, 400);
  assertParentsFirst(items);
});

Deno.test("a remote folder that cannot be listed fails the walk, with no unhandled rejection", async () => {
  const tree = new Map<string, WireEntry[]>([["/r", [
    entry("gone", "directory"),
    entry("ok", "directory"),
  ]], [
    "/r/ok",
    [],
  ]]);
  const server = fakeServer(tree);
  const answering = setInterval(server.answerAll, 1);
  try {
    await assert.rejects(
      () => Array.fromAsync(walkRemote(server.connection, "/r", entry("r", "directory"))),
      /\/r\/gone: not found/,
    );
  } finally {
    clearInterval(answering);
  }
});

Deno.test("the window takes the next item of a stream only when there is room for it", async () => {
  let taken = 0;
  let done = 0;
  let mostAhead = 0;
  async function* items() {
    for (let index = 0; index < 1_000; index++) {
      taken++;
      mostAhead = Math.max(mostAhead, taken - done);
      yield index;
    }
  }
  await runWindow(items(), () => 100, async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    done++;
  }, { files: 8 });
  assert.equal(done, 1_000);
  // The files in flight, and the one taken that waits for room.
  assert.ok(mostAhead <= 9, `${mostAhead} items taken ahead of the work`);
});

Deno.test("a stream that fails stops the window once the work begun has ended", async () => {
  let ended = 0;
  async function* items() {
    yield 1;
    yield 2;
    throw new Error("walk failed");
  }
  await assert.rejects(
    () =>
      runWindow(items(), () => 1, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        ended++;
      }),
    /walk failed/,
  );
  assert.equal(ended, 2);
});

Deno.test("waiting for room costs the window the same per file however many are in flight", async () => {
  // Promise.race subscribes to every promise it is given through `then`: count those calls.
  const then = Promise.prototype.then;
  let subscriptions = 0;
  Promise.prototype.then = function (this: Promise<unknown>, ...args) {
    subscriptions++;
    return then.apply(this, args as Parameters<typeof then>);
  } as typeof then;
  try {
    const items = Array.from({ length: 5_000 }, (_, index) => index);
    await runWindow(items, () => 1, async (index) => {
      await new Promise((resolve) => setTimeout(resolve, index % 3));
    }, { files: 1_000 });
  } finally {
    Promise.prototype.then = then;
  }
  // Racing all 1,000 files in flight at each end would subscribe about 5,000,000 times.
  assert.ok(subscriptions < 20 * 5_000, `${subscriptions} subscriptions for 5,000 files`);
});
