import assert from "node:assert/strict";
import { UsageError } from "../../src/client/errors.ts";
import { quoteWord, scanLine, splitCommandLine } from "../../src/client/line_words.ts";

Deno.test("words are separated by any run of whitespace", () => {
  assert.deepEqual(splitCommandLine("ls  -l   /docs"), ["ls", "-l", "/docs"]);
  assert.deepEqual(splitCommandLine("  get\tfile.txt \t "), ["get", "file.txt"]);
  assert.deepEqual(splitCommandLine("put ünï 文件 😀"), ["put", "ünï", "文件", "😀"]);
});

Deno.test("an empty or blank line has no words", () => {
  assert.deepEqual(splitCommandLine(""), []);
  assert.deepEqual(splitCommandLine("   \t "), []);
});

Deno.test("single and double quotes keep spaces inside one word", () => {
  assert.deepEqual(splitCommandLine("get 'my file.txt' local"), ["get", "my file.txt", "local"]);
  assert.deepEqual(splitCommandLine('put "a  b" c'), ["put", "a  b", "c"]);
});

Deno.test("quoted and unquoted parts next to each other join into one word", () => {
  assert.deepEqual(splitCommandLine(`a"b c"'d e'f`), ["ab cd ef"]);
  assert.deepEqual(splitCommandLine(`--name='x y'`), ["--name=x y"]);
});

Deno.test("an empty pair of quotes is an empty word", () => {
  assert.deepEqual(splitCommandLine(`rm "" ''`), ["rm", "", ""]);
});

Deno.test("each kind of quote is literal inside the other", () => {
  assert.deepEqual(splitCommandLine(`"it's" 'say "hi"'`), ["it's", 'say "hi"']);
});

Deno.test("a backslash outside quotes escapes the next character", () => {
  assert.deepEqual(splitCommandLine("get my\\ file.txt"), ["get", "my file.txt"]);
  assert.deepEqual(splitCommandLine("a\\'b \\\"c\\\\d"), ["a'b", '"c\\d']);
  assert.deepEqual(splitCommandLine("\\ "), [" "]);
});

Deno.test("a backslash inside double quotes escapes the next character", () => {
  assert.deepEqual(splitCommandLine(`"say \\"hi\\" \\\\ ok"`), ['say "hi" \\ ok']);
});

Deno.test("a backslash inside single quotes is literal", () => {
  assert.deepEqual(splitCommandLine(`'a\\b' 'c\\'`), ["a\\b", "c\\"]);
});

Deno.test("a trailing backslash is kept as a literal character", () => {
  assert.deepEqual(splitCommandLine("dir\\"), ["dir\\"]);
});

Deno.test("an unterminated quote is a UsageError naming the quote", () => {
  for (const [line, quote] of [["get 'my file", "'"], ['put "a b', '"'], [`'a" b`, "'"]]) {
    assert.throws(() => splitCommandLine(line), (error) => {
      assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
      assert.equal(error.message, `unterminated ${quote} quote`);
      return true;
    });
  }
  // An escaped closing quote leaves the quote open.
  assert.throws(() => splitCommandLine(`"abc\\"`), UsageError);
});

Deno.test("scanLine tells where the last word starts and which quote is still open", () => {
  assert.deepEqual(scanLine(`cat "my fi`), {
    words: ["cat", "my fi"],
    inWord: true,
    lastWordStart: 4,
    openQuote: '"',
  });
  assert.deepEqual(scanLine(`put a\\ b `), {
    words: ["put", "a b"],
    inWord: false,
    lastWordStart: 9,
    openQuote: undefined,
  });
  assert.deepEqual(scanLine(""), {
    words: [],
    inWord: false,
    lastWordStart: 0,
    openQuote: undefined,
  });
  assert.equal(scanLine(`get x 'it`).openQuote, "'");
});

Deno.test("a name quoted by quoteWord reads back as the same single word, in every quoting", () => {
  const names = [
    "plain.txt",
    "my file.txt",
    "it's here",
    'say "hi"',
    "back\\slash",
    "tab\there",
    "  leading and trailing  ",
    "ünï 文件 😀",
    `all of ' " \\ and spaces`,
  ];
  for (const name of names) {
    assert.deepEqual(splitCommandLine(`get ${quoteWord(name)}`), ["get", name], `bare: ${name}`);
    assert.deepEqual(splitCommandLine(`get '${quoteWord(name, "'")}'`), ["get", name], `'${name}'`);
    assert.deepEqual(splitCommandLine(`get "${quoteWord(name, '"')}"`), ["get", name], `"${name}"`);
  }
});
