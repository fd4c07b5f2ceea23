/**
 * Re-sync benchmark: `dfos client sync` against `rsync -a` over a local
 * sshd, on the same trees in the same run. For each tree size (default
 * 2,000 and 20,000 files of 4 KiB, in folders of 100) both tools first copy
 * the tree (untimed); then each round times a re-sync where nothing changed,
 * and one where 1% of the files were rewritten (the same files for both).
 * Reports medians, DFOS's time as a share of rsync's, and the peak RSS of
 * the DFOS client and server. See BENCHMARKS.md.
 *
 * ```sh
 * ./scripts/deno task bench-sync                  # 2,000 and 20,000 files, 3 rounds
 * ./scripts/deno task bench-sync --files 2000 --rounds 5
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  type CommandLine,
  peakRssBytes,
  startBackground,
  waitForOutput,
} from "./bench/processes.ts";
import { findOpenSshPrograms, type Programs, type Sshd, startSshd } from "./bench/sshd.ts";
import { median } from "./bench/report.ts";
import { addBenchUser, dfos, PASSWORD, rememberServer, USER } from "./bench/dfos_tool.ts";

const FILE_BYTES = 4096;

/** Runs `line`, sampling its peak RSS until it exits; rejects on a non-zero exit. */
async function timed(line: CommandLine): Promise<{ seconds: number; peakRss: number }> {
  const started = performance.now();
  const child = new Deno.Command(line.program, {
    args: line.args,
    env: line.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peakRss = 0;
  let done = false;
  const status = child.output().finally(() => done = true);
  while (!done) {
    peakRss = Math.max(peakRss, (await peakRssBytes(child.pid)) ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = await status;
  const seconds = (performance.now() - started) / 1000;
  if (!result.success) {
    throw new Error(
      `${line.program} ${line.args.join(" ")}: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return { seconds, peakRss };
}

async function writeTree(root: string, files: number): Promise<string[]> {
  const paths: string[] = [];
  for (let index = 0; index < files; index++) {
    const folder = join(root, `d${String(Math.floor(index / 100)).padStart(4, "0")}`);
    if (index % 100 === 0) await Deno.mkdir(folder, { recursive: true });
    const path = join(folder, `f${index}.bin`);
    await Deno.writeFile(path, crypto.getRandomValues(new Uint8Array(FILE_BYTES)));
    paths.push(path);
  }
  return paths;
}

async function rewriteShare(paths: string[], share: number, round: number): Promise<void> {
  const count = Math.max(1, Math.round(paths.length * share));
  for (let index = 0; index < count; index++) {
    const path = paths[(index * 97 + round * 31) % paths.length];
    await Deno.writeFile(path, crypto.getRandomValues(new Uint8Array(FILE_BYTES)));
  }
}

interface Row {
  files: number;
  scenario: string;
  dfos: number;
  rsync: number;
  clientRss: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      files: { type: "string", multiple: true },
      rounds: { type: "string" },
      "no-install": { type: "boolean" },
    },
  });
  const sizes = (values.files ?? ["2000", "20000"]).map(Number);
  const rounds = Number(values.rounds ?? 3);
  const { programs, notes } = await findOpenSshPrograms(!values["no-install"]);
  for (const note of notes) console.error(`note: ${note}`);
  if (!programs.rsync || !programs.ssh || !programs.sshd) {
    console.error("rsync, ssh or sshd is not available: nothing to compare against");
    return 1;
  }
  const dir = await Deno.makeTempDir({ prefix: "dfos-bench-sync-" });
  await using sshd = await startSshd(join(dir, "sshd"), programs);
  const users = join(dir, "users.txt");
  await addBenchUser(users);
  const server = startBackground(dfos([
    "server",
    "--host=127.0.0.1",
    "--port=0",
    `--storage=${join(dir, "storage")}`,
    `--users=${users}`,
    `--log-dir=${join(dir, "logs")}`,
    `--state-dir=${join(dir, "server_state")}`,
  ]));
  const rows: Row[] = [];
  try {
    const port = await waitForOutput(
      server,
      /listening on 127\.0\.0\.1:(\d+)/,
      30_000,
      "the server",
    );
    const knownHosts = join(dir, "known_hosts");
    await rememberServer(knownHosts, Number(port), join(dir, "server_state"));
    const loadBefore = Deno.loadavg();
    for (const files of sizes) {
      rows.push(...await measure(dir, files, rounds, { port, knownHosts, sshd, programs }));
    }
    const serverRss = (await peakRssBytes(server.pid)) ?? 0;
    printTable(rows, serverRss);
    // Other work on the machine moves these figures by a third: say how busy it was.
    const load = (averages: number[]) => averages.map((value) => value.toFixed(2)).join(" ");
    console.log(
      `load average (1, 5, 15 min): ${load(loadBefore)} before, ${load(Deno.loadavg())} after`,
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return 0;
}

interface Setup {
  port: string;
  knownHosts: string;
  sshd: Sshd;
  programs: Programs;
}

async function measure(dir: string, files: number, rounds: number, setup: Setup): Promise<Row[]> {
  const source = join(dir, `tree-${files}`);
  const paths = await writeTree(source, files);
  const rsyncTarget = join(dir, `rsync-${files}`);
  const shell = [setup.programs.ssh, "-p", `${setup.sshd.port}`, ...setup.sshd.sshOptions].join(
    " ",
  );
  const rsync: CommandLine = {
    program: setup.programs.rsync!,
    args: ["-a", "-e", shell, `${source}/`, `127.0.0.1:${rsyncTarget}/`],
  };
  const sync = dfos([
    "client",
    "--host=127.0.0.1",
    `--port=${setup.port}`,
    `--user=${USER}`,
    `--known-hosts=${setup.knownHosts}`,
    "--quiet",
    "sync",
    "--force",
    source,
    `/tree-${files}`,
  ], { DFOS_PASSWORD: PASSWORD, XDG_STATE_HOME: join(dir, "client_state") });
  await timed(rsync);
  await timed(sync);
  const rows: Row[] = [];
  for (const [scenario, share] of [["nothing changed", 0], ["1% changed", 0.01]] as const) {
    const times = { dfos: [] as number[], rsync: [] as number[], rss: 0 };
    for (let round = 0; round < rounds; round++) {
      // Rewritten once, before both runs: each tool finds the same files changed since its own
      // last run, and only those (rewriting another share for DFOS had given it both shares).
      if (share > 0) await rewriteShare(paths, share, round);
      times.rsync.push((await timed(rsync)).seconds);
      const run = await timed(sync);
      times.dfos.push(run.seconds);
      times.rss = Math.max(times.rss, run.peakRss);
    }
    rows.push({
      files,
      scenario,
      dfos: median(times.dfos),
      rsync: median(times.rsync),
      clientRss: times.rss,
    });
    console.error(
      `${files} files, ${scenario}: dfos ${
        times.dfos.map((t) => t.toFixed(2)).join(" ")
      } s, rsync ${times.rsync.map((t) => t.toFixed(2)).join(" ")} s`,
    );
  }
  return rows;
}

function printTable(rows: Row[], serverRss: number): void {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  console.log("| files | re-sync | DFOS | rsync -a | DFOS / rsync | DFOS client peak RSS |");
  console.log("| ----- | ------- | ---- | -------- | ------------ | -------------------- |");
  for (const row of rows) {
    const ratio = row.dfos / row.rsync;
    console.log(
      `| ${row.files} | ${row.scenario} | ${row.dfos.toFixed(2)} s | ${row.rsync.toFixed(2)} s | ` +
        `${ratio.toFixed(2)} | ${mib(row.clientRss)} |`,
    );
  }
  console.log(`\nDFOS server peak RSS over the whole run: ${mib(serverRss)}`);
}

if (import.meta.main) Deno.exit(await main());
