/**
 * scp, sftp and rsync as {@link BenchTool}s, each against the benchmark's
 * own sshd on 127.0.0.1 with OpenSSH's default ciphers. One process per
 * unit, all started together for the concurrent workload.
 *
 * @module
 */

import { join } from "node:path";
import type { Programs, Sshd } from "./sshd.ts";
import { type CommandLine, timeCommands } from "./processes.ts";
import type { BenchTool, Measurement, RunPaths, Unit, Workload } from "./workloads.ts";

const HOST = "127.0.0.1";

/** Builds the command that moves one unit, given where it comes from and goes to. */
type UnitCommand = (unit: Unit, source: Endpoint, target: Endpoint, runDir: string) =>
  | CommandLine
  | Promise<CommandLine>;

/** A path, on the sshd side (`remote`) or this side. */
interface Endpoint {
  path: string;
  remote: boolean;
}

class OpenSshTool implements BenchTool {
  readonly name: string;
  #command: UnitCommand;

  constructor(name: string, command: UnitCommand) {
    this.name = name;
    this.#command = command;
  }

  remoteDir(runDir: string): string {
    return join(runDir, "remote");
  }

  async run(workload: Workload, paths: RunPaths): Promise<Measurement> {
    const upload = workload.direction === "upload";
    const lines = await Promise.all(workload.units.map((unit, index) => {
      const local = join(upload ? paths.dataDir : paths.localDir, unit.name);
      const remote = join(paths.remoteDir, unit.name);
      const source = { path: upload ? local : remote, remote: !upload };
      const target = { path: upload ? remote : local, remote: upload };
      return this.#command(unit, source, target, join(paths.runDir, `batch-${index}`));
    }));
    return { seconds: await timeCommands(lines) };
  }
}

/** The scp, sftp and rsync tools for the programs that are installed. */
export function createOpenSshTools(sshd: Sshd, programs: Programs): BenchTool[] {
  const tools: BenchTool[] = [];
  const portOptions = ["-P", `${sshd.port}`];
  if (programs.scp) {
    tools.push(
      new OpenSshTool("scp", (unit, source, target) => ({
        program: programs.scp!,
        args: [
          "-q",
          ...portOptions,
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
      new OpenSshTool("sftp", async (unit, source, target, batchFile) => {
        const recursive = unit.kind === "tree" ? "-r " : "";
        const verb = target.remote ? "put" : "get";
        await Deno.writeTextFile(batchFile, `${verb} ${recursive}${source.path} ${target.path}\n`);
        return {
          program: programs.sftp!,
          args: ["-q", ...portOptions, ...sshd.sshOptions, "-b", batchFile, HOST],
        };
      }),
    );
  }
  if (programs.rsync && programs.ssh) {
    const shell = [programs.ssh, "-p", `${sshd.port}`, ...sshd.sshOptions].join(" ");
    tools.push(
      new OpenSshTool("rsync", (unit, source, target) => {
        const slash = unit.kind === "tree" ? "/" : "";
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
