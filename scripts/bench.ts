/**
 * DFOS benchmark: moves the same files with DFOS, a bare Deno TLS socket
 * (the ceiling, also with SHA-256 on both ends), scp, sftp and rsync, all on 127.0.0.1 with files on tmpfs,
 * verifies every copy by SHA-256, and prints one table with the ratios and
 * the targets met or missed; then the latency workloads, through a relay on
 * loopback that adds a round-trip time, in a table of times and the round
 * trips they imply. See BENCHMARKS.md.
 *
 * ```sh
 * ./scripts/deno task bench                                         # full size
 * ./scripts/deno task bench --size-mib 64 --small-files 200 --clients 10   # quick
 * ./scripts/deno task bench --only F,G,H,I --latency-repeat 1       # latency only, once
 * ./scripts/deno task bench --only A,B,C,D --tools dfos,dfos-s3    # object store against local
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { createWorkloads } from "./bench/dataset.ts";
import { CLIENT_FILE_BYTES, SMALL_FILE_BYTES } from "./bench/dataset.ts";
import { createDfosTool, type LimitFlags, limitFlags } from "./bench/dfos_tool.ts";
import {
  createObjectStoreDfosTool,
  OBJECT_STORE_DFOS,
  OBJECT_STORE_WORKLOADS,
} from "./bench/dfos_object_tool.ts";
import { objectStoreTargets } from "./bench/object_store_report.ts";
import { createWorkspace, type MachineFacts, machineFacts } from "./bench/machine.ts";
import { createOpenSshTools } from "./bench/openssh_tools.ts";
import { type BenchOptions, parseBenchOptions, type ToolKey } from "./bench/options.ts";
import { checkTargets, resultsTable, targetsTable, type ToolResult } from "./bench/report.ts";
import { impliedRoundTrips, latencyTable } from "./bench/latency_report.ts";
import { runLatencyWorkloads } from "./bench/latency.ts";
import { measure, type MeasureDirs } from "./bench/measure.ts";
import { findOpenSshPrograms, startSshd, toolVersions } from "./bench/sshd.ts";
import { ceilingName, createTlsCeiling } from "./bench/tls_ceiling_tool.ts";
import type { BenchTool, UnavailableTool, Workload } from "./bench/workloads.ts";

type Tool = BenchTool | UnavailableTool;

const TOOL_NAMES: Record<ToolKey, string> = {
  dfos: "DFOS",
  "dfos-s3": OBJECT_STORE_DFOS,
  ceiling: ceilingName(false),
  "ceiling-sha256": ceilingName(true),
  scp: "scp",
  sftp: "sftp",
  rsync: "rsync",
};

/** The tools that run the latency workloads (through the delaying relay). */
const RELAYED_TOOLS: ToolKey[] = ["dfos", "scp", "sftp", "rsync"];

/** Scratch space the data set and the largest run need, with room to spare. */
function neededBytes(options: BenchOptions): number {
  const big = options.sizeMib * 2 ** 20;
  const latency = options.latencySizeMib * 2 ** 20;
  const concurrent = options.clients * CLIENT_FILE_BYTES;
  const data = big + latency + concurrent + options.smallFiles * SMALL_FILE_BYTES;
  return data + 2 * Math.max(big, latency, concurrent) + 512 * 2 ** 20;
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
        relayed: RELAYED_TOOLS.includes(key),
        unavailable: `setup failed: ${error instanceof Error ? error.message : error}`,
      })),
    );
  };
  await attempt("dfos", () => createDfosTool(workDir));
  await attempt("dfos-s3", () => createObjectStoreDfosTool(workDir, options.sizeMib, cleanup));
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
    tools.push(tool ?? { name: TOOL_NAMES[key], relayed: true, unavailable: reason });
  }
  return tools;
}

