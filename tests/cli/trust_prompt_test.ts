/**
 * The trust question's answers: yes or no end it, anything else asks again,
 * the end of input refuses.
 */

import assert from "node:assert/strict";
import {
  ASK_AGAIN,
  askToTrust,
  trustAnswer,
  type TrustDialogue,
} from "../../src/cli/trust_prompt.ts";

/** A dialogue that answers with `lines`, then ends; what was shown is in `shown`. */
function scripted(lines: string[]): TrustDialogue & { shown: string[] } {
  const shown: string[] = [];
  return {
    shown,
    write: (text) => Promise.resolve(void shown.push(text)),
    readLine: () => Promise.resolve(lines.shift() ?? null),
  };
}

Deno.test("yes and no, in any case and with blanks around them, answer the question", () => {
  for (const text of ["yes", "YES", " y ", "Yes\r"]) assert.equal(trustAnswer(text), true, text);
  for (const text of ["no", "N", " no\r"]) assert.equal(trustAnswer(text), false, text);
  for (const text of ["", "maybe", "yes please", "SHA256:ab"]) {
    assert.equal(trustAnswer(text), undefined, text);
  }
});

Deno.test("an unclear answer is asked again until yes or no", async () => {
  const dialogue = scripted(["", "sure", "yes"]);
  assert.equal(await askToTrust("127.0.0.1:33000", "SHA256:00", dialogue), true);
  assert.deepEqual(dialogue.shown.slice(1), [ASK_AGAIN, ASK_AGAIN]);
  assert.match(dialogue.shown[0], /SHA256:00[\s\S]*\(yes\/no\)\? $/);
  assert.equal(await askToTrust("127.0.0.1:33000", "SHA256:00", scripted(["what", "no"])), false);
});

Deno.test("the end of input refuses, also after an unclear answer", async () => {
  assert.equal(await askToTrust("h:1", "SHA256:00", scripted([])), false);
  assert.equal(await askToTrust("h:1", "SHA256:00", scripted(["hm"])), false);
});
