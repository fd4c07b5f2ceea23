/**
 * A download cancelled while its reply is still arriving keeps what came
 * before the cancel, writes nothing that comes after it, and does not take
 * its name even if the server finished sending before it read the Cancel.
 * The replies are fed by a stand-in for the connection, in the order a
 * server sends them.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FRAME_HEADER_SIZE, MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { encode, type Frame, Messages, type MessageSpec } from "../../src/protocol/messages.ts";
import type { ClientConnection } from "../../src/client/connection.ts";
import { downloadOnce, partialPathFor } from "../../src/client/file_download.ts";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";

/** `spec`'s message as the reader hands it over: its header read, its payload left. */
function frameOf<T>(spec: MessageSpec<T>, id: number, value: T): Frame {
  const bytes = encode(spec, id, value);
  return { type: spec.type, id, payload: bytes.subarray(FRAME_HEADER_SIZE) };
}

Deno.test("a download cancelled mid-reply keeps only what came before, and a reply that still ends does not finish it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-download-cancel-" });
  try {
    const first = new Uint8Array(300_000).fill(1);
    const rest = new Uint8Array(300_000).fill(2);
    const whole = new Uint8Array([...first, ...rest]);
    const sha256 = createHash("sha256").update(whole).digest();
    const controller = new AbortController();
    const connection = {
      async exchange(
        _spec: unknown,
        _value: unknown,
        onFrame: (frame: Frame, id: number) => boolean | Promise<boolean>,
      ) {
        const info = { size: whole.length, mtimeMs: 1_700_000_000_000, offset: 0 };
        await onFrame(frameOf(Messages.ReadInfo, 1, { ...info, length: whole.length }), 1);
        await onFrame({ type: MESSAGE_TYPE.Data, id: 1, payload: first }, 1);
        controller.abort(new Error("cancelled by the test"));
        // The server had sent the rest before it read the Cancel.
        await onFrame({ type: MESSAGE_TYPE.Data, id: 1, payload: rest }, 1);
        await onFrame(frameOf(Messages.DataEnd, 1, { sha256: new Uint8Array(sha256) }), 1);
      },
    } as unknown as ClientConnection;
    const target = join(dir, "big.bin");
    await assert.rejects(
      downloadOnce(connection, "/big.bin", target, {
        progress: SILENT_PROGRESS,
        signal: controller.signal,
      }),
      { message: "cancelled by the test" },
    );
    await assert.rejects(Deno.stat(target), Deno.errors.NotFound, "the name is not taken");
    assert.deepEqual(
      await Deno.readFile(partialPathFor(target)),
      first,
      "the partial: what came before",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
