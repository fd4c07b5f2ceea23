import assert from "node:assert/strict";
import { argumentSide, completeLine, type NameLister } from "../../src/client/completion.ts";

/** Names on each side, by directory ("" is the working directory). */
const FILES = {
  remote: {
    "": ["report 2026.pdf", "reports/", "it's.txt", "remote-only.txt"],
    "reports/": ["q1 final.pdf", "q2.pdf"],
  },
  local: { "": ["report 2026.pdf", "local-only.txt", 'say "hi".txt'] },
} as const;

const lister: NameLister = (side, dir) =>
  Promise.resolve([...(FILES[side] as Record<string, readonly string[]>)[dir] ?? []]);

Deno.test("a name with spaces completes with backslashes that the parser reads back", async () => {
  assert.deepEqual(await completeLine("cat rep", lister), [
    ["report\\ 2026.pdf", "reports/"],
    "rep",
  ]);
  assert.deepEqual(await completeLine("cat reports/q1", lister), [
    ["reports/q1\\ final.pdf"],
    "reports/q1",
  ]);
});

Deno.test("inside an open quote a completed file name closes the quote; a directory leaves it open", async () => {
  assert.deepEqual(await completeLine(`cat "report`, lister), [
    [`"report 2026.pdf"`, `"reports/`],
    `"report`,
  ]);
  assert.deepEqual(await completeLine(`cat 'it`, lister), [[`'it'\\''s.txt'`], `'it`]);
  assert.deepEqual(await completeLine(`put "say`, lister), [[`"say \\"hi\\".txt"`], `"say`]);
});

Deno.test("what is typed is read with its escapes: a backslash-space matches a space", async () => {
  assert.deepEqual(await completeLine("get report\\ 2", lister), [
    ["report\\ 2026.pdf"],
    "report\\ 2",
  ]);
  assert.deepEqual(await completeLine("get 'reports/'q", lister), [
    ["'reports/'q1\\ final.pdf", "'reports/'q2.pdf"],
    "'reports/'q",
  ]);
});

Deno.test("each argument completes on the side it names", async () => {
  assert.deepEqual((await completeLine("put loc", lister))[0], ["local-only.txt"]);
  assert.deepEqual((await completeLine("put local-only.txt rem", lister))[0], ["remote-only.txt"]);
  assert.deepEqual((await completeLine("get rem", lister))[0], ["remote-only.txt"]);
  assert.deepEqual((await completeLine("get remote-only.txt loc", lister))[0], ["local-only.txt"]);
  assert.deepEqual((await completeLine("lls loc", lister))[0], ["local-only.txt"]);
  assert.deepEqual((await completeLine("mv rem", lister))[0], ["remote-only.txt"]);
  assert.deepEqual((await completeLine("mv a rem", lister))[0], ["remote-only.txt"]);
});

Deno.test("flags do not count as arguments, and are not completed; after -- everything is one", () => {
  assert.equal(argumentSide(["put", "-r", "-f"], "x"), "local");
  assert.equal(argumentSide(["put", "-r", "dir", "-f"], "x"), "remote");
  assert.equal(argumentSide(["get", "-rf", "a"], "x"), "local");
  assert.equal(argumentSide(["put"], "-"), "local", "a lone dash is a name");
  assert.equal(argumentSide(["put"], "-r"), undefined);
  assert.equal(argumentSide(["put", "--"], "-odd"), "local");
  assert.equal(argumentSide(["put", "--", "-odd"], "x"), "remote");
  assert.equal(argumentSide(["pwd"], "x"), undefined, "no path arguments");
  assert.equal(argumentSide(["frobnicate"], "x"), undefined, "unknown command");
});

Deno.test("the first word completes command names and aliases", async () => {
  assert.deepEqual(await completeLine("mk", lister), [["mkdir"], "mk"]);
  assert.deepEqual(await completeLine("d", lister), [["del", "delete", "dir", "download"], "d"]);
  assert.deepEqual(await completeLine("", lister).then(([names]) => names.includes("put")), true);
});