function describeMachine(facts: MachineFacts, options: BenchOptions, workloads: Workload[]) {
  const concurrent = workloads.find((workload) => workload.concurrent);
  const latency = workloads.some((workload) => workload.rttMs !== undefined);
  const direct = workloads.some((workload) => workload.rttMs === undefined);
  return [
    `machine: ${facts.cpus} CPUs (${facts.cpuModel}), ${facts.memory} memory, ` +
    `Linux ${facts.kernel}, ${facts.os}`,
    `deno: ${facts.deno}; load average at start: ${facts.loadAverage}`,
    `openssh: ${facts.openssh ?? "not installed"}; rsync: ${facts.rsync ?? "not installed"}; ` +
    `ssh cipher negotiated: ${facts.sshCipher ?? "n/a"}`,
    `files: ${facts.workspace}`,
    `network: 127.0.0.1 only; DFOS server with TLS and fsync on (defaults)` +
    (concurrent ? `; for E: ${describeFlags(limitFlags(concurrent))}` : ""),
    `times are wall time of the client process(es); MB = 10^6 bytes, MiB = 2^20 bytes`,
    ...(direct ? [`runs: ${options.repeat} per workload and tool (median shown)`] : []),
    ...(latency
      ? [
        `latency (F-I): through a delaying relay on 127.0.0.1 at RTT 0 and ` +
        `${options.rttMs.join(", ")} ms; ${options.latencyRepeat} runs each (median shown); ` +
        `a run stopped after ${options.latencyLimitSeconds} s; ` +
        `round trips = (time - time at RTT 0) / RTT`,
      ]
      : []),
  ].join("\n");
}

function describeFlags(flags: LimitFlags): string {
  const client = flags.client.length > 0 ? flags.client.join(" ") : "default flags";
  return `server ${flags.server.join(" ")}, clients ${client}`;
}

/** Runs every workload with every tool: A-E straight, then F-I through the relay. */
async function measureAll(
  workloads: Workload[],
  tools: Tool[],
  dirs: MeasureDirs,
  options: BenchOptions,
) {
  const results: ToolResult[] = [];
  for (const workload of workloads.filter((workload) => workload.rttMs === undefined)) {
    console.error(`${workload.id}: ${workload.title}`);
    for (const tool of tools) {
      const skipped = tool.name === OBJECT_STORE_DFOS &&
        !OBJECT_STORE_WORKLOADS.includes(workload.id);
      if (skipped) continue;
      results.push(await measure(tool, workload, dirs, { repeat: options.repeat }));
    }
  }
  const latencyResults = await runLatencyWorkloads(
    workloads.filter((workload) => workload.rttMs !== undefined),
    tools,
    dirs,
    { repeat: options.latencyRepeat, limitSeconds: options.latencyLimitSeconds },
  );
  return { results, latencyResults };
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
  const dirs = { dataDir: join(workspace.dir, "data"), runsDir: join(workspace.dir, "runs") };
  await Deno.mkdir(dirs.runsDir, { recursive: true });
  console.error(`writing the data set under ${dirs.dataDir}…`);
  const workloads = await createWorkloads(dirs.dataDir, options);
  const tools = await setUpTools(options, workspace.dir, facts, cleanup);
  const { results, latencyResults } = await measureAll(workloads, tools, dirs, options);
  const targets = [...checkTargets(results), ...objectStoreTargets(results)];
  const roundTrips = impliedRoundTrips(latencyResults);
  const out = options.out ??
    join(await Deno.makeTempDir({ prefix: "dfos-bench-results-" }), "bench-results.json");
  const finishedAt = new Date().toISOString();
  const json = {
    finishedAt,
    machine: facts,
    options,
    results,
    targets,
    latencyResults,
    roundTrips,
  };
  await Deno.writeTextFile(out, JSON.stringify(json, null, 2) + "\n");
  console.log(`\nDFOS benchmark, ${finishedAt}`);
  console.log(describeMachine(facts, options, workloads));
  if (results.length > 0) console.log(`\n${resultsTable(results)}\n\n${targetsTable(targets)}`);
  if (latencyResults.length > 0) console.log(`\n${latencyTable(latencyResults)}`);
  console.log(`\nJSON results: ${out}`);
}

if (import.meta.main) await main();
