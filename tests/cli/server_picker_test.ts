/**
 * The client's list of discovered servers: a number picks one, Enter the
 * default address, anything else asks again, the end of input picks none.
 * No search runs here (it would send multicast): the list is given.
 */

import assert from "node:assert/strict";
import { pickServer } from "../../src/cli/server_picker.ts";
import type { ListedServer } from "../../src/cli/discover_command.ts";
import type { TrustDialogue } from "../../src/cli/trust_prompt.ts";

function scripted(lines: string[]): TrustDialogue & { shown: string[] } {
  const shown: string[] = [];
  return {
    shown,
    write: (text) => Promise.resolve(void shown.push(text)),
    readLine: () => Promise.resolve(lines.shift() ?? null),
  };
}

const SERVERS: ListedServer[] = [
  { name: "lab", host: "lab.local", port: 4000, addresses: ["10.0.0.7", "10.0.1.7"], trust: "new" },
  { name: "office", host: "office.local", port: 33000, addresses: ["10.0.0.5"], trust: "changed" },
];
const FALLBACK = { host: "127.0.0.1", port: 33000 };

Deno.test("the list shows each server's address and standing; a number picks its first address", async () => {
  const dialogue = scripted(["2"]);
  assert.deepEqual(await pickServer(SERVERS, FALLBACK, dialogue), {
    host: "10.0.0.5",
    port: 33000,
  });
  assert.equal(
    dialogue.shown[0],
    [
      "DFOS servers on the local network:",
      "  1) lab  10.0.0.7:4000  new",
      "  2) office  10.0.0.5:33000  CHANGED (known-hosts holds another certificate)",
      "Connect to which one (1-2, or Enter for 127.0.0.1:33000)? ",
    ].join("\n"),
  );
});

Deno.test("Enter picks the default address; other answers are asked again; the end of input picks none", async () => {
  assert.deepEqual(await pickServer(SERVERS, FALLBACK, scripted([""])), FALLBACK);
  const dialogue = scripted(["0", "3", "one", " 1 "]);
  assert.deepEqual(await pickServer(SERVERS, FALLBACK, dialogue), { host: "10.0.0.7", port: 4000 });
  assert.equal(dialogue.shown.length, 4);
  assert.equal(dialogue.shown[1], "Please type a number from 1 to 2, or press Enter: ");
  assert.equal(await pickServer(SERVERS, FALLBACK, scripted(["x"])), undefined);
});
