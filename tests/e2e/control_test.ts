/**
 * `dfos server status` and the control socket against real servers: live
 * transfers with their progress, a socket that only the server's user can
 * use, that replaces what a killed server left and refuses anything else
 * at its name (stopping: control_stop_test.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnClient, startServer } from "../helpers/processes.ts";
import { writeLargeFile } from "../helpers/files.ts";
import { control, dfos, statusOf, transferOf } from "../helpers/control.ts";

const MIB = 1024 * 1024;

Deno.test("status lists each live session with its running transfer and progress, as JSON and as a table", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await writeLargeFile(join(local, "up.bin"), 16 * MIB);
    const bobRoot = join(server.storageDir, "bob");
    await Deno.mkdir(bobRoot, { recursive: true });
    await writeLargeFile(join(bobRoot, "down.bin"), 16 * MIB, 9);
    const upload = spawnClient(server, ["--limit-rate", "1M", "put", "up.bin"], { cwd: local });
    const download = spawnClient(server, ["--limit-rate", "1M", "get", "down.bin"], {
      cwd: local,
      user: "bob",
    });
    const first = await transferOf(server, "alice");
    const later = await transferOf(server, "alice", first.done);
    assert.deepEqual([later.direction, later.path, later.size, later.offset], [
      "upload",
      "/up.bin",
      16 * MIB,
      0,
    ]);
    assert.ok(later.done < 16 * MIB, `still running: ${later.done}`);
    assert.ok(later.bytesPerSecond > 0);
    const down = await transferOf(server, "bob");
    assert.deepEqual([down.direction, down.path, down.size], ["download", "/down.bin", 16 * MIB]);

    const status = await statusOf(server);
    assert.equal(status.version, 1);
    assert.equal(status.server.port, server.port);
    assert.equal(status.server.pid, server.pid);
    assert.equal(status.server.stopping, false);
    assert.deepEqual(status.sessions.map((session) => session.user).sort(), ["alice", "bob"]);
    assert.match(status.sessions[0].remote, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(status.queue, { waiting: 0, max: 128 });
    assert.equal(status.totals.sessionsServed, 2);
    assert.ok(status.totals.bytesIn > 0 && status.totals.bytesOut > 0);

    const table = await control(server, "status");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^sessions {2}2 of 10; queue: 0 waiting \(at most 128\)$/m);
    assert.match(
      table.stdout,
      /^alice +127\.0\.0\.1:\d+ +\d\d:\d\d:\d\d +[0-9a-f]{8} +upload \/up\.bin: [\d.]+ [KM]iB of 16\.0 MiB \(\d+%\), [\d.]+ [KM]iB\/s$/m,
    );
    assert.match(table.stdout, /^bob +.* download \/down\.bin: .* of 16\.0 MiB/m);
    upload.child.kill("SIGKILL");
    download.child.kill("SIGKILL");
    await Promise.all([upload.finish(), download.finish()]);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("status and stop where no server runs exit 4 and say so; --state-dir names the folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  try {
    for (const subcommand of ["status", "stop"]) {
      const result = await dfos(["server", subcommand, `--state-dir=${dir}/state`]);
      assert.equal(result.code, 4, subcommand);
      assert.equal(
        result.stderr,
        `dfos: server ${subcommand}: no server is running with the state folder ${dir}/state (there is no ${dir}/state/control.sock)\n`,
      );
    }
    const misplaced = await dfos(["server", "status", "--port=1"]);
    assert.equal(misplaced.code, 2, "server options are not status's");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status and stop find the socket through the server's --config, before or after the subcommand; a bad file is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  await Deno.mkdir(join(dir, "etc"));
  const config = join(dir, "etc", "dfos.toml");
  // Relative: from the file's folder, so the state folder is the test server's own.
  await Deno.writeTextFile(config, 'state-dir = "../server_state"\n');
  const server = await startServer([`--config=${config}`], dir);
  try {
    for (
      const args of [["server", "status", `--config=${config}`], [
        "server",
        `--config=${config}`,
        "status",
      ]]
    ) {
      const result = await dfos(args);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    }
    const overridden = await dfos([
      "server",
      "status",
      `--config=${config}`,
      `--state-dir=${dir}/x`,
    ]);
    assert.equal(overridden.code, 4, "a flag beats the file");
    await Deno.writeTextFile(join(dir, "bad.toml"), "state-dir = [\n");
    const bad = await dfos(["server", "stop", `--config=${join(dir, "bad.toml")}`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^dfos: server stop: .*bad\.toml:\d+:\d+: not valid TOML/);
    const stopped = await dfos(["server", "stop", `--config=${config}`]);
    assert.equal(stopped.code, 0, stopped.stderr);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a socket left by a killed server: status says nothing answers (exit 4), and the next start replaces it", async () => {
  const first = await startServer();
  const socket = join(first.dir, "server_state", "control.sock");
  await first.stop("SIGKILL");
  assert.ok((await Deno.lstat(socket)).isSocket, "the killed server left its socket");
  const stale = await control(first, "status");
  assert.equal(stale.code, 4);
  assert.match(
    stale.stderr,
    /nothing answers on .*control\.sock \(left by a server that did not stop cleanly/,
  );
  await using second = await startServer([], first.dir);
  assert.match(
    second.output(),
    /replaced the control socket .* left by a server that did not stop cleanly/,
  );
  assert.equal((await statusOf(second)).server.pid, second.pid);
});

Deno.test("a second server on the same state folder is refused while the first runs; the first keeps its socket", async () => {
  await using first = await startServer();
  const second = await dfos([
    "server",
    "--host=127.0.0.1",
    "--port=0",
    `--storage=${first.storageDir}`,
    `--users=${join(first.dir, "users.txt")}`,
    `--log-dir=${join(first.dir, "logs2")}`,
  ]);
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    /cannot start: another server is running with the state folder .*server_state: its control socket .* answers/,
  );
  assert.equal((await statusOf(first)).server.pid, first.pid);
});

Deno.test("a file or a symbolic link at the socket's name is refused at start (exit 1) and by status, and left as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  try {
    const state = join(dir, "server_state");
    await Deno.mkdir(state, { mode: 0o700 });
    const socket = join(state, "control.sock");
    const outside = join(dir, "precious.txt");
    await Deno.writeTextFile(outside, "not to be touched");
    for (
      const make of [
        () => Deno.writeTextFile(socket, "keep me"),
        () => Deno.symlink(outside, socket),
      ]
    ) {
      await make();
      const started = await dfos([
        "server",
        "--host=127.0.0.1",
        "--port=0",
        `--storage=${join(dir, "storage")}`,
        `--users=${join(dir, "none.txt")}`,
        `--log-dir=${join(dir, "logs")}`,
      ]);
      assert.equal(started.code, 1);
      assert.match(
        started.stderr,
        /cannot start: .*control\.sock (exists and is a regular file, not a socket|is a symbolic link, not a control socket)/,
      );
      const status = await control({ storageDir: join(dir, "storage") }, "status");
      assert.equal(status.code, 1);
      assert.match(
        status.stderr,
        /control\.sock is a (file|symbolic link), not a control socket\n$/,
      );
      assert.equal(await Deno.readTextFile(outside), "not to be touched");
      if ((await Deno.lstat(socket)).isFile) {
        assert.equal(await Deno.readTextFile(socket), "keep me");
      }
      await Deno.remove(socket);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Connects to a Unix socket, asks for the status and prints "answered", or the errno's name. */
