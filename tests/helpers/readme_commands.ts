/**
 * The shell commands a README documents: every line of every fenced `sh`
 * block, with how a test is to run it. By default a command must exit 0. An
 * HTML comment just before a block says otherwise, for the whole block:
 *
 * - `<!-- readme-test: background until "TEXT" -->`: a long-running command
 *   (a server): started in the background, ready once it prints TEXT, and
 *   stopped with SIGTERM at the end, when it must exit 0. With
 *   `, stopped by a later command` after it, a later command of the README
 *   stops it (`dfos server stop`): by the end it must have exited 0.
 * - `<!-- readme-test: terminal` and then lines `"TEXT" KEYS` `-->`: run on a
 *   terminal; wait for each TEXT in turn, type its KEYS and Enter; it must then
 *   exit 0.
 * - `<!-- readme-test: exit N -->`: must exit N.
 * - `<!-- readme-test: ci -->`: CI runs it: each command is a line of `.ci/run`.
 * - `<!-- readme-test: skip: REASON -->`: cannot run in a test, for REASON.
 *
 * Every other block names its language (`text` for a synopsis or output),
 * so that no command sits in a block this reader passes over.
 *
 * @module
 */

/** How the commands of a block are run. */
export type BlockMode =
  | { kind: "run"; exitCode: number }
  | { kind: "background"; readyText: string; stoppedLater: boolean }
  | { kind: "terminal"; dialogue: DialogueStep[] }
  | { kind: "ci" }
  | { kind: "skip"; reason: string };

/** On a terminal: wait for `text`, then type `keys` and Enter. */
export interface DialogueStep {
  text: string;
  keys: string;
}

/** One command as written, with the README line it starts on. */
export interface ReadmeCommand {
  line: number;
  text: string;
}

/** A fenced shell block and how its commands are run. */
export interface ReadmeBlock {
  /** The line of its opening fence. */
  line: number;
  mode: BlockMode;
  commands: ReadmeCommand[];
}

const SHELL_FENCE = /^\s*```(sh|bash|shell)\s*$/;
const FENCE = /^\s*```/;
/** An opening fence that names no language: commands could hide in it unseen. */
const BARE_FENCE = /^\s*```\s*$/;
const ANNOTATION = /^<!--\s*readme-test:([\s\S]*?)-->$/;

/** The fenced shell blocks of `markdown`; throws on an annotation it cannot read. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  let pending: { mode: BlockMode; line: number } | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line.startsWith("<!--") && line.includes("readme-test:")) {
      const end = lines.findIndex((text, at) => at >= index && text.includes("-->"));
      if (end < 0) throw new Error(`README line ${index + 1}: unclosed readme-test comment`);
      pending = { mode: parseMode(lines.slice(index, end + 1).join("\n"), index + 1), line: index };
      index = end;
    } else if (SHELL_FENCE.test(line)) {
      const close = lines.findIndex((text, at) => at > index && FENCE.test(text));
      if (close < 0) throw new Error(`README line ${index + 1}: unclosed code block`);
      const commands = commandsOf(lines.slice(index + 1, close), index + 2);
      const mode = pending?.mode ?? { kind: "run", exitCode: 0 };
      if ((mode.kind === "background" || mode.kind === "terminal") && commands.length !== 1) {
        throw new Error(`README line ${index + 1}: a ${mode.kind} block holds one command`);
      }
      blocks.push({ line: index + 1, mode, commands });
      pending = undefined;
      index = close;
    } else if (FENCE.test(line)) {
      if (BARE_FENCE.test(line)) {
        throw new Error(
          `README line ${
            index + 1
          }: a code block with no language: sh for commands, text otherwise`,
        );
      }
      const close = lines.findIndex((text, at) => at > index && FENCE.test(text));
      index = close < 0 ? lines.length : close;
    } else if (pending && line.trim() !== "") {
      throw new Error(`README line ${pending.line + 1}: readme-test comment not before a sh block`);
    }
  }
  return blocks;
}

/** The commands in a block's lines: comments and blank lines dropped, `\\` continuations joined. */
function commandsOf(lines: string[], firstLine: number): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let current: ReadmeCommand | undefined;
  lines.forEach((text, offset) => {
    const trimmed = text.trim();
    if (current === undefined && (trimmed === "" || trimmed.startsWith("#"))) return;
    const continues = trimmed.endsWith("\\");
    const part = continues ? trimmed.slice(0, -1).trim() : trimmed;
    current ??= { line: firstLine + offset, text: "" };
    current.text += current.text === "" ? part : ` ${part}`;
    if (!continues) {
      commands.push(current);
      current = undefined;
    }
  });
  if (current) commands.push(current);
  return commands;
}

function parseMode(comment: string, line: number): BlockMode {
  const body = comment.match(ANNOTATION)?.[1].trim();
  const fail = (why: string) => new Error(`README line ${line}: readme-test comment ${why}`);
  if (body === undefined) throw fail("must stand alone on its lines");
  if (body === "ci") return { kind: "ci" };
  const skip = body.match(/^skip:\s*(\S[\s\S]*)$/);
  if (skip) return { kind: "skip", reason: skip[1].replace(/\s+/g, " ") };
  const exit = body.match(/^exit (\d+)$/);
  if (exit) return { kind: "run", exitCode: Number(exit[1]) };
  const background = body.match(/^background until "([^"]+)"(, stopped by a later command)?$/);
  if (background) {
    return { kind: "background", readyText: background[1], stoppedLater: Boolean(background[2]) };
  }
  const [first, ...steps] = body.split("\n").map((text) => text.trim()).filter(Boolean);
  if (first !== "terminal") throw fail(`not understood: ${body}`);
  const dialogue = steps.map((step) => {
    const parts = step.match(/^"([^"]+)"\s+(.+)$/);
    if (!parts) throw fail(`has a terminal step that is not "TEXT" KEYS: ${step}`);
    return { text: parts[1], keys: parts[2] };
  });
  return { kind: "terminal", dialogue };
}
