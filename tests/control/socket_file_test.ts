/**
 * Creating the control socket: mode 0600 and the server's own from the
 * first moment, a stale socket replaced, anything else at its name refused
 * and left as it was, and only its own socket removed at the end.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { bindControlSocket, ControlSocketError } from "../../src/control/socket_file.ts";

/** A state folder's path (not created) in a temp folder removed at disposal. */
async function stateFolder(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-control-" });
  return {
    path: join(dir, "server_state"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The uid this process creates files as (Deno.uid() needs a permission the tests lack). */
async function ownUid(dir: string): Promise<number> {
  const probe = join(dir, "uid-probe");
  await Deno.writeTextFile(probe, "");
  const uid = (await Deno.lstat(probe)).uid!;
  await Deno.remove(probe);
  return uid;
}

Deno.test("the socket is created with mode 0600 in a folder of mode 0700, owned by this process's user, and removed at the end", async () => {
  await using state = await stateFolder();
  const folder = state.path;
  const path = join(folder, "control.sock");
  const bound = await bindControlSocket(path);
  try {
    const info = await Deno.lstat(path);
    assert.ok(info.isSocket);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.equal(info.uid, await ownUid(folder));
    assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
    assert.equal(bound.replacedStale, false);
    const names = [];
    for await (const entry of Deno.readDir(folder)) names.push(entry.name);
    assert.deepEqual(names, ["control.sock"], "the private bind folder is gone");
  } finally {
    await bound.close();
  }
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("a stale socket (nothing answers on it) is replaced", async () => {
  await using state = await stateFolder();
  const folder = state.path;
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, "control.sock");
  const left = await bindControlSocket(path);
  left.listener.close(); // As a killed server leaves it: the file stays, nobody listens.
  assert.ok((await Deno.lstat(path)).isSocket);
  const bound = await bindControlSocket(path);
  try {
    assert.equal(bound.replacedStale, true);
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } finally {
    await bound.close();
  }
});

Deno.test("a socket another server answers on is refused, and keeps working", async () => {
  await using state = await stateFolder();
  const path = join(state.path, "control.sock");
  const first = await bindControlSocket(path);
  try {
    await assert.rejects(
      bindControlSocket(path),
      (error: Error) =>
        error instanceof ControlSocketError && /another server is running/.test(error.message),
    );
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    const accepted = await first.listener.accept();
    accepted.close();
  } finally {
    await first.close();
  }
});

Deno.test("a regular file or a symbolic link at the socket's name is refused and left as it was", async () => {
  await using state = await stateFolder();
  const folder = state.path;
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, "control.sock");
  await Deno.writeTextFile(path, "keep me");
  await assert.rejects(
    bindControlSocket(path),
    (error: Error) =>
      error instanceof ControlSocketError &&
      error.message.includes("is a regular file, not a socket"),
  );
  assert.equal(await Deno.readTextFile(path), "keep me");

  await Deno.remove(path);
  const target = join(folder, "elsewhere");
  await Deno.writeTextFile(target, "not to be touched");
  await Deno.symlink(target, path);
  await assert.rejects(
    bindControlSocket(path),
    (error: Error) =>
      error instanceof ControlSocketError && error.message.includes("is a symbolic link"),
  );
  assert.equal(await Deno.readLink(path), target);
  assert.equal(await Deno.readTextFile(target), "not to be touched");
});

Deno.test("a state folder too long for a socket address is refused with what to do", async () => {
  await using state = await stateFolder();
  const path = join(state.path, "x".repeat(90), "control.sock");
  await assert.rejects(
    bindControlSocket(path),
    (error: Error) =>
      error instanceof ControlSocketError &&
      /too long .* give a shorter --state-dir/.test(error.message),
  );
});

Deno.test("at the end only this server's socket is removed: another file put at its name stays", async () => {
  await using state = await stateFolder();
  const path = join(state.path, "control.sock");
  const bound = await bindControlSocket(path);
  await Deno.remove(path);
  await Deno.writeTextFile(path, "someone else's");
  await bound.close();
  assert.equal(await Deno.readTextFile(path), "someone else's");
});
