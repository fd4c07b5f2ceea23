/**
 * A harness for attacking one running test server: canaries outside the
 * attacked user's root, a bystander that keeps using the server while it is
 * attacked, raw logged-in connections, and a seeded random generator.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  FRAME_HEADER_SIZE,
  MAGIC,
  MAX_FRAME_SIZE,
  MESSAGE_TYPE,
  PROTOCOL_VERSION,
} from "../../src/protocol/constants.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import {
  decode,
  encode,
  type Frame,
  Messages,
  writeDataHeader,
} from "../../src/protocol/messages.ts";
import { isStatusCode, STATUS, statusName } from "../../src/protocol/status.ts";
import { seededBytes, sha256, sha256File } from "./files.ts";
import { concatBytes, Mulberry32 } from "./random.ts";

export { concatBytes, Mulberry32 };
import { connectRaw, runClient, startServer, type TestServer, USERS, within } from "./processes.ts";

/**
 * `bytes` padded with zeros so the server, reading it as frames, is not left
 * waiting inside a frame whose length field is in range. Parsing stops at a
 * length out of range: the server refuses the stream there.
 */
export function completeStream(bytes: Uint8Array): Uint8Array {
  let stream = bytes;
  let offset = 0;
  while (offset < stream.length) {
    if (stream.length - offset < 4) stream = concatBytes(stream, new Uint8Array(4));
    const length = new DataView(stream.buffer, stream.byteOffset + offset, 4).getUint32(0);
    if (length < FRAME_HEADER_SIZE - 4 || length > MAX_FRAME_SIZE) break;
    const missing = offset + 4 + length - stream.length;
    if (missing > 0) stream = concatBytes(stream, new Uint8Array(missing));
    offset += 4 + length;
  }
  return stream;
}

/** A frame with any type, id and payload, its length field filled in. */
export function rawFrame(type: number, id: number, payload: ArrayLike<number>): Uint8Array {
  const frame = new Uint8Array(9 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 5 + payload.length);
  view.setUint8(4, type);
  view.setUint32(5, id);
  frame.set(payload, 9);
  return frame;
}

/** A string field: u16 byte count, then the bytes (given as numbers they need not be UTF-8). */
export function stringField(text: string | number[]): number[] {
  const bytes = typeof text === "string" ? [...new TextEncoder().encode(text)] : text;
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** A `Data` frame carrying `bytes`. */
export function dataFrame(id: number, bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(9 + bytes.length);
  frame.set(bytes, 9);
  return writeDataHeader(frame, id, bytes.length);
}

/** SHA-256 of `bytes`, raw. */
export function digest(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

/** The first 64 bytes in hex, to name a failing input. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 64), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff];

/**
 * 1–3 random edits of `base`: flip a bit, set a byte (random or an edge
 * value), insert or delete 1–8 bytes, or truncate. Half the time a `single`
 * frame gets its length field fixed, so the edit reaches the payload decoder.
 */
export function mutateBytes(base: Uint8Array, rng: Mulberry32, single: boolean): Uint8Array {
  const bytes = [...base];
  for (let edits = rng.between(1, 3); edits > 0 && bytes.length > 0; edits--) {
    const at = rng.below(bytes.length);
    const kind = rng.below(6);
    if (kind === 0) bytes[at] ^= 1 << rng.below(8);
    else if (kind === 1) bytes[at] = rng.below(256);
    else if (kind === 2) bytes[at] = rng.pick(INTERESTING_BYTES);
    else if (kind === 3) bytes.splice(at, 0, ...rng.bytes(rng.between(1, 8)));
    else if (kind === 4) bytes.splice(at, rng.between(1, 8));
    else bytes.length = Math.max(1, at);
  }
  if (bytes.length === 0) bytes.push(rng.below(256));
  const mutated = Uint8Array.from(bytes);
  if (single && mutated.length >= 4 && rng.below(2) === 0) {
    new DataView(mutated.buffer).setUint32(0, mutated.length - 4);
  }
  return mutated;
}

/** Runs `task(index)` for 0 ≤ index < count, `concurrency` at a time. */
export async function inPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** A raw, logged-in (or at least connected) protocol connection. */
export interface RawSession {
  conn: Deno.Conn;
  reader: FrameReader;
  /** Closes the socket at once, ignoring errors. */
  close(): void;
}

/** A TLS connection to `server` whose handshake has completed. */
export async function openTls(server: TestServer): Promise<RawSession> {
  const conn = await within(connectRaw(server), 15_000, "connect");
  await within((conn as Deno.TlsConn).handshake(), 15_000, "TLS handshake");
  return rawSession(conn);
}

function rawSession(conn: Deno.Conn): RawSession {
  let closed = false;
  return {
    conn,
    reader: new FrameReader(conn),
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already gone */ }
    },
  };
}

