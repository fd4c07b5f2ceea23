/**
 * Two network namespaces of the test's own, joined by a veth pair and to
 * nothing else: multicast sent in one reaches the other and can reach no
 * interface of the machine. For discovery tests, which must never send a
 * packet anywhere but there. Needs root and `ip netns`.
 *
 * @module
 */

import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Runs a command to its end; never throws (ok is false when it could not run or failed). */
export async function run(
  command: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const result = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: result.success,
      stdout: decoder.decode(result.stdout),
      stderr: decoder.decode(result.stderr),
    };
  } catch (error) {
    return { ok: false, stdout: "", stderr: String(error) };
  }
}

/** Whether this process may make network namespaces (root, with `ip netns`). */
export async function canMakeNamespaces(): Promise<boolean> {
  const probe = `dfos-probe-${Deno.pid}-${crypto.randomUUID().slice(0, 6)}`;
  if (!(await run("ip", ["netns", "add", probe])).ok) return false;
  return (await run("ip", ["netns", "del", probe])).ok;
}

/** One end of the pair: a namespace, and its address on the veth. */
export interface LinkedNamespace {
  name: string;
  address: string;
}

/** The two namespaces; dispose to delete them (and with them the veth pair). */
export interface NamespacePair extends AsyncDisposable {
  a: LinkedNamespace;
  b: LinkedNamespace;
  /** Makes another namespace with only loopback: no interface for multicast. */
  lonely(): Promise<string>;
}

let pairs = 0;

/** Makes namespaces A (10.201.0.1/24) and B (10.201.0.2/24) joined by a multicast-enabled veth. */
export async function makeNamespacePair(): Promise<NamespacePair> {
  const tag = `${Deno.pid}-${++pairs}-${crypto.randomUUID().slice(0, 6)}`;
  const a = { name: `dfos-disc-${tag}-a`, address: "10.201.0.1" };
  const b = { name: `dfos-disc-${tag}-b`, address: "10.201.0.2" };
  const made: string[] = [];
  const remove = async () => {
    for (const name of made) await run("ip", ["netns", "del", name]);
  };
  const inside = (ns: string, ...args: string[]): [string, string[]] => ["ip", ["-n", ns, ...args]];
  const steps: [string, string[]][] = [
    ["ip", [
      "link",
      "add",
      "veth0",
      "netns",
      a.name,
      "type",
      "veth",
      "peer",
      "name",
      "veth0",
      "netns",
      b.name,
    ]],
    ...[a, b].flatMap((end) => [
      inside(end.name, "addr", "add", `${end.address}/24`, "dev", "veth0"),
      inside(end.name, "link", "set", "veth0", "multicast", "on", "up"),
      inside(end.name, "link", "set", "lo", "up"),
    ]),
  ];
  try {
    for (const end of [a, b]) {
      if (!(await run("ip", ["netns", "add", end.name])).ok) {
        throw new Error(`ip netns add ${end.name}`);
      }
      made.push(end.name);
    }
    for (const [command, args] of steps) {
      const result = await run(command, args);
      if (!result.ok) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
    }
  } catch (error) {
    await remove();
    throw new Error(`could not set up the namespaces: ${(error as Error).message}`);
  }
  return {
    a,
    b,
    async lonely() {
      const name = `dfos-disc-${tag}-c${made.length}`;
      if (!(await run("ip", ["netns", "add", name])).ok) throw new Error(`ip netns add ${name}`);
      made.push(name);
      await run("ip", ["-n", name, "link", "set", "lo", "up"]);
      return name;
    },
    [Symbol.asyncDispose]: remove,
  };
}

/** `dfos ARGS` run as the binary runs, inside namespace `namespace`. */
export function dfosInNamespace(
  namespace: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Deno.Command {
  return new Deno.Command("ip", {
    args: ["netns", "exec", namespace, ...dfosWords(args)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
    ...options,
  });
}

/** The words that run `dfos ARGS` as the binary runs (for `ip netns exec`, or a terminal). */
export function dfosWords(args: string[]): string[] {
  return [Deno.execPath(), "run", "--quiet", ...RUNTIME_FLAGS, MAIN, ...args];
}
