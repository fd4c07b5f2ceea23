import assert from "node:assert/strict";
import { join } from "node:path";
import { clearFolderCache, MAX_CACHED_FOLDERS } from "../../src/storage/folder_cache.ts";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { partialFileName } from "../../src/storage/local_upload.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { exactSnapshot, openDescriptorCount } from "../helpers/race.ts";
import {
  assertStatus,
  bytesOf,
  putFile,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** A user root next to an "outside" folder holding a secret file, all removed afterwards. */
interface Sandbox {
  base: string;
  root: string;
  outside: string;
  storage: Storage;
}

async function withSandbox(
  body: (sandbox: Sandbox) => Promise<void>,
  options: { fsync?: boolean } = {},
): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-local-" }));
  try {
    const root = join(base, "alice");
    const outside = join(base, "outside");
    await Deno.mkdir(outside);
    await Deno.writeTextFile(join(outside, "secret.txt"), "secret");
    const storage = await LocalStorage.open(root, options);
    await body({ base, root, outside, storage });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function outsideSnapshot(outside: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(outside)) names.push(entry.name);
  return [...names.sort(), await Deno.readTextFile(join(outside, "secret.txt"))];
}

Deno.test("LocalStorage.open creates a missing root folder with mode 0o700", async () => {
  await withSandbox(async ({ root }) => {
    const info = await Deno.stat(root);
    assert.ok(info.isDirectory);
    assert.equal(info.mode! & 0o777, 0o700);
  });
});

Deno.test("stat and list report the permission bits on disk, and no other bits", async () => {
  await withSandbox(async ({ root, storage }) => {
    await Deno.writeTextFile(join(root, "run.sh"), "#!/bin/sh\n");
    await Deno.chmod(join(root, "run.sh"), 0o4751);
    await Deno.mkdir(join(root, "shared"));
    await Deno.chmod(join(root, "shared"), 0o1775);
    assert.equal((await storage.stat("/run.sh")).mode, 0o751);
    const listed = await storage.list("/");
    assert.deepEqual(listed.map((entry) => [entry.name, entry.mode]), [
      ["run.sh", 0o751],
      ["shared", 0o775],
    ]);
  });
});

Deno.test("a symlink inside the root pointing outside is refused for every operation", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.symlink(outside, join(root, "escape"));
    await Deno.symlink(join(outside, "secret.txt"), join(root, "secret-link"));
    await putFile(storage, "/a.txt", "a");
    const before = await outsideSnapshot(outside);
    const upload = { size: 1, mtimeMs: TEST_MTIME_MS, overwrite: true };
    const whole = { mtimeMs: TEST_MTIME_MS, sha256Hex: sha256Hex(bytesOf("x")) };
    const attempts: Array<() => Promise<unknown>> = [
      () => storage.stat("/escape"),
      () => storage.stat("/escape/secret.txt"),
      () => storage.stat("/secret-link"),
      () => storage.list("/escape"),
      () => storage.openRead("/secret-link"),
      () => storage.openRead("/escape/secret.txt"),
      () => storage.beginUpload("/escape/new.txt", upload),
      () => storage.beginUpload("/escape/secret.txt", upload),
      () => storage.beginUpload("/secret-link", upload),
      () => storage.mkdir("/escape/new-dir", { parents: true }),
      () => storage.rmdir("/escape"),
      () => storage.remove("/escape/secret.txt"),
      () => storage.remove("/secret-link"),
      () => storage.remove("/escape", { recursive: true }),
      () => storage.rename("/escape/secret.txt", "/stolen.txt"),
      () => storage.rename("/secret-link", "/stolen.txt"),
      () => storage.rename("/a.txt", "/escape/secret.txt", { overwrite: true }),
      () => storage.setMtime("/escape", 0),
      () => storage.setMtime("/secret-link", 0),
      ...[false, true].flatMap((overwrite) =>
        ["/escape/new.txt", "/escape/secret.txt", "/secret-link"].map((path) => () =>
          storage.writeFile(path, bytesOf("x"), { ...whole, overwrite })
        )
      ),
    ];
    for (const attempt of attempts) {
      const error = await assertStatus(attempt, "PERMISSION_DENIED");
      assert.match(error.message, /leads outside your storage/);
    }
    assert.deepEqual(await outsideSnapshot(outside), before);
    assert.equal(await readFileText(storage, "/a.txt"), "a");
  });
});