/** A TLS record header announcing a ClientHello, and the first bytes of one. */
export const PARTIAL_CLIENT_HELLO = Uint8Array.of(
  0x16,
  0x03,
  0x01,
  0x02,
  0x00,
  0x01,
  0x00,
  0x01,
  0xfc,
);

/** Reads and drops whatever arrives until the peer closes (or resets) the connection. */
export async function drainUntilClosed(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  while ((await conn.read(buffer).catch(() => null)) !== null) { /* until closed */ }
}

/** A valid `Hello` frame, offering `capabilities` (none by default). */
export function helloFrame(capabilities: string[] = []): Uint8Array {
  return encode(Messages.Hello, 0, {
    magic: MAGIC,
    version: PROTOCOL_VERSION,
    software: "hostile-test",
    capabilities,
  });
}

/** Sends `bytes`; false if the peer has already gone. */
export async function sendQuietly(session: RawSession, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let offset = 0; offset < bytes.length;) {
      offset += await session.conn.write(bytes.subarray(offset));
    }
    return true;
  } catch {
    return false;
  }
}

/** The next frame within `ms`, skipping `Queued`; throws on a close or a timeout. */
export async function nextFrame(session: RawSession, ms: number, what: string): Promise<Frame> {
  for (;;) {
    const frame = await within(session.reader.next(), ms, what);
    if (!frame) throw new Error(`${what}: the server closed the connection`);
    if (frame.type !== Messages.Queued.type) return frame;
  }
}

/**
 * Logs in over a fresh connection, offering `capabilities` in `Hello`. A
 * SESSION_LIMIT refusal is retried until `deadlineMs`: the slot of a
 * connection just closed is released a moment later.
 */
export async function loginRaw(
  server: TestServer,
  user: keyof typeof USERS = "alice",
  deadlineMs = 10_000,
  capabilities: string[] = [],
): Promise<RawSession> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const session = await openTls(server);
    try {
      await sendQuietly(session, helloFrame(capabilities));
      const welcome = await nextFrame(session, 15_000, "Welcome");
      assert.equal(welcome.type, Messages.Welcome.type, "the server greets");
      await sendQuietly(session, encode(Messages.Auth, 0, { user, password: USERS[user] }));
      const reply = await nextFrame(session, 30_000, "AuthOk");
      if (reply.type === Messages.AuthOk.type) return session;
      const { code, message } = decode(Messages.Error, reply);
      if (code !== STATUS.SESSION_LIMIT || Date.now() > deadline) {
        throw new Error(`login of ${user} refused: ${statusName(code)} ${message}`);
      }
    } catch (error) {
      session.close();
      throw error;
    }
    session.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a connection said before it ended. */
export interface Ending {
  /** Frames other than a final `Error` with id 0 (Data payloads not kept). */
  frames: Frame[];
  /** The `Error` with id 0 the server sent before closing, if any. */
  error?: { code: number; message: string };
}

/**
 * Reads until the server closes the connection; rejects if it does not
 * within `ms` (a hang). A reset or a cut frame counts as a close.
 */
