/**
 * DFOS benchmark: moves the same files with DFOS, a bare Deno TLS socket
 * (the ceiling, also with SHA-256 on both ends), scp, sftp and rsync, all on 127.0.0.1 with files on tmpfs,
 * verifies every copy by SHA-256, and prints one table with the ratios and
 * the targets met or missed. See BENCHMARKS.md.
 *
 * ```sh
 * ./scripts/deno task bench                                         # full size
 * ./scripts/deno task bench --size-mib 64 --small-files 200 --clients 10   # quick
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { createWorkloads, stageUnits, verifyCopy } from "./bench/dataset.ts";
import { CLIENT_FILE_BYTES, SMALL_FILE_BYTES } from "./bench/dataset.ts";
import { createDfosTool, type LimitFlags, limitFlags } from "./bench/dfos_tool.ts";
import { createWorkspace, type MachineFacts, machineFacts } from "./bench/machine.ts";
import { createOpenSshTools } from "./bench/openssh_tools.ts";
import { type BenchOptions, parseBenchOptions, type ToolKey } from "./bench/options.ts";
import {
  checkTargets,
  median,
  resultsTable,
  targetsTable,
  type ToolResult,
} from "./bench/report.ts";
import { findOpenSshPrograms, startSshd, toolVersions } from "./bench/sshd.ts";
import { ceilingName, createTlsCeiling } from "./bench/tls_ceiling_tool.ts";
import {
  type BenchTool,
  type UnavailableTool,
  type Workload,
  workloadBytes,
} from "./bench/workloads.ts";

type Tool = BenchTool | UnavailableTool;

const TOOL_NAMES: Record<ToolKey, string> = {
  dfos: "DFOS",
  ceiling: ceilingName(false),
  "ceiling-sha256": ceilingName(true),
  scp: "scp",
  sftp: "sftp",
  rsync: "rsync",
};

/** Scratch space the data set and the largest run need, with room to spare. */
function neededBytes(options: BenchOptions): number {
  const big = options.sizeMib * 2 ** 20;
  const concurrent = options.clients * CLIENT_FILE_BYTES;
  const data = big + concurrent + options.smallFiles * SMALL_FILE_BYTES;
  return data + 2 * Math.max(big, concurrent) + 512 * 2 ** 20;
}

/** Sets up every selected tool; one that cannot be set up says why. */
async function setUpTools(
  options: BenchOptions,
  workDir: string,
  facts: MachineFacts,
  cleanup: AsyncDisposableStack,
): Promise<Tool[]> {
  const wanted = (key: ToolKey) => options.tools.includes(key);
  const tools: Tool[] = [];
  const attempt = async (key: ToolKey, create: () => Promise<BenchTool>) => {
    if (!wanted(key)) return;
    tools.push(
      await create().catch((error) => ({
        name: TOOL_NAMES[key],
        unavailable: `setup failed: ${error instanceof Error ? error.message : error}`,
      })),
    );
  };
  await attempt("dfos", () => createDfosTool(workDir));
  await attempt("ceiling", () => createTlsCeiling(workDir));
  await attempt("ceiling-sha256", () => createTlsCeiling(workDir, true));
  const sshKeys: ToolKey[] = ["scp", "sftp", "rsync"];
  if (!sshKeys.some(wanted)) return tools;
  const { programs, notes } = await findOpenSshPrograms(options.install);
  notes.forEach((note) => console.error(`note: ${note}`));
  Object.assign(facts, await toolVersions(programs));
  let sshTools: BenchTool[] = [];
  let reason = "not installed";
  if (programs.sshd && programs.ssh && programs["ssh-keygen"]) {
    try {
      const sshd = cleanup.use(await startSshd(join(workDir, "sshd"), programs));
      facts.sshCipher = sshd.cipher;
      sshTools = createOpenSshTools(sshd, programs);
    } catch (error) {
      reason = `sshd failed: ${error instanceof Error ? error.message : error}`;
    }
  }
  for (const key of sshKeys.filter(wanted)) {
    const tool = sshTools.find((candidate) => candidate.name === TOOL_NAMES[key]);
    tools.push(tool ?? { name: TOOL_NAMES[key], unavailable: reason });
  }
  return tools;
}