Deno.test("a dangling symlink pointing outside is refused for mkdir and uploads", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.symlink(join(outside, "new-dir"), join(root, "dangling"));
    await Deno.symlink(join(outside, "new.txt"), join(root, "dangling-file"));
    await assertStatus(storage.mkdir("/dangling"), "PERMISSION_DENIED");
    await assertStatus(storage.mkdir("/dangling/sub", { parents: true }), "PERMISSION_DENIED");
    await assertStatus(putFile(storage, "/dangling/x.txt", "x"), "PERMISSION_DENIED");
    await assertStatus(
      putFile(storage, "/dangling-file", "x", { overwrite: true }),
      "PERMISSION_DENIED",
    );
    const whole = { mtimeMs: TEST_MTIME_MS, sha256Hex: sha256Hex(bytesOf("x")) };
    for (const overwrite of [false, true]) {
      for (const path of ["/dangling/x.txt", "/dangling-file"]) {
        await assertStatus(
          storage.writeFile(path, bytesOf("x"), { ...whole, overwrite }),
          "PERMISSION_DENIED",
        );
      }
    }
    assert.deepEqual((await outsideSnapshot(outside)).length, 2);
  });
});

Deno.test("a symlink pointing inside the root is followed, and listed as a link", async () => {
  await withSandbox(async ({ root, storage }) => {
    await storage.mkdir("/real-dir");
    await putFile(storage, "/real-dir/a.txt", "through the link");
    await Deno.symlink("real-dir", join(root, "link"));
    assert.equal((await storage.stat("/link")).kind, "directory");
    assert.deepEqual((await storage.list("/link")).map((entry) => entry.name), ["a.txt"]);
    assert.equal(await readFileText(storage, "/link/a.txt"), "through the link");
    await putFile(storage, "/link/b.txt", "written through the link");
    assert.equal(await readFileText(storage, "/real-dir/b.txt"), "written through the link");
    const listed = (await storage.list("/")).find((entry) => entry.name === "link");
    assert.equal(listed?.kind, "symlink");
    assert.equal(listed?.size, 0);
  });
});

Deno.test("list shows a symlink leading outside as a link without following it", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.symlink(join(outside, "secret.txt"), join(root, "secret-link"));
    const [entry] = await storage.list("/");
    assert.equal(entry.name, "secret-link");
    assert.equal(entry.kind, "symlink");
    assert.equal(entry.size, 0);
    assert.equal(entry.mtimeMs, (await Deno.lstat(join(root, "secret-link"))).mtime?.getTime());
  });
});

Deno.test("usage does not follow symlinks out of the root", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.symlink(outside, join(root, "escape"));
    await putFile(storage, "/a.txt", "abcd");
    assert.equal(await storage.usage(), 4);
  });
});

Deno.test("a .dfos folder that is a symlink leading outside stops uploads", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.symlink(outside, join(root, ".dfos"));
    await assertStatus(putFile(storage, "/a.txt", "a"), "PERMISSION_DENIED");
    assert.equal((await outsideSnapshot(outside)).length, 2);
  });
});

