/**
 * scp, sftp and rsync as {@link BenchTool}s, each against the benchmark's
 * own sshd on 127.0.0.1 with OpenSSH's default ciphers. One process per
 * unit, all started together for the concurrent workload. For a latency
 * workload they connect through a delaying relay in front of that sshd.
 *
 * @module
 */

import { join } from "node:path";
import type { Programs, Sshd } from "./sshd.ts";
import { type CommandLine, timeCommands } from "./processes.ts";
import { startDelayRelay } from "./delay_relay.ts";
import type { BenchTool, Measurement, RunOptions, RunPaths, Unit, Workload } from "./workloads.ts";

const HOST = "127.0.0.1";

/** Builds the command that moves one unit, given where it comes from and goes to. */
type UnitCommand = (unit: Unit, transfer: Transfer) => CommandLine | Promise<CommandLine>;

/** One unit's move: its ends, the sshd port to connect to, a scratch file for a batch. */
interface Transfer {
  source: Endpoint;
  target: Endpoint;
  port: number;
  batchFile: string;
}

/** A path, on the sshd side (`remote`) or this side. */
interface Endpoint {
  path: string;
  remote: boolean;
}

class OpenSshTool implements BenchTool {
  readonly name: string;
  readonly relayed = true;
  #sshdPort: number;
  #command: UnitCommand;

  constructor(name: string, sshdPort: number, command: UnitCommand) {
    this.name = name;
    this.#sshdPort = sshdPort;
    this.#command = command;
  }

  remoteDir(runDir: string): string {
    return join(runDir, "remote");
  }

  async run(workload: Workload, paths: RunPaths, options: RunOptions = {}): Promise<Measurement> {
    await using relay = workload.rttMs === undefined
      ? undefined
      : startDelayRelay(this.#sshdPort, { rttMs: workload.rttMs });
    const port = relay?.port ?? this.#sshdPort;
    const upload = workload.direction === "upload";
    const lines = await Promise.all(workload.units.map((unit, index) => {
      const local = join(upload ? paths.dataDir : paths.localDir, unit.name);
      const remote = join(paths.remoteDir, unit.name);
      const source = { path: upload ? local : remote, remote: !upload };
      const target = { path: upload ? remote : local, remote: upload };
      const batchFile = join(paths.runDir, `batch-${index}`);
      return this.#command(unit, { source, target, port, batchFile });
    }));
    return { seconds: await timeCommands(lines, options) };
  }
}

/** The scp, sftp and rsync tools for the programs that are installed. */
export function createOpenSshTools(sshd: Sshd, programs: Programs): BenchTool[] {
  const tools: BenchTool[] = [];
  if (programs.scp) {
    tools.push(
      new OpenSshTool("scp", sshd.port, (unit, { source, target, port }) => ({
        program: programs.scp!,
        args: [
          "-q",
          "-P",
          `${port}`,
          ...sshd.sshOptions,
          ...(unit.kind === "tree" ? ["-r"] : []),
          address(source),
          address(target),
        ],
      })),
    );
  }
  if (programs.sftp) {
    tools.push(
      new OpenSshTool("sftp", sshd.port, async (unit, { source, target, port, batchFile }) => {
        const recursive = unit.kind === "tree" ? "-r " : "";
        const verb = target.remote ? "put" : "get";
        await Deno.writeTextFile(batchFile, `${verb} ${recursive}${source.path} ${target.path}\n`);
        return {
          program: programs.sftp!,
          args: ["-q", "-P", `${port}`, ...sshd.sshOptions, "-b", batchFile, HOST],
        };
      }),
    );
  }
  if (programs.rsync && programs.ssh) {
    tools.push(
      new OpenSshTool("rsync", sshd.port, (unit, { source, target, port }) => {
        const slash = unit.kind === "tree" ? "/" : "";
        const shell = [programs.ssh, "-p", `${port}`, ...sshd.sshOptions].join(" ");
        return {
          program: programs.rsync!,
          args: ["-a", "-e", shell, address(source) + slash, address(target) + slash],
        };
      }),
    );
  }
  return tools;
}

function address(endpoint: Endpoint): string {
  return endpoint.remote ? `${HOST}:${endpoint.path}` : endpoint.path;
}
