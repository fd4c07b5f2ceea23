/**
 * A throwaway OpenSSH server for the scp/sftp/rsync rows: installs the
 * Debian packages when allowed, makes a host key and a client key in a
 * temp folder, runs `/usr/sbin/sshd -D -e -f CONFIG` on 127.0.0.1 on a free
 * port, and stops it when disposed. Ciphers are OpenSSH's defaults.
 *
 * @module
 */

import { join } from "node:path";
import {
  type BackgroundProcess,
  findProgram,
  freeLoopbackPort,
  runText,
  startBackground,
  tryText,
  waitFor,
} from "./processes.ts";

/** Which Debian package provides each program the ssh rows need. */
const PACKAGES: Record<string, string> = {
  sshd: "openssh-server",
  ssh: "openssh-client",
  scp: "openssh-client",
  sftp: "openssh-client",
  "ssh-keygen": "openssh-client",
  rsync: "rsync",
};

/** Programs found, by name; a missing one is absent. */
export type Programs = Partial<Record<keyof typeof PACKAGES, string>>;

/** Looks for the programs; installs missing ones with apt-get when `install` and root. */
export async function findOpenSshPrograms(install: boolean): Promise<{
  programs: Programs;
  notes: string[];
}> {
  const notes: string[] = [];
  let programs = await lookUp();
  const missing = Object.keys(PACKAGES).filter((name) => !programs[name]);
  if (missing.length === 0) return { programs, notes };
  const aptGet = await findProgram("apt-get");
  if (!install) notes.push(`not installing ${missing.join(", ")} (--no-install)`);
  else if (Deno.uid() !== 0 || !aptGet) {
    notes.push(`cannot install ${missing.join(", ")}: needs root and apt-get`);
  } else {
    const packages = [...new Set(missing.map((name) => PACKAGES[name]))];
    console.error(`installing ${packages.join(" ")} with apt-get…`);
    try {
      await aptInstall(aptGet, packages);
      notes.push(`installed ${packages.join(", ")} with apt-get`);
    } catch (error) {
      notes.push(`apt-get install ${packages.join(" ")} failed: ${firstLine(error)}`);
    }
    programs = await lookUp();
  }
  return { programs, notes };
}

async function lookUp(): Promise<Programs> {
  const programs: Programs = {};
  for (const name of Object.keys(PACKAGES)) {
    const found = name === "sshd"
      ? await Deno.stat("/usr/sbin/sshd").then(() => "/usr/sbin/sshd", () => undefined)
      : await findProgram(name);
    if (found) programs[name] = found;
  }
  return programs;
}

/** Installs with a temporary policy-rc.d so the package does not start a system sshd. */
async function aptInstall(aptGet: string, packages: string[]): Promise<void> {
  const policy = "/usr/sbin/policy-rc.d";
  const ownPolicy = !(await Deno.stat(policy).then(() => true, () => false));
  if (ownPolicy) await Deno.writeTextFile(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await runText({ program: aptGet, args: ["update", "-qq"], env });
    await runText({
      program: aptGet,
      args: ["install", "-y", "-qq", "--no-install-recommends", ...packages],
      env,
    });
  } finally {
    if (ownPolicy) await Deno.remove(policy).catch(() => {});
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

/** A running sshd and how to reach it. */
export interface Sshd extends AsyncDisposable {
  port: number;
  /** `ssh` options every client passes (port excluded). */
  sshOptions: string[];
  /** The cipher negotiated with the defaults, e.g. `chacha20-poly1305@openssh.com`. */
  cipher: string | undefined;
}

/** Starts sshd on 127.0.0.1 with throwaway keys under `dir`. */
export async function startSshd(dir: string, programs: Programs): Promise<Sshd> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const keygen = programs["ssh-keygen"]!;
  const hostKey = join(dir, "host_ed25519");
  const clientKey = join(dir, "client_ed25519");
  for (const key of [hostKey, clientKey]) {
    await runText({ program: keygen, args: ["-q", "-t", "ed25519", "-N", "", "-f", key] });
  }
  await Deno.copyFile(`${clientKey}.pub`, join(dir, "authorized_keys"));
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const port = freeLoopbackPort();
  const config = join(dir, "sshd_config");
  await Deno.writeTextFile(config, sshdConfig(dir, port, hostKey, programs.sshd!));
  await runText({ program: programs.sshd!, args: ["-t", "-f", config] });
  const daemon = startBackground({ program: programs.sshd!, args: ["-D", "-e", "-f", config] });
  try {
    await waitUntilAccepting(port, daemon);
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  const sshOptions = [
    "-F",
    "/dev/null",
    "-i",
    clientKey,
    ...["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "BatchMode=yes"]
      .flatMap((option) => ["-o", option]),
    ...["IdentitiesOnly=yes", "LogLevel=ERROR"].flatMap((option) => ["-o", option]),
  ];
  const cipher = await negotiatedCipher(programs.ssh!, port, sshOptions);
  return {
    port,
    sshOptions,
    cipher,
    async [Symbol.asyncDispose]() {
      await daemon.stop();
    },
  };
}

function sshdConfig(dir: string, port: number, hostKey: string, sshd: string): string {
  const sftpServer = "/usr/lib/openssh/sftp-server";
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "StrictModes no",
    "UsePAM no",
    "MaxStartups 200",
    "MaxSessions 200",
    "LogLevel ERROR",
    `Subsystem sftp ${sshd.startsWith("/usr/sbin") ? sftpServer : "internal-sftp"}`,
    "",
  ].join("\n");
}

async function waitUntilAccepting(port: number, daemon: BackgroundProcess): Promise<void> {
  let exited = false;
  daemon.exited.then(() => exited = true);
  await waitFor(
    async () => {
      if (exited) throw new Error(`sshd exited: ${daemon.output()}`);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
      conn?.close();
      return conn ? true : undefined;
    },
    15_000,
    "sshd to accept connections",
  );
}

async function negotiatedCipher(ssh: string, port: number, options: string[]) {
  const verbose = options.map((option) => option === "LogLevel=ERROR" ? "LogLevel=DEBUG" : option);
  const text = await tryText({
    program: ssh,
    args: ["-p", `${port}`, ...verbose, "127.0.0.1", "true"],
  });
  return text?.match(/kex: server->client cipher: (\S+)/)?.[1];
}

/** "OpenSSH_9.2p1 …" and "rsync version 3.2.7 …", for the machine facts. */
export async function toolVersions(programs: Programs): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  if (programs.ssh) {
    const text = await tryText({ program: programs.ssh, args: ["-V"] });
    if (text) versions.openssh = text.trim().split("\n")[0];
  }
  if (programs.rsync) {
    const text = await tryText({ program: programs.rsync, args: ["--version"] });
    if (text) versions.rsync = text.trim().split("\n")[0].replace(/\s+/g, " ");
  }
  return versions;
}
