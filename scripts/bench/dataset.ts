/**
 * The benchmark's data: random (incompressible) files written once, with
 * their SHA-256, the workloads built on them, and the check that a copy is
 * complete and byte-identical.
 *
 * @module
 */

import { createHash, randomFillSync } from "node:crypto";
import { dirname, join } from "node:path";
import type { FileEntry, Unit, Workload, WorkloadId } from "./workloads.ts";

/** Sizes of the data set. */
export interface DatasetOptions {
  /** Size of the big file (workloads A, B) in MiB. */
  sizeMib: number;
  /** Number of 4 KiB files in the tree (C, D, F, G). */
  smallFiles: number;
  /** Number of concurrent clients (E), each with its own 10 MiB file. */
  clients: number;
  /** The workloads that will run: only their data is written. */
  only: readonly WorkloadId[];
  /** Round-trip times of the latency workloads (F–I) besides 0, ms. */
  rttMs: readonly number[];
  /** Size of the large file of H and I, in MiB. */
  latencySizeMib: number;
}

const MIB = 1024 * 1024;
/** Size of each small file (C, D). */
export const SMALL_FILE_BYTES = 4096;
/** Size of each concurrent client's file (E). */
export const CLIENT_FILE_BYTES = 10 * MIB;
/** Files per folder of the small-file tree. */
const FILES_PER_FOLDER = 100;
const WRITE_CHUNK = 16 * MIB;
const HASH_CHUNK = MIB;

/** Writes the data set into `dataDir` and returns the workloads selected. */
export async function createWorkloads(
  dataDir: string,
  options: DatasetOptions,
): Promise<Workload[]> {
  const wants = (...ids: WorkloadId[]) => ids.some((id) => options.only.includes(id));
  const workloads: Workload[] = [];
  if (wants("A", "B")) {
    const big: Unit = {
      name: "big.bin",
      kind: "file",
      files: [await writeRandomFile(dataDir, "big.bin", options.sizeMib * MIB)],
    };
    const title = `${formatMib(options.sizeMib)} file`;
    workloads.push(workload("A", `${title} upload`, "upload", [big]));
    workloads.push(workload("B", `${title} download`, "download", [big]));
  }
  const tree = wants("C", "D", "F", "G") ? await writeTree(dataDir, options.smallFiles) : undefined;
  if (tree && wants("C", "D")) {
    const title = `${options.smallFiles} files of 4 KiB`;
    workloads.push(workload("C", `${title} upload`, "upload", [tree]));
    workloads.push(workload("D", `${title} download`, "download", [tree]));
  }
  if (wants("E", "E1")) {
    const units: Unit[] = [];
    for (let index = 1; index <= options.clients; index++) {
      const name = `client-${String(index).padStart(3, "0")}.bin`;
      units.push({
        name,
        kind: "file",
        files: [await writeRandomFile(dataDir, name, CLIENT_FILE_BYTES)],
      });
    }
    workloads.push(workload("E1", "1 client × 10 MiB upload (E's baseline)", "upload", [units[0]]));
    const title = `${options.clients} clients × 10 MiB upload`;
    workloads.push({ ...workload("E", title, "upload", units), concurrent: true });
  }
  workloads.push(...await latencyWorkloads(dataDir, options, tree));
  // E's ratio needs its baseline, measured in the same run.
  const chosen = (id: WorkloadId) => options.only.includes(id) || (id === "E1" && wants("E"));
  return workloads.filter((entry) => chosen(entry.id));
}

/** F–I at every round-trip time: C's tree (`tree`) and a large file of their own, up and down. */
async function latencyWorkloads(
  dataDir: string,
  options: DatasetOptions,
  tree: Unit | undefined,
): Promise<Workload[]> {
  const wants = (...ids: WorkloadId[]) => ids.some((id) => options.only.includes(id));
  const workloads: Workload[] = [];
  if (tree && wants("F", "G")) {
    const title = `${options.smallFiles} files of 4 KiB`;
    workloads.push(...atEveryRtt(workload("F", `${title} upload`, "upload", [tree]), options));
    workloads.push(...atEveryRtt(workload("G", `${title} download`, "download", [tree]), options));
  }
  if (wants("H", "I")) {
    const name = "latency.bin";
    const size = options.latencySizeMib * MIB;
    const file: Unit = { name, kind: "file", files: [await writeRandomFile(dataDir, name, size)] };
    const title = `${formatMib(options.latencySizeMib)} file`;
    workloads.push(...atEveryRtt(workload("H", `${title} upload`, "upload", [file]), options));
    workloads.push(...atEveryRtt(workload("I", `${title} download`, "download", [file]), options));
  }
  return workloads;
}