export async function readToEnd(session: RawSession, ms: number, what: string): Promise<Ending> {
  const deadline = Date.now() + ms;
  const ending: Ending = { frames: [] };
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    const frame = await within(session.reader.next().catch(() => null), left, what);
    if (!frame) return ending;
    if (frame.id === 0 && frame.type === Messages.Error.type && !ending.error) {
      ending.error = decode(Messages.Error, frame);
    } else {
      const keep = frame.type === MESSAGE_TYPE.Data ? new Uint8Array() : frame.payload.slice();
      ending.frames.push({ ...frame, payload: keep });
    }
  }
}

/** What happened to bytes sent on a logged-in connection followed by a probe request. */
export interface ProbeResult extends Ending {
  /** The probe was answered: the session survived the bytes. */
  served: boolean;
}

/**
 * Sends `bytes` (padded by {@link completeStream} so no frame is left
 * open), then a `Stat` of "/" with id `probeId`, and reads until the probe
 * is answered or the server closes; rejects if neither happens within `ms`.
 */
export async function sendWithProbe(
  session: RawSession,
  bytes: Uint8Array,
  probeId: number,
  ms: number,
): Promise<ProbeResult> {
  const probe = encode(Messages.Stat, probeId, { path: "/" });
  await sendQuietly(session, concatBytes(completeStream(bytes), probe));
  const deadline = Date.now() + ms;
  const result: ProbeResult = { frames: [], served: false };
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    const frame = await within(session.reader.next().catch(() => null), left, "probe reply");
    if (!frame) return result;
    if (frame.id === 0 && frame.type === Messages.Error.type && !result.error) {
      result.error = decode(Messages.Error, frame);
      continue;
    }
    if (
      frame.id === probeId && frame.type !== MESSAGE_TYPE.ReadInfo &&
      frame.type !== MESSAGE_TYPE.Data
    ) {
      return { ...result, served: true };
    }
    const keep = frame.type === MESSAGE_TYPE.Data ? new Uint8Array() : frame.payload.slice();
    result.frames.push({ ...frame, payload: keep });
  }
}

/** Counts what attacks on logged-in sessions did, and collects what they must not do. */
export class Tally {
  served = 0;
  protocolErrors = 0;
  silentCloses = 0;
  /** Requests sent with id 0 and answered with id 0 while the session went on (see the id 0 test). */
  idZeroAnswers = 0;
  statuses = new Map<string, number>();
  problems: string[] = [];

  add(label: string, result: ProbeResult): void {
    if (result.served && result.error && result.error.code !== STATUS.PROTOCOL_ERROR) {
      this.idZeroAnswers++;
    } else if (result.served && result.error) {
      this.problems.push(`${label}: PROTOCOL_ERROR without a close`);
    } else if (result.error && result.error.code !== STATUS.PROTOCOL_ERROR) {
      this.problems.push(`${label}: Error id 0 with ${statusName(result.error.code)}`);
    }
    if (result.served) this.served++;
    else if (result.error) this.protocolErrors++;
    else this.silentCloses++;
    for (const frame of result.frames.filter((frame) => frame.type === Messages.Error.type)) {
      const { code, message } = decode(Messages.Error, frame);
      const name = isStatusCode(code) ? statusName(code) : `unknown status ${code}`;
      this.statuses.set(name, (this.statuses.get(name) ?? 0) + 1);
      if (!isStatusCode(code) || message.includes("internal server error")) {
        this.problems.push(`${label}: ${name} ${message}`);
      }
    }
  }

  toString(): string {
    const statuses = [...this.statuses].map(([name, count]) => `${name} ${count}`).join(", ");
    return `served ${this.served}, PROTOCOL_ERROR ${this.protocolErrors}, ` +
      `closed silently ${this.silentCloses}, id-0 requests answered ${this.idZeroAnswers}; ` +
      `request errors: ${statuses}`;
  }
}

/** Files and folders outside alice's root that no attack may read or change. */
export interface Canaries {
  /** Outside the storage folder: the target of alice's planted links. */
  outsideDir: string;
  /** Inside the storage folder but not alice's: a user folder never logged into. */
  neighbourDir: string;
  secretText: string;
  /** Every difference from the state at planting time (empty when untouched). */
  changes(): Promise<string[]>;
}