/** Runs one tool on one workload `repeat` times; verifies each copy. */
async function measure(
  tool: Tool,
  workload: Workload,
  dataDir: string,
  runsDir: string,
  repeat: number,
): Promise<ToolResult> {
  const result: ToolResult = {
    workload: workload.id,
    title: workload.title,
    tool: tool.name,
    status: "ok",
    bytes: workloadBytes(workload),
    runs: [],
    serverCpuSeconds: [],
    clientCpuSeconds: [],
  };
  if ("unavailable" in tool) return { ...result, status: tool.unavailable };
  for (let run = 1; run <= repeat; run++) {
    try {
      const measurement = await measureOnce(tool, workload, dataDir, runsDir);
      result.runs.push(measurement.seconds);
      if (measurement.serverCpuSeconds !== undefined) {
        result.serverCpuSeconds.push(measurement.serverCpuSeconds);
      }
      if (measurement.clientCpuSeconds !== undefined) {
        result.clientCpuSeconds.push(measurement.clientCpuSeconds);
      }
      const rss = measurement.serverPeakRssBytes;
      if (rss !== undefined) {
        result.serverPeakRssBytes = Math.max(result.serverPeakRssBytes ?? 0, rss);
      }
      console.error(
        `  ${workload.id} ${tool.name} run ${run}/${repeat}: ${measurement.seconds.toFixed(3)} s` +
          (measurement.clientCpuSeconds === undefined
            ? ""
            : `, client CPU ${measurement.clientCpuSeconds.toFixed(2)} s`) +
          (measurement.serverCpuSeconds === undefined
            ? ""
            : `, server CPU ${measurement.serverCpuSeconds.toFixed(2)} s`),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  ${workload.id} ${tool.name} run ${run}/${repeat} FAILED: ${message}`);
      return { ...result, status: `failed: ${message}` };
    }
  }
  return { ...result, seconds: median(result.runs) };
}

async function measureOnce(tool: BenchTool, workload: Workload, dataDir: string, runsDir: string) {
  const runDir = await Deno.makeTempDir({ dir: runsDir, prefix: `${workload.id}-` });
  try {
    const paths = {
      dataDir,
      runDir,
      remoteDir: tool.remoteDir(runDir),
      localDir: join(runDir, "local"),
    };
    await Deno.mkdir(paths.remoteDir, { recursive: true });
    await Deno.mkdir(paths.localDir, { recursive: true });
    if (workload.direction === "download") {
      await stageUnits(dataDir, paths.remoteDir, workload.units);
    }
    const measurement = await tool.run(workload, paths);
    const destination = workload.direction === "upload" ? paths.remoteDir : paths.localDir;
    await verifyCopy(destination, workload.units);
    return measurement;
  } finally {
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
}

function describeMachine(facts: MachineFacts, options: BenchOptions, workloads: Workload[]) {
  const concurrent = workloads.find((workload) => workload.concurrent);
  return [
    `machine: ${facts.cpus} CPUs (${facts.cpuModel}), ${facts.memory} memory, ` +
    `Linux ${facts.kernel}, ${facts.os}`,
    `deno: ${facts.deno}; load average at start: ${facts.loadAverage}`,
    `openssh: ${facts.openssh ?? "not installed"}; rsync: ${facts.rsync ?? "not installed"}; ` +
    `ssh cipher negotiated: ${facts.sshCipher ?? "n/a"}`,
    `files: ${facts.workspace}`,
    `network: 127.0.0.1 only; DFOS server with TLS and fsync on (defaults)` +
    (concurrent ? `; for E: ${describeFlags(limitFlags(concurrent))}` : ""),
    `runs: ${options.repeat} per workload and tool (median shown); ` +
    `times are wall time of the client process(es); MB = 10^6 bytes, MiB = 2^20 bytes`,
  ].join("\n");
}

function describeFlags(flags: LimitFlags): string {
  const client = flags.client.length > 0 ? flags.client.join(" ") : "default flags";
  return `server ${flags.server.join(" ")}, clients ${client}`;
}

async function main(): Promise<void> {
  const options = parseBenchOptions(Deno.args);
  await using cleanup = new AsyncDisposableStack();
  Deno.addSignalListener("SIGINT", async () => {
    await cleanup.disposeAsync();
    Deno.exit(130);
  });
  const facts = await machineFacts();
  const workspace = cleanup.use(await createWorkspace(neededBytes(options)));
  facts.workspace = workspace.description;
  if (workspace.filesystem !== "tmpfs") console.error(`WARNING: files are ${facts.workspace}`);
  const dataDir = join(workspace.dir, "data");
  const runsDir = join(workspace.dir, "runs");
  await Deno.mkdir(runsDir, { recursive: true });
  console.error(`writing the data set under ${dataDir}…`);
  const workloads = await createWorkloads(dataDir, options);
  const tools = await setUpTools(options, workspace.dir, facts, cleanup);
  const results: ToolResult[] = [];
  for (const workload of workloads) {
    console.error(`${workload.id}: ${workload.title}`);
    for (const tool of tools) {
      results.push(await measure(tool, workload, dataDir, runsDir, options.repeat));
    }
  }
  const targets = checkTargets(results);
  const out = options.out ??
    join(await Deno.makeTempDir({ prefix: "dfos-bench-results-" }), "bench-results.json");
  const finishedAt = new Date().toISOString();
  await Deno.writeTextFile(
    out,
    JSON.stringify({ finishedAt, machine: facts, options, results, targets }, null, 2) + "\n",
  );
  console.log(`\nDFOS benchmark, ${finishedAt}`);
  console.log(describeMachine(facts, options, workloads));
  console.log(`\n${resultsTable(results)}\n\n${targetsTable(targets)}\n`);
  console.log(`JSON results: ${out}`);
}

if (import.meta.main) await main();
