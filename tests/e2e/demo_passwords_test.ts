/**
 * The quick start's demo passwords let nobody in from another machine. The
 * server runs as the quick start runs it (0.0.0.0, the shipped users file)
 * inside a network namespace of the test's own, reachable from the test's
 * namespace over a veth pair on a private /30 and nothing else: no packet
 * of it reaches a real interface. A client on the server's loopback is this
 * machine; a client across the veth pair is another one.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { collectText, dfosCommand, readAudit, waitFor } from "../helpers/processes.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const SHIPPED_USERS = new URL("../../id_passwd.txt", import.meta.url).pathname;
const REFUSAL = "demo password: log in from this machine only, or change it with dfos user passwd";

async function run(command: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  try {
    const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
      .output();
    return { ok: result.success, stdout: new TextDecoder().decode(result.stdout) };
  } catch {
    return { ok: false, stdout: "" };
  }
}

/** Whether this process may make network namespaces (root, with `ip netns`). */
async function canMakeNamespaces(): Promise<boolean> {
  const probe = `dfos-probe-${Deno.pid}`;
  if (!(await run("ip", ["netns", "add", probe])).ok) return false;
  return (await run("ip", ["netns", "del", probe])).ok;
}

/** A namespace joined to this one by a veth pair: `inside` is its address there, `outside` ours. */
interface VethNamespace extends AsyncDisposable {
  name: string;
  inside: string;
  outside: string;
}

/** Makes a namespace and a veth pair on a 10.200.x.0/30 that no interface here uses yet. */
async function makeNamespace(): Promise<VethNamespace> {
  const used = (await run("ip", ["-4", "addr"])).stdout;
  let subnet = 0;
  do subnet = Math.floor(Math.random() * 250) + 1; while (used.includes(`10.200.${subnet}.`));
  const tag = `${Deno.pid % 10000}${subnet}`;
  const name = `dfos-demo-${tag}`;
  const [here, there] = [`dfo${tag}a`, `dfo${tag}b`];
  const inside = `10.200.${subnet}.2`;
  const outside = `10.200.${subnet}.1`;
  const steps: [string, string[]][] = [
    ["ip", ["netns", "add", name]],
    ["ip", ["link", "add", here, "type", "veth", "peer", "name", there]],
    ["ip", ["link", "set", there, "netns", name]],
    ["ip", ["addr", "add", `${outside}/30`, "dev", here]],
    ["ip", ["link", "set", here, "up"]],
    ["ip", ["netns", "exec", name, "ip", "addr", "add", `${inside}/30`, "dev", there]],
    ["ip", ["netns", "exec", name, "ip", "link", "set", there, "up"]],
    ["ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"]],
  ];
  const remove = async () => {
    await run("ip", ["netns", "del", name]);
    await run("ip", ["link", "del", here]); // Gone with its peer already, as a rule.
  };
  for (const [command, args] of steps) {
    if (!(await run(command, args)).ok) {
      await remove();
      throw new Error(`could not set up the namespace: ${command} ${args.join(" ")}`);
    }
  }
  const route = (await run("ip", ["route", "get", inside])).stdout;
  assert.match(route, new RegExp(`dev ${here} `), "the namespace is reached over the veth only");
  return { name, inside, outside, [Symbol.asyncDispose]: remove };
}

/** `dfos ARGS` as the binary runs, inside namespace `namespace` (or here, without one). */
function dfosIn(namespace: string | undefined, args: string[], env: Record<string, string> = {}) {
  const dfos = [Deno.execPath(), "run", "--quiet", ...RUNTIME_FLAGS, MAIN, ...args];
  const [command, ...rest] = namespace ? ["ip", "netns", "exec", namespace, ...dfos] : dfos;
  return new Deno.Command(command, {
    args: rest,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
}

const netns = await canMakeNamespaces();
if (!netns) console.warn("demo_passwords_test: skipped, needs root and `ip netns`");

Deno.test({
  name:
    "a demo password logs in from the server's own machine only; another user, or the demo user once the password is changed, logs in from anywhere",
  ignore: !netns, // Needs root and `ip netns` to make a network namespace.
  async fn() {
    await using namespace = await makeNamespace();
    const dir = await Deno.makeTempDir({ prefix: "dfos-demo-" });
    const usersFile = join(dir, "id_passwd.txt");
    await Deno.writeTextFile(
      usersFile,
      `${await Deno.readTextFile(SHIPPED_USERS)}carol:carol-secret\n`,
    );
    const server = dfosIn(namespace.name, [
      "server",
      "--host=0.0.0.0",
      "--port=0",
      `--storage=${join(dir, "storage")}`,
      `--users=${usersFile}`,
      `--log-dir=${join(dir, "logs")}`,
    ]).spawn();
    const log = collectText(server.stderr);
    try {
      const port = await waitFor(
        () => log.text().match(/listening on 0\.0\.0\.0:(\d+)/)?.[1],
        30_000,
        "the server to listen",
      );
      assert.match(
        log.text(),
        /\[WRN\] .*DEMO passwords: alice, bob still have the passwords printed in README\.md, so they may log in from this machine only/,
      );
      const knownHosts = join(dir, "known_hosts");
      const login = async (where: "here" | "afar", user: string, password: string) => {
        const host = where === "here" ? "127.0.0.1" : namespace.inside;
        const args = ["client", `--host=${host}`, `--port=${port}`, `--user=${user}`];
        const trust = [`--known-hosts=${knownHosts}`, "--accept-new-host", "pwd"];
        const inside = where === "here" ? namespace.name : undefined;
        const result = await dfosIn(inside, [...args, ...trust], { DFOS_PASSWORD: password })
          .output();
        return { code: result.code, stderr: new TextDecoder().decode(result.stderr) };
      };

      const refused = await login("afar", "alice", "alice-demo-password");
      assert.equal(refused.code, 3, refused.stderr);
      assert.ok(refused.stderr.includes(REFUSAL), refused.stderr);
      const here = await login("here", "alice", "alice-demo-password");
      assert.equal(here.code, 0, `from loopback: ${here.stderr}`);
      const carol = await login("afar", "carol", "carol-secret");
      assert.equal(carol.code, 0, `not a demo password: ${carol.stderr}`);

      const audit = await readAudit({ logDir: join(dir, "logs") });
      const alice = audit.filter((record) => record.user === "alice" && record.event === "login");
      assert.deepEqual(
        alice.map((record) => [record.result, String(record.remote).split(":")[0]]),
        [
          ["refused: demo password from another machine", namespace.outside],
          ["ok", "127.0.0.1"],
        ],
      );
      assert.match(
        log.text(),
        /refused alice from 10\.200\.\d+\.1:\d+: a demo password is accepted/,
      );

      const passwd = await dfosCommand(["user", "passwd", "alice", `--users=${usersFile}`], {
        stdin: "piped",
      }).spawn();
      const writer = passwd.stdin.getWriter();
      await writer.write(new TextEncoder().encode("alice-own-password\n"));
      await writer.close();
      assert.equal((await passwd.output()).code, 0, "dfos user passwd");
      const changed = await login("afar", "alice", "alice-own-password");
      assert.equal(changed.code, 0, `a changed password: ${changed.stderr}`);
      await waitFor(
        () => log.text().includes("alice no longer has a demo password"),
        10_000,
        "the server to notice the change",
      );
    } finally {
      try {
        server.kill("SIGTERM");
      } catch { /* already gone */ }
      await server.status;
      await log.done;
      await server.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