const OLD_ACCESS = new Date("2001-01-01T00:00:00Z");
const OLD_CHANGE = new Date("2001-01-02T00:00:00Z");

/**
 * Plants canaries. Their access time is set before their modification time,
 * so on relatime mounts any read of them moves the access time: reads show.
 */
export async function plantCanaries(server: TestServer): Promise<Canaries> {
  const outsideDir = join(server.dir, "outside");
  const neighbourDir = join(server.storageDir, "victim");
  const secretText = "canary: the secret alice must never see\n";
  const files = [
    join(outsideDir, "secret.txt"),
    join(outsideDir, "sub", "deep.txt"),
    join(neighbourDir, "secret.txt"),
  ];
  for (const file of files) {
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeTextFile(file, secretText);
  }
  const dirs = [join(outsideDir, "sub"), outsideDir, neighbourDir];
  const age = async () => {
    for (const path of [...files, ...dirs]) await Deno.utime(path, OLD_ACCESS, OLD_CHANGE);
  };
  await age();
  const expected = await describe(files, dirs); // Takes the times before reading anything,
  await age(); // and reading moved them: set them back.
  return {
    outsideDir,
    neighbourDir,
    secretText,
    async changes() {
      const actual = await describe(files, dirs);
      return [...new Set([...expected.keys(), ...actual.keys()])]
        .filter((key) => expected.get(key) !== actual.get(key))
        .map((key) => `${key}: ${expected.get(key)} → ${actual.get(key)}`);
    },
  };
}

/** Times first (a read of the contents would move them), then names and contents. */
async function describe(files: string[], dirs: string[]): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const path of [...files, ...dirs]) {
    const info = await Deno.lstat(path).catch(() => undefined);
    state.set(`${path} times`, `${info?.atime?.getTime()}/${info?.mtime?.getTime()}`);
  }
  for (const dir of dirs) {
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    state.set(`${dir} names`, names.join(","));
  }
  for (const file of files) {
    state.set(`${file} content`, await sha256File(file).catch((error) => String(error)));
  }
  return state;
}

/** Sorted names in `dir` ("" if it is missing). */
export function namesIn(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

/** One put-then-get round of the bystander. */
export interface BystanderRound {
  startedAt: number;
  endedAt: number;
  problem?: string;
}

/** A user who keeps uploading and downloading a small file while others attack. */
export interface Bystander {
  /** Stops after the running round and resolves to every round. */
  stop(): Promise<BystanderRound[]>;
}

/**
 * Starts `user` putting a fresh small file and getting it back with the real
 * client, checking SHA-256 on both ends, with `pauseMs` between rounds.
 */
export function startBystander(
  server: TestServer,
  user: keyof typeof USERS = "bob",
  pauseMs = 300,
): Bystander {
  let stopping = false;
  const rounds: BystanderRound[] = [];
  const loop = (async () => {
    const local = await Deno.makeTempDir({ prefix: "dfos-bystander-" });
    try {
      for (let index = 0; !stopping; index++) {
        const startedAt = performance.now();
        const problem = await bystanderRound(server, user, local, index);
        rounds.push({ startedAt, endedAt: performance.now(), problem });
        if (!stopping) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return rounds;
    },
  };
}

async function bystanderRound(
  server: TestServer,
  user: keyof typeof USERS,
  local: string,
  index: number,
): Promise<string | undefined> {
  const bytes = seededBytes(1000 + (index * 397) % 7000, 1000 + index);
  await Deno.writeFile(join(local, "src.bin"), bytes);
  const result = await runClient(server, [], {
    user,
    cwd: local,
    stdin: "put -f src.bin r.bin\nget -f r.bin back.bin\n",
    timeoutMs: 60_000,
  });
  if (result.code !== 0 || result.stderr !== "") {
    return `round ${index}: exit ${result.code}: ${result.stderr.trim()}`;
  }
  const back = await Deno.readFile(join(local, "back.bin")).catch(() => new Uint8Array());
  if (sha256(back) !== sha256(bytes)) return `round ${index}: downloaded bytes differ`;
  const stored = await sha256File(join(server.storageDir, user, "r.bin")).catch(String);
  if (stored !== sha256(bytes)) return `round ${index}: stored bytes differ`;
  return undefined;
}

/** Whether the server process is still running. */
export async function isRunning(server: TestServer): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    server.child.status.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 100)),
  ]);
  clearTimeout(timer);
  return !exited;
}

