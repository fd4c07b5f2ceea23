/**
 * The shipped systemd unit (packaging/dfos.service): sandboxed well enough
 * for `systemd-analyze security` to rate it 2.5 or lower, and in step with
 * the program: the command it runs, with the sample configuration, is one
 * `dfos server` accepts, and everything that configuration writes is in the
 * folders the unit makes writable.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { dfosCommand } from "../helpers/processes.ts";

const UNIT = new URL("../../packaging/dfos.service", import.meta.url).pathname;
const SAMPLE_CONFIG = new URL("../../packaging/dfos.toml", import.meta.url).pathname;
/** Where the README has the sample configuration installed, and the unit reads it. */
const INSTALLED_CONFIG = "/etc/dfos/dfos.toml";
/** The server exits at most this long after its shutdown grace (README, "Shutdown"). */
const EXIT_AFTER_GRACE_SECONDS = 3;

/** The `[Service]` settings of the unit: each key with its values in order. */
async function serviceSettings(): Promise<Map<string, string[]>> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const line of (await Deno.readTextFile(UNIT)).split("\n")) {
    const header = line.match(/^\[(\w+)\]$/);
    if (header) section = header[1];
    const setting = line.match(/^(\w+)=(.*)$/);
    if (section === "Service" && setting) {
      settings.set(setting[1], [...settings.get(setting[1]) ?? [], setting[2]]);
    }
  }
  return settings;
}

const analyzeOffline = (() => {
  try {
    const help = new Deno.Command("systemd-analyze", { args: ["security", "--help"] })
      .outputSync();
    return new TextDecoder().decode(help.stdout).includes("--offline");
  } catch {
    return false; // Not installed.
  }
})();
if (!analyzeOffline) {
  console.warn(
    "service_unit_test: the exposure score: ignored: no systemd-analyze with --offline (Debian's systemd package)",
  );
}

Deno.test({
  name:
    "systemd-analyze security rates the unit's exposure 2.5 or lower and reads it without a warning",
  ignore: !analyzeOffline,
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command("systemd-analyze", {
      args: ["security", "--offline=true", "--no-pager", UNIT],
      env: { SYSTEMD_COLORS: "0" },
    }).output();
    const report = new TextDecoder().decode(stdout);
    assert.equal(code, 0, report);
    assert.equal(new TextDecoder().decode(stderr), "", "every line of the unit understood");
    const score = report.match(/Overall exposure level for dfos\.service: (\d+\.\d+)/)?.[1];
    assert.ok(score, report);
    console.log(`dfos.service exposure: ${score}`);
    assert.ok(Number(score) <= 2.5, `exposure ${score}\n${report}`);
  },
});

Deno.test("the unit runs dfos as its own user, sandboxed, and stops it with SIGTERM", async () => {
  const settings = await serviceSettings();
  const required: Record<string, string> = {
    User: "dfos",
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    PrivateDevices: "yes",
    ProtectKernelTunables: "yes",
    ProtectKernelModules: "yes",
    ProtectKernelLogs: "yes",
    ProtectControlGroups: "yes",
    ProtectClock: "yes",
    ProtectHostname: "yes",
    RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
    RestrictNamespaces: "yes",
    LockPersonality: "yes",
    RestrictRealtime: "yes",
    RestrictSUIDSGID: "yes",
    SystemCallArchitectures: "native",
    CapabilityBoundingSet: "",
    UMask: "0077",
    // V8's JIT writes the machine code it runs.
    MemoryDenyWriteExecute: "no",
    Restart: "on-failure",
    KillSignal: "SIGTERM",
  };
  for (const [key, value] of Object.entries(required)) {
    assert.deepEqual(settings.get(key), [value], key);
  }
  assert.match(settings.get("SystemCallFilter")![0], /^@system-service\b/);
});

Deno.test("the unit's command with the sample configuration is accepted by the real dfos server", async () => {
  const settings = await serviceSettings();
  const [program, ...args] = settings.get("ExecStart")![0].split(/\s+/);
  assert.equal(program, "/usr/local/bin/dfos");
  assert.deepEqual(args, ["server", "--config", INSTALLED_CONFIG]);
  const sampleArgs = args.map((arg) => arg === INSTALLED_CONFIG ? SAMPLE_CONFIG : arg);
  const run = await dfosCommand([...sampleArgs, "--print-config"]).output();
  const printed = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const effective = parse(printed);
  // What the server writes must be in the folders the unit makes writable.
  const stateDir = `/var/lib/${settings.get("StateDirectory")![0]}`;
  const logsDir = `/var/log/${settings.get("LogsDirectory")![0]}`;
  for (const key of ["storage", "users", "state-dir"]) {
    assert.match(String(effective[key]), new RegExp(`^${stateDir}/`), key);
  }
  assert.equal(effective["log-dir"], logsDir);
  const timeoutStop = Number(settings.get("TimeoutStopSec")![0]);
  const grace = Number(effective["shutdown-grace"]);
  assert.ok(timeoutStop > grace + EXIT_AFTER_GRACE_SECONDS, `TimeoutStopSec ${timeoutStop}`);
});