const PROBE = `
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    s.sendall(b'{"request":"status"}\\n')
    print("answered" if s.makefile().readline().startswith('{"ok":true') else "no answer")
except OSError as error:
    print(errno.errorcode.get(error.errno, str(error)))
`;
const PYTHON = "/usr/bin/python3";
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/** Runs the probe on `socket`, as another user when `as` is given (setpriv flags). */
async function probe(socket: string, as?: string[]): Promise<string> {
  const [program, args] = as ? ["setpriv", [...as, PYTHON]] : [PYTHON, []];
  const { stdout, stderr } = await new Deno.Command(program, {
    args: [...args, "-c", PROBE, socket],
  }).output();
  return new TextDecoder().decode(stdout).trim() || new TextDecoder().decode(stderr).trim();
}

/** Why this machine cannot run a process as another user (uid 65534), or undefined if it can. */
async function whyNoOtherUser(): Promise<string | undefined> {
  try {
    const { code, stdout, stderr } = await new Deno.Command("setpriv", {
      args: [...NOBODY, PYTHON, "-c", "import os; print(os.getuid())"],
    }).output();
    const uid = new TextDecoder().decode(stdout).trim();
    if (code === 0 && uid === "65534") return undefined;
    return `setpriv ${NOBODY.join(" ")} ${PYTHON} did not run as uid 65534 (exit ${code}: ${
      new TextDecoder().decode(stderr).trim() || uid
    })`;
  } catch (error) {
    return `cannot run setpriv and ${PYTHON}: ${(error as Error).message}`;
  }
}

const noOtherUser = await whyNoOtherUser();
if (noOtherUser) console.warn(`control socket test as another user ignored: ${noOtherUser}`);

Deno.test("the control socket has mode 0600 and belongs to the server's user, whatever the umask", async () => {
  await using server = await startServer([], undefined, { umask: 0 });
  const state = join(server.dir, "server_state");
  const socket = await Deno.lstat(join(state, "control.sock"));
  assert.ok(socket.isSocket);
  assert.equal(socket.mode! & 0o777, 0o600);
  const own = await Deno.lstat(join(state, "tls_key.pem")); // Made by the server too.
  assert.equal(socket.uid, own.uid);
  assert.equal(socket.gid, own.gid);
});

Deno.test({
  name: "another user cannot connect to the control socket, even through folders open to all",
  ignore: noOtherUser !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
    await Deno.chmod(dir, 0o755);
    await Deno.mkdir(join(dir, "server_state"));
    await Deno.chmod(join(dir, "server_state"), 0o755); // Only the socket's own mode guards it.
    await using server = await startServer([], dir, { umask: 0 });
    const socket = join(dir, "server_state", "control.sock");
    assert.equal(await probe(socket), "answered", "the probe works for the server's user");
    assert.equal(await probe(socket, NOBODY), "EACCES");
    await Deno.chmod(join(dir, "server_state"), 0o700);
    assert.equal(await probe(socket, NOBODY), "EACCES");
    assert.equal((await statusOf(server)).server.pid, server.pid, "the server still answers");
  },
});
