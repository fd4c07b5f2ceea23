/**
 * Every command in README.md's `sh` blocks runs as written and does what the
 * README says (tests/helpers/readme_runner.ts), so the README cannot drift
 * from the program. The README's server listens on its default port, 33000:
 * the run happens in a network namespace of its own (only loopback, nothing
 * else from the machine in it), so it meets no other server and no other run.
 */

import assert from "node:assert/strict";
import { readmeBlocks } from "../helpers/readme_commands.ts";

const REPOSITORY = new URL("../..", import.meta.url).pathname;
const RUNNER = new URL("../helpers/readme_runner.ts", import.meta.url).pathname;

/** Ways to get a network namespace: as root, or as anyone through a user namespace. */
const NAMESPACES = [["unshare", "--net"], ["unshare", "--net", "--map-root-user"]];

/** The first way that gives a namespace with loopback up here, or why none does. */
async function findNamespace(): Promise<string[] | string> {
  const failures: string[] = [];
  for (const namespace of NAMESPACES) {
    const probe = await new Deno.Command(namespace[0], {
      args: [...namespace.slice(1), "ip", "link", "set", "lo", "up"],
      stdout: "null",
      stderr: "piped",
    }).output().catch((error) => error as Error);
    if (!(probe instanceof Error) && probe.success) return namespace;
    const why = probe instanceof Error ? probe.message : new TextDecoder().decode(probe.stderr);
    failures.push(`${namespace.join(" ")} ip link set lo up: ${why.trim()}`);
  }
  return `no network namespace with loopback here (${failures.join("; ")})`;
}

const namespace = await findNamespace();
if (typeof namespace === "string") console.warn(`README commands test ignored: ${namespace}`);

Deno.test({
  name: "every command in README.md runs as written and does what the README says",
  ignore: typeof namespace === "string",
  async fn() {
    const [program, ...options] = namespace as string[];
    const { code, stdout, stderr } = await new Deno.Command(program, {
      args: [
        ...options,
        "bash",
        "-c",
        'ip link set lo up && exec "$@"',
        "bash",
        Deno.execPath(),
        "run",
        "--quiet",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        RUNNER,
        REPOSITORY,
      ],
      stdin: "null",
      signal: AbortSignal.timeout(300_000),
    }).output();
    const report = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, report);
    assert.match(report, /^ok +README\.md:\d+ +\.\/dfos server$/m, report);
  },
});

Deno.test("README blocks: each sh line is a command, run as its comment says", () => {
  const blocks = readmeBlocks([
    "text",
    '<!-- readme-test: background until "listening on" -->',
    "",
    "```sh",
    "./dfos server",
    "```",
    "```text",
    "not a command",
    "```",
    "```sh",
    "# a comment",
    "./dfos user list   # names",
    "./dfos client \\",
    "  --user alice ls",
    "```",
    "<!-- readme-test: terminal",
    '  "password:" secret word',
    "-->",
    "```bash",
    "./dfos client",
    "```",
    "<!-- readme-test: skip: needs a denort -->",
    "```sh",
    "DENORT_BIN=/x ./scripts/deno task compile",
    "```",
    "<!-- readme-test: exit 2 -->",
    "```sh",
    "./dfos",
    "```",
    '<!-- readme-test: background until "ready", stopped by a later command -->',
    "```sh",
    "./dfos server --port 40000",
    "```",
  ].join("\n"));
  assert.deepEqual(blocks.map((block) => block.mode), [
    { kind: "background", readyText: "listening on", stoppedLater: false },
    { kind: "run", exitCode: 0 },
    { kind: "terminal", dialogue: [{ text: "password:", keys: "secret word" }] },
    { kind: "skip", reason: "needs a denort" },
    { kind: "run", exitCode: 2 },
    { kind: "background", readyText: "ready", stoppedLater: true },
  ]);
  assert.deepEqual(blocks[1].commands, [
    { line: 12, text: "./dfos user list   # names" },
    { line: 13, text: "./dfos client --user alice ls" },
  ]);
  assert.deepEqual(blocks[0].commands, [{ line: 5, text: "./dfos server" }]);
});

Deno.test("README blocks: a comment the test cannot follow is an error, not a silent pass", () => {
  const cases = {
    "<!-- readme-test: sometimes -->\n```sh\nls\n```": /not understood/,
    "<!-- readme-test: ci -->\nsome text\n```sh\nls\n```": /not before a sh block/,
    '<!-- readme-test: background until "x" -->\n```sh\na\nb\n```': /holds one command/,
    "<!-- readme-test: terminal\n  password: secret\n-->\n```sh\na\n```": /"TEXT" KEYS/,
    "```sh\nls\n": /unclosed code block/,
    "```\n./dfos discover\n```": /no language: sh for commands, text otherwise/,
  };
  for (const [markdown, error] of Object.entries(cases)) {
    assert.throws(() => readmeBlocks(markdown), error, markdown);
  }
});

Deno.test("README.md itself has sh blocks, the quick start's server among them", async () => {
  const blocks = readmeBlocks(await Deno.readTextFile(`${REPOSITORY}/README.md`));
  const server = blocks.find((block) => block.commands[0]?.text === "./dfos server");
  assert.equal(server?.mode.kind, "background");
  assert.ok(blocks.flatMap((block) => block.commands).length >= 10);
});
