/**
 * Where the benchmark keeps its files (tmpfs, so the disk is not what is
 * measured) and the facts about the machine it ran on.
 *
 * @module
 */

import { runText, tryText } from "./processes.ts";

/** The benchmark's scratch folder, and what kind of filesystem it is on. */
export interface Workspace extends AsyncDisposable {
  dir: string;
  /** Filesystem type from /proc/mounts, e.g. `tmpfs`. */
  filesystem: string;
  /** One line for the output, e.g. "tmpfs (/dev/shm)". */
  description: string;
}

/**
 * A scratch folder on tmpfs with room for `neededBytes`: a tmpfs mounted
 * for the purpose under a new temp folder (as root), else the temp folder
 * itself if it is on tmpfs already, else a plain temp folder (and the
 * description says so).
 *
 * /dev/shm is not used: Deno's permission system treats every path under
 * /dev (symbolic links resolved) as a device that needs --allow-all, so
 * DFOS, run with its production permission flags, cannot store files there.
 */
export async function createWorkspace(neededBytes: number): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-bench-" });
  const removeDir = () => Deno.remove(dir, { recursive: true });
  if (Deno.uid() === 0) {
    const size = `${Math.ceil(neededBytes / 1024 ** 2)}m`;
    const mounted = await tryText({
      program: "mount",
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    });
    if (mounted !== undefined) {
      return workspace(dir, `tmpfs mounted at ${dir} (size ${size})`, async () => {
        await runText({ program: "umount", args: [dir] });
        await removeDir();
      });
    }
  }
  if (await filesystemOf(dir) === "tmpfs") return workspace(dir, `tmpfs (${dir})`, removeDir);
  return workspace(
    dir,
    `NOT tmpfs: ${dir} (not root, so no tmpfs could be mounted); the disk's speed is included`,
    removeDir,
  );
}

async function workspace(
  dir: string,
  description: string,
  remove: () => Promise<void>,
): Promise<Workspace> {
  const filesystem = await filesystemOf(dir);
  return {
    dir,
    filesystem,
    description: filesystem === "tmpfs" ? description : `${description} [${filesystem}]`,
    [Symbol.asyncDispose]: () => remove().catch(() => {}),
  };
}

/** The type of the filesystem `path` is on (longest matching mount point). */
async function filesystemOf(path: string): Promise<string> {
  const mounts = await Deno.readTextFile("/proc/mounts").catch(() => "");
  let best = { point: "", type: "unknown" };
  for (const line of mounts.split("\n")) {
    const [, point, type] = line.split(" ");
    if (!point || !type) continue;
    const inside = path === point || path.startsWith(point.endsWith("/") ? point : `${point}/`);
    if (inside && point.length >= best.point.length) best = { point, type };
  }
  return best.type;
}

/** What the results were measured on. */
export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memory: string;
  kernel: string;
  os: string;
  deno: string;
  openssh?: string;
  rsync?: string;
  sshCipher?: string;
  workspace: string;
  /** /proc/loadavg's 1, 5 and 15 minute averages when the benchmark started. */
  loadAverage: string;
}

/** Reads the machine facts from /proc and Deno. */
export async function machineFacts(): Promise<MachineFacts> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
  const loadavg = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  const memoryKib = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    memory: `${(memoryKib / 1024 ** 2).toFixed(1)} GiB`,
    kernel: Deno.osRelease(),
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? Deno.build.os,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    workspace: "",
    loadAverage: loadavg.split(" ").slice(0, 3).join(" "),
  };
}