/** The small-file tree: `count` files of 4 KiB, 100 to a folder. */
async function writeTree(dataDir: string, count: number): Promise<Unit> {
  const tree: Unit = { name: "tree", kind: "tree", files: [] };
  for (let index = 0; index < count; index++) {
    const folder = `d${String(Math.floor(index / FILES_PER_FOLDER)).padStart(3, "0")}`;
    const path = `tree/${folder}/f${String(index).padStart(5, "0")}.bin`;
    tree.files.push(await writeRandomFile(dataDir, path, SMALL_FILE_BYTES));
  }
  return tree;
}

/** A latency workload at RTT 0 (the baseline) and at each of `options.rttMs`. */
function atEveryRtt(base: Workload, options: DatasetOptions): Workload[] {
  return [0, ...options.rttMs].map((rttMs) => ({
    ...base,
    title: `${base.title}, RTT ${rttMs} ms`,
    rttMs,
  }));
}

function workload(
  id: WorkloadId,
  title: string,
  direction: Workload["direction"],
  units: Unit[],
): Workload {
  return { id, title, direction, units, concurrent: false };
}

function formatMib(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** Writes `size` random bytes to `dataDir/path`; returns its entry with SHA-256. */
async function writeRandomFile(dataDir: string, path: string, size: number): Promise<FileEntry> {
  const target = join(dataDir, path);
  await Deno.mkdir(dirname(target), { recursive: true });
  const hash = createHash("sha256");
  using file = await Deno.open(target, { write: true, create: true, truncate: true });
  const buffer = new Uint8Array(Math.min(WRITE_CHUNK, size));
  for (let written = 0; written < size;) {
    const chunk = buffer.subarray(0, Math.min(buffer.length, size - written));
    randomFillSync(chunk);
    hash.update(chunk);
    await writeAll(file, chunk);
    written += chunk.length;
  }
  return { path, size, sha256: hash.digest("hex") };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
}

/** SHA-256 of a file, lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(HASH_CHUNK);
  for (;;) {
    const count = await file.read(buffer);
    if (count === null) break;
    hash.update(buffer.subarray(0, count));
  }
  return hash.digest("hex");
}

/**
 * Checks that `destDir` holds every file of `units` with the right size and
 * SHA-256, and that a copied tree has no extra files (a tree nested one level
 * too deep fails here). Throws with the first difference found.
 */
export async function verifyCopy(destDir: string, units: Unit[]): Promise<void> {
  for (const unit of units) {
    for (const file of unit.files) {
      const copy = join(destDir, file.path);
      const info = await Deno.stat(copy).catch(() => undefined);
      if (!info?.isFile) throw new Error(`verification: ${file.path} is missing`);
      if (info.size !== file.size) {
        throw new Error(`verification: ${file.path} has ${info.size} bytes, not ${file.size}`);
      }
      if (await sha256File(copy) !== file.sha256) {
        throw new Error(`verification: ${file.path} differs (SHA-256 mismatch)`);
      }
    }
    if (unit.kind === "tree") {
      const found = await countFiles(join(destDir, unit.name));
      if (found !== unit.files.length) {
        throw new Error(`verification: ${unit.name} has ${found} files, not ${unit.files.length}`);
      }
    }
  }
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) count += await countFiles(join(dir, entry.name));
    else count++;
  }
  return count;
}

/** Copies units from the data set into `remoteDir` before a download (untimed). */
export async function stageUnits(dataDir: string, remoteDir: string, units: Unit[]) {
  for (const unit of units) {
    for (const file of unit.files) {
      const target = join(remoteDir, file.path);
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.copyFile(join(dataDir, file.path), target);
    }
  }
}
