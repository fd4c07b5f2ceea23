import assert from "node:assert/strict";
import { parseCommandArgs } from "../../src/client/command.ts";
import { UsageError } from "../../src/client/errors.ts";

const GET = { name: "get", usage: "get [-f] [--to <dir>] <remote> [local]" };
const GET_OPTIONS = {
  force: { type: "boolean", short: "f" },
  to: { type: "string" },
} as const;

function assertUsage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
    assert.match(error.message, /usage: get \[-f\]/);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("parseCommandArgs returns flags and positionals within the counts", () => {
  const parsed = parseCommandArgs(
    GET,
    ["-f", "remote.txt", "--to", "out", "local.txt"],
    GET_OPTIONS,
    {
      min: 1,
      max: 2,
    },
  );
  assert.equal(parsed.values.force, true);
  assert.equal(parsed.values.to, "out");
  assert.deepEqual(parsed.positionals, ["remote.txt", "local.txt"]);
  const dashed = parseCommandArgs(GET, ["--", "-odd-name"], GET_OPTIONS, { min: 1, max: 2 });
  assert.deepEqual(dashed.positionals, ["-odd-name"]);
});

Deno.test("an unknown flag is a UsageError that shows the usage", () => {
  assertUsage(() => parseCommandArgs(GET, ["-x", "a"], GET_OPTIONS, { min: 1, max: 2 }), /-x/);
  assertUsage(
    () => parseCommandArgs(GET, ["--force=yes", "a"], GET_OPTIONS, { min: 1, max: 2 }),
    /force/,
  );
});

Deno.test("a file name that starts with '-' is named as such, with the two ways to pass it", () => {
  for (const args of [["-dash.txt"], ["-f", "-dash.txt"], ["a", "-dash.txt"]]) {
    assertUsage(
      () => parseCommandArgs(GET, args, GET_OPTIONS, { min: 1, max: 2 }),
      /^"-dash\.txt" looks like an option; to name a file that starts with "-", write \.\/-dash\.txt or put -- before it; usage: /,
    );
  }
  assertUsage(
    () => parseCommandArgs(GET, ["--notes.md"], GET_OPTIONS, { min: 1, max: 2 }),
    /"--notes\.md" looks like an option/,
  );
  assertUsage(
    () => parseCommandArgs(GET, ["-x", "a"], GET_OPTIONS, { min: 1, max: 2 }),
    /^unknown option -x; usage: /,
  );
  assertUsage(
    () => parseCommandArgs(GET, ["--bogus", "a"], GET_OPTIONS, { min: 1, max: 2 }),
    /^unknown option --bogus; usage: /,
  );
  const after = parseCommandArgs(GET, ["-f", "--", "-dash.txt"], GET_OPTIONS, { min: 1, max: 2 });
  assert.deepEqual(after.positionals, ["-dash.txt"]);
});

Deno.test("a string flag without its value is a UsageError", () => {
  assertUsage(() => parseCommandArgs(GET, ["a", "--to"], GET_OPTIONS, { min: 1, max: 2 }), /to/);
});

Deno.test("too few or too many positionals is a UsageError that shows the usage", () => {
  assertUsage(() => parseCommandArgs(GET, [], GET_OPTIONS, { min: 1, max: 2 }), /^usage: /);
  assertUsage(() => parseCommandArgs(GET, ["-f"], GET_OPTIONS, { min: 1, max: 2 }), /^usage: /);
  assertUsage(
    () => parseCommandArgs(GET, ["a", "b", "c"], GET_OPTIONS, { min: 1, max: 2 }),
    /^usage: /,
  );
  assertUsage(() => parseCommandArgs(GET, ["a"]), /^usage: /);
  assert.deepEqual(parseCommandArgs(GET, []).positionals, []);
});
