/**
 * The README's client synopsis and options table against the client's own
 * `--help`: every option the program takes is in both, so the README cannot
 * leave one out again (as it once did `--limit-rate` and `-C`).
 */

import assert from "node:assert/strict";
import { dfosCommand } from "../helpers/processes.ts";

const README = new URL("../../README.md", import.meta.url);

/** The options `dfos client --help` lists, each as its flags: ["-u", "--user"]. */
async function clientOptions(): Promise<string[][]> {
  const { code, stdout } = await dfosCommand(["client", "--help"]).output();
  assert.equal(code, 0);
  const lines = new TextDecoder().decode(stdout).split("\n");
  return lines.map((line) => line.match(/^ {2}((?:-\w, )?--[\w-]+)/)?.[1])
    .filter((flags): flags is string => flags !== undefined && flags !== "-h, --help")
    .map((flags) => flags.split(", "));
}

/** The README's client section: its synopsis block and its options table. */
async function clientSection(): Promise<{ synopsis: string; table: string }> {
  const text = await Deno.readTextFile(README);
  const section = text.slice(text.indexOf("## The client"), text.indexOf("### Commands"));
  const synopsis = section.match(/```text\n(\.\/dfos client [\s\S]*?)```/)?.[1];
  assert.ok(synopsis, "the client synopsis block");
  const table = section.split("\n").filter((line) => line.startsWith("| `-")).join("\n");
  return { synopsis, table };
}

Deno.test("the README's client synopsis and options table name every option of dfos client --help", async () => {
  const options = await clientOptions();
  assert.ok(options.some((flags) => flags.includes("--limit-rate")), "the help was read");
  const { synopsis, table } = await clientSection();
  for (const flags of options) {
    const named = (text: string) => flags.some((flag) => new RegExp(`${flag}\\b`).test(text));
    assert.ok(named(synopsis), `the synopsis names ${flags.join(", ")}`);
    assert.ok(named(table), `the options table names ${flags.join(", ")}`);
  }
});