Deno.test("error messages name the virtual path, never the server's real path", async () => {
  await withSandbox(async ({ base, root, outside, storage }) => {
    await Deno.symlink(outside, join(root, "escape"));
    await putFile(storage, "/a.txt", "a");
    const failures = [
      await assertStatus(storage.stat("/missing/file"), "NOT_FOUND"),
      await assertStatus(storage.list("/a.txt"), "NOT_A_DIRECTORY"),
      await assertStatus(storage.mkdir("/a.txt/x"), "NOT_A_DIRECTORY"),
      await assertStatus(storage.stat("/escape/secret.txt"), "PERMISSION_DENIED"),
      await assertStatus(storage.rename("/missing", "/b"), "NOT_FOUND"),
    ];
    for (const failure of failures) {
      assert.ok(!failure.message.includes(base), failure.message);
      assert.match(failure.message, /^\//);
    }
  });
});

Deno.test("partial uploads live in .dfos/partial with private modes", async () => {
  await withSandbox(async ({ root, storage }) => {
    const upload = await storage.beginUpload("/a.txt", { size: 4, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("ab"));
    const partial = join(root, ".dfos", "partial", partialFileName("/a.txt", 4, TEST_MTIME_MS));
    assert.equal((await Deno.stat(partial)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(root, ".dfos", "partial"))).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(join(root, ".dfos"))).mode! & 0o777, 0o700);
    await upload.abort(false);
    await assert.rejects(Deno.stat(partial), Deno.errors.NotFound);
  });
});

Deno.test("a partial longer than the announced size is discarded on resume", async () => {
  await withSandbox(async ({ root, storage }) => {
    await Deno.mkdir(join(root, ".dfos", "partial"), { recursive: true });
    const partial = join(root, ".dfos", "partial", partialFileName("/a.txt", 3, TEST_MTIME_MS));
    await Deno.writeTextFile(partial, "far too long");
    const upload = await storage.beginUpload("/a.txt", { size: 3, mtimeMs: TEST_MTIME_MS });
    assert.equal(upload.offset, 0);
    await upload.write(bytesOf("abc"));
    await upload.commit(sha256Hex(bytesOf("abc")));
    assert.equal(await readFileText(storage, "/a.txt"), "abc");
  });
});

Deno.test("uploads commit without fsync when fsync is off", async () => {
  await withSandbox(async ({ storage }) => {
    await putFile(storage, "/a.txt", "no sync");
    assert.equal(await readFileText(storage, "/a.txt"), "no sync");
  }, { fsync: false });
});