/** One attack's time window, to check the bystander was served during it. */
interface AttackWindow {
  name: string;
  startedAt: number;
  endedAt: number;
}

/** Attacks shorter than this need not contain a whole bystander round. */
const WINDOW_NEEDING_A_ROUND_MS = 8_000;

/** One server under attack, its canaries and its bystander. */
export interface Arena extends AsyncDisposable {
  server: TestServer;
  /** alice's root on disk. */
  aliceRoot: string;
  canaries: Canaries;
  /** Runs `attack` as a step and remembers when it ran. */
  attack(t: Deno.TestContext, name: string, attack: () => Promise<unknown>): Promise<void>;
  /** The closing checks, each as a step: canaries, temp folder, bystander, clean exit. */
  finish(t: Deno.TestContext, minRounds: number): Promise<void>;
}

/** Starts a server (extra flags in `args`), plants canaries and starts the bystander. */
export async function openArena(args: string[]): Promise<Arena> {
  const server = await startServer(args);
  const canaries = await plantCanaries(server);
  const aliceRoot = join(server.storageDir, "alice");
  await Deno.mkdir(aliceRoot, { recursive: true, mode: 0o700 });
  const topNames = namesIn(server.dir);
  const stateNames = namesIn(join(server.dir, "server_state"));
  const bystander = startBystander(server);
  let rounds: BystanderRound[] | undefined;
  const windows: AttackWindow[] = [];
  return {
    server,
    aliceRoot,
    canaries,
    async attack(t, name, attack) {
      const startedAt = performance.now();
      await t.step(name, async () => {
        await attack();
      });
      windows.push({ name, startedAt, endedAt: performance.now() });
    },
    async finish(t, minRounds) {
      rounds = await bystander.stop();
      console.log(`bystander: ${rounds.length} put/get rounds`);
      await t.step("nothing outside alice's root was read or written", async () => {
        assert.deepEqual(await canaries.changes(), []);
        assert.deepEqual(namesIn(server.dir), topNames, "no new files in the server's folder");
        assert.deepEqual(namesIn(server.storageDir), ["alice", "bob", "victim"]);
        assert.deepEqual(namesIn(join(server.dir, "server_state")), stateNames);
        const bobNames = namesIn(join(server.storageDir, "bob")).filter((name) => name !== ".dfos");
        assert.deepEqual(bobNames, ["r.bin"], "only the bystander wrote to bob's folder");
      });
      await t.step(`bob was served throughout (at least ${minRounds} rounds)`, () => {
        assert.deepEqual(
          rounds!.filter((round) => round.problem).map((round) => round.problem),
          [],
        );
        assert.ok(rounds!.length >= minRounds, `${rounds!.length} bystander rounds`);
        for (const window of windows) {
          if (window.endedAt - window.startedAt < WINDOW_NEEDING_A_ROUND_MS) continue;
          const served = rounds!.some((round) =>
            round.endedAt > window.startedAt && round.endedAt < window.endedAt
          );
          assert.ok(served, `a bystander round completed during "${window.name}"`);
        }
      });
      await t.step(
        "the server is still running, logged no crash, and exits 0 on SIGTERM",
        async () => {
          assert.ok(await isRunning(server), "the server process is alive");
          assert.equal(await server.stop("SIGTERM"), 0);
          assert.doesNotMatch(server.output(), /Uncaught|panicked|\[FTL\]/);
        },
      );
    },
    async [Symbol.asyncDispose]() {
      rounds ??= await bystander.stop();
      await server[Symbol.asyncDispose]();
    },
  };
}
