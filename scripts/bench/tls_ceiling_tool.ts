/**
 * The "bare Deno TLS socket" ceiling as a {@link BenchTool}: tls_server.ts
 * and tls_client.ts run as separate Deno processes, one server per run and
 * one client process per unit, moving the same bytes file to file with
 * 256 KiB reads and nothing else (no protocol, no hashing, no fsync).
 * Its "+ SHA-256" variant also hashes every byte on both ends and checks the
 * digest, as DFOS must: the ceiling for a verified copy.
 *
 * @module
 */

import { join } from "node:path";
import { SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { createSelfSignedCertificate } from "../../src/transport/certificate_x509.ts";
import {
  childrenCpuSeconds,
  type CommandLine,
  cpuSeconds,
  cpuSince,
  peakRssBytes,
  runText,
  startBackground,
  timeCommands,
  waitForOutput,
} from "./processes.ts";
import type { Manifest } from "./tls_stream.ts";
import type { BenchTool, Measurement, RunPaths, Workload } from "./workloads.ts";

const SERVER_SCRIPT = new URL("./tls_server.ts", import.meta.url).pathname;
const CLIENT_SCRIPT = new URL("./tls_client.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"];

/** The ceiling's name in the results, with or without end-to-end SHA-256. */
export function ceilingName(sha256: boolean): string {
  return sha256 ? "bare TLS socket + SHA-256" : "bare TLS socket";
}

/**
 * Creates the certificate the ceiling serves and warms Deno's module cache;
 * with `sha256`, the variant that hashes and verifies every file.
 */
export async function createTlsCeiling(workDir: string, sha256 = false): Promise<BenchTool> {
  const { certPem, keyPem } = await createSelfSignedCertificate("DFOS benchmark ceiling");
  const prefix = sha256 ? "ceiling_sha256" : "ceiling";
  const cert = join(workDir, `${prefix}_cert.pem`);
  const key = join(workDir, `${prefix}_key.pem`);
  await Deno.writeTextFile(cert, certPem);
  await Deno.writeTextFile(key, keyPem, { mode: 0o600 });
  for (const script of [SERVER_SCRIPT, CLIENT_SCRIPT]) {
    await runText(denoRun(script, ["--help"]));
  }
  return new TlsCeiling(cert, key, sha256);
}

function denoRun(script: string, args: string[]): CommandLine {
  return { program: Deno.execPath(), args: ["run", "--quiet", ...PERMISSIONS, script, ...args] };
}

class TlsCeiling implements BenchTool {
  readonly name: string;
  readonly relayed = false;
  #cert: string;
  #key: string;
  #sha256: boolean;

  constructor(cert: string, key: string, sha256: boolean) {
    this.name = ceilingName(sha256);
    this.#cert = cert;
    this.#key = key;
    this.#sha256 = sha256;
  }

  remoteDir(runDir: string): string {
    return join(runDir, "remote");
  }

  async run(workload: Workload, paths: RunPaths): Promise<Measurement> {
    const manifestPath = join(paths.runDir, "manifest.json");
    const manifest: Manifest = {
      groups: workload.units.map((unit) => unit.files.map(({ path, size }) => ({ path, size }))),
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));
    const server = startBackground(denoRun(SERVER_SCRIPT, [
      `--cert=${this.#cert}`,
      `--key=${this.#key}`,
      `--manifest=${manifestPath}`,
      `--root=${paths.remoteDir}`,
    ]));
    try {
      const port = await waitForOutput(
        server,
        /^PORT (\d+)$/m,
        20_000,
        "the TLS ceiling server listened",
      );
      const op = workload.direction === "upload" ? "put" : "get";
      const root = workload.direction === "upload" ? paths.dataDir : paths.localDir;
      const clients = workload.units.map((_, group) =>
        denoRun(CLIENT_SCRIPT, [
          `--port=${port}`,
          `--ca=${this.#cert}`,
          `--name=${SERVER_CERT_NAME}`,
          `--manifest=${manifestPath}`,
          `--op=${op}`,
          `--group=${group}`,
          `--root=${root}`,
          ...(this.#sha256 ? ["--sha256"] : []),
        ])
      );
      const serverCpuBefore = await cpuSeconds(server.pid);
      const cpuBefore = await childrenCpuSeconds();
      const seconds = await timeCommands(clients);
      return {
        seconds,
        clientCpuSeconds: await childrenCpuSeconds() - cpuBefore,
        serverPeakRssBytes: await peakRssBytes(server.pid),
        serverCpuSeconds: await cpuSince(server.pid, serverCpuBefore),
      };
    } finally {
      await server.stop();
    }
  }
}