Deno.test("a symlink into the private .dfos folder is refused by every route and operation", async () => {
  await withSandbox(async ({ root, storage }) => {
    const upload = await storage.beginUpload("/a.bin", { size: 4, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("ab"));
    await upload.abort(true);
    const partial = partialFileName("/a.bin", 4, TEST_MTIME_MS);
    await storage.mkdir("/deep/er", { parents: true });
    await putFile(storage, "/source.txt", "s");
    const routes: [string, string][] = [
      ["dl", ".dfos"],
      ["pl", ".dfos/partial"],
      ["absolute", join(root, ".dfos")],
      ["dotted", "deep/../.dfos"],
      ["deep/er/up", "../../.dfos"],
      ["hop", "dl"],
    ];
    for (const [name, target] of routes) await Deno.symlink(target, join(root, name));
    const before = await exactSnapshot(join(root, ".dfos"));
    const whole = { mtimeMs: TEST_MTIME_MS, sha256Hex: sha256Hex(bytesOf("x")), overwrite: true };
    for (const [name] of routes) {
      const inside = name === "pl" ? `/${name}` : `/${name}/partial`;
      const paths = [`/${name}`, inside, `${inside}/${partial}`, `${inside}/new`];
      for (const path of paths) {
        const attempts: Array<() => Promise<unknown>> = [
          () => storage.stat(path),
          () => storage.list(path),
          () => storage.openRead(path),
          () => storage.mkdir(`${path}/made`, { parents: true }),
          () => storage.rmdir(path),
          () => storage.remove(path, { recursive: true }),
          () => storage.rename(path, "/stolen"),
          () => storage.rename("/source.txt", path, { overwrite: true }),
          () => storage.setMtime(path, 0),
          () => storage.beginUpload(path, { size: 1, mtimeMs: TEST_MTIME_MS, overwrite: true }),
          () => storage.writeFile(path, bytesOf("x"), whole),
        ];
        for (const attempt of attempts) {
          const error = await assertStatus(attempt, "PERMISSION_DENIED");
          assert.match(error.message, /private folder \.dfos/, `${path}: ${error.message}`);
        }
      }
    }
    assert.deepEqual(await exactSnapshot(join(root, ".dfos")), before);
    const resumed = await storage.beginUpload("/a.bin", { size: 4, mtimeMs: TEST_MTIME_MS });
    assert.equal(resumed.offset, 2, "the partial is intact");
    await resumed.abort(false);
  });
});

Deno.test("every descriptor a storage operation opens is closed, whatever the outcome", async () => {
  await withSandbox(async ({ base, root, outside, storage }) => {
    await Deno.symlink(outside, join(root, "escape"));
    await storage.mkdir("/d");
    await putFile(storage, "/d/a.txt", "a");
    clearFolderCache();
    const baseline = openDescriptorCount(base);
    const handle = await storage.openRead("/d/a.txt");
    clearFolderCache();
    assert.equal(openDescriptorCount(base), baseline + 1, "a read handle holds one descriptor");
    handle.close();
    for (let round = 0; round < 3; round++) {
      await storage.stat("/d/a.txt");
      await storage.list("/d");
      await assertStatus(storage.stat("/escape/secret.txt"), "PERMISSION_DENIED");
      await assertStatus(storage.list("/d/a.txt"), "NOT_A_DIRECTORY");
      await assertStatus(storage.openRead("/missing"), "NOT_FOUND");
      await putFile(storage, `/d/u${round}`, "u");
      await storage.writeFile(`/d/w${round}`, bytesOf("w"), {
        mtimeMs: TEST_MTIME_MS,
        sha256Hex: sha256Hex(bytesOf("w")),
      });
      await assertStatus(putFile(storage, "/d/a.txt", "a"), "EXISTS");
      await storage.mkdir(`/d/m${round}/n`, { parents: true });
      await storage.rename(`/d/m${round}`, `/d/r${round}`);
      await storage.setMtime(`/d/r${round}`, TEST_MTIME_MS);
      await storage.remove(`/d/r${round}`, { recursive: true });
      await storage.usage();
      await storage.cleanupPartials(0);
    }
    assert.ok(openDescriptorCount(base) <= MAX_CACHED_FOLDERS, "only cached folders stay open");
    clearFolderCache();
    await storage.tidy(); // The removed folders wait in .dfos/retired, held open until then.
    assert.equal(openDescriptorCount(base), baseline);
  });
});

Deno.test("a symlink planted under a partial's name is replaced, never written through", async () => {
  await withSandbox(async ({ root, outside, storage }) => {
    await Deno.mkdir(join(root, ".dfos", "partial"), { recursive: true });
    const partial = join(root, ".dfos", "partial", partialFileName("/a.txt", 3, TEST_MTIME_MS));
    await Deno.symlink(join(outside, "secret.txt"), partial);
    const before = await outsideSnapshot(outside);
    await putFile(storage, "/a.txt", "abc");
    assert.equal(await readFileText(storage, "/a.txt"), "abc");
    assert.deepEqual(await outsideSnapshot(outside), before);
  });
});

Deno.test("a path past the documented limit is refused with a message that says so, and nothing is made", async () => {
  await withSandbox(async ({ storage }) => {
    const deepest = "/" + Array(12).fill("y".repeat(254)).join("/"); // 3060 bytes: allowed.
    await storage.mkdir(deepest, { parents: true });
    assert.equal((await storage.stat(deepest)).kind, "directory");
    const error = await assertStatus(storage.mkdir(`${deepest}/${"z".repeat(20)}`), "INVALID_PATH");
    assert.match(error.message, /the path is 3081 bytes long; paths may be at most 3072 bytes$/);
    assert.deepEqual(await storage.list(deepest), []);
  });
});
