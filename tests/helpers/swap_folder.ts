/**
 * A hostile neighbour for race tests, run as its own process: swaps the
 * folder `<dir>/<name>` with a symbolic link to `<target>` by rename(2), as
 * fast as it can, for `<ms>` milliseconds, then puts the folder back.
 *
 * - mode `folder`: the name is the real folder, then (renamed away) a link
 *   to the target, then the folder again, and so on.
 * - mode `link`: the name is always a link, atomically replaced by one to
 *   the real folder (parked at `<name>.folder`) or one to the target.
 *
 * Prints "swapping" once it starts and "swapped <n>" when it is done. A
 * round that fails (the server under test moved or deleted a name it
 * should not have touched) is reported on stderr and repaired.
 *
 * ```sh
 * deno run --allow-read --allow-write tests/helpers/swap_folder.ts DIR NAME TARGET MS MODE
 * ```
 *
 * @module
 */

const [dir, name, target, durationText, mode] = Deno.args;
const here = `${dir}/${name}`;
const parked = `${here}.folder`;
const link = `${here}.link`;

/** One round: the folder out and the link in, then back. */
function swapFolder(): void {
  Deno.renameSync(here, parked);
  Deno.renameSync(link, here);
  Deno.renameSync(here, link);
  Deno.renameSync(parked, here);
}

/** One round: the link replaced, in one rename each, by one leading out and one leading in. */
function swapLink(): void {
  Deno.symlinkSync(target, link);
  Deno.renameSync(link, here);
  Deno.symlinkSync(`${name}.folder`, link);
  Deno.renameSync(link, here);
}

if (mode === "folder") {
  Deno.symlinkSync(target, link);
} else {
  Deno.renameSync(here, parked);
  Deno.symlinkSync(`${name}.folder`, here);
}
/** Puts the names back as a round expects them: the folder at `here` (folder mode) or parked. */
function repair(): void {
  const exists = (path: string) => {
    try {
      return Deno.lstatSync(path);
    } catch {
      return null;
    }
  };
  const folderAt = [here, parked, link].find((path) => exists(path)?.isDirectory);
  for (const path of [here, parked, link]) {
    if (path !== folderAt && exists(path)) Deno.removeSync(path);
  }
  if (folderAt === undefined) Deno.mkdirSync(mode === "folder" ? here : parked);
  else if (folderAt !== (mode === "folder" ? here : parked)) {
    Deno.renameSync(folderAt, mode === "folder" ? here : parked);
  }
  if (mode === "folder") Deno.symlinkSync(target, link);
  else Deno.symlinkSync(`${name}.folder`, here);
}

const deadline = Date.now() + Number(durationText);
let swaps = 0;
console.log("swapping");
while (Date.now() < deadline) {
  try {
    if (mode === "folder") swapFolder();
    else swapLink();
    swaps++;
  } catch (error) {
    console.error(`round ${swaps} failed: ${error}`);
    repair();
  }
}
if (mode === "folder") {
  Deno.removeSync(link);
} else {
  Deno.removeSync(here);
  Deno.renameSync(parked, here);
}
console.log(`swapped ${swaps}`);
