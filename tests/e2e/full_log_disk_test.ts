/**
 * A server whose log folder and stderr are on a disk that fills up keeps
 * serving: the log lines that cannot be written are lost, and nothing else
 * is. (A failed write to stderr used to come back as an unhandled rejection,
 * which the server logs to stderr: a loop that held its thread for good.)
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { runClient, USERS, waitFor } from "../helpers/processes.ts";
import { canMountTmpfs, withSmallTmpfs } from "../helpers/tmpfs.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const mountable = await canMountTmpfs();

/** Writes into `dir` until the disk is full. */
async function fill(dir: string): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  using filler = await Deno.open(join(dir, "filler"), { write: true, create: true });
  try {
    for (;;) await filler.write(chunk);
  } catch (error) {
    assert.match(String(error), /No space left/);
  }
}

Deno.test({
  name: "a server whose logs and stderr are on a full disk still serves every client, and stops",
  ignore: !mountable,
  async fn() {
    await withSmallTmpfs(
      { prefix: "dfos-full-logs-", name: "disk", size: "1m" },
      async (dir, disk) => {
        await Deno.writeTextFile(join(dir, "users.txt"), `alice:${USERS.alice}\n`);
        await Deno.writeTextFile(join(dir, "up.txt"), "uploaded while the logs are full\n");
        const stderrFile = join(disk, "stderr.txt");
        const server = new Deno.Command("bash", {
          args: ["-c", 'exec "$@" 2>"$0"', stderrFile, Deno.execPath(), "run", "--quiet"]
            .concat(RUNTIME_FLAGS, MAIN, "server", "--host=127.0.0.1", "--port=0")
            .concat("--insecure-no-tls", `--storage=${join(dir, "storage")}`)
            .concat(`--users=${join(dir, "users.txt")}`, `--log-dir=${join(disk, "logs")}`),
          cwd: dir,
          stdin: "null",
          stdout: "null",
        }).spawn();
        try {
          const port = Number(
            await waitFor(
              async () =>
                (await Deno.readTextFile(stderrFile).catch(() => "")).match(/listening on .*:(\d+)/)
                  ?.[1],
              20_000,
              "the server to listen",
            ),
          );
          await fill(disk);
          const address = { port };
          for (let run = 0; run < 5; run++) {
            const ls = await runClient(address, ["--insecure-no-tls", "ls"], { timeoutMs: 20_000 });
            assert.equal(ls.code, 0, ls.stderr);
          }
          const put = await runClient(address, ["--insecure-no-tls", "put", "up.txt"], {
            cwd: dir,
            timeoutMs: 20_000,
          });
          assert.equal(put.code, 0, put.stderr);
          const cat = await runClient(address, ["--insecure-no-tls", "cat", "up.txt"]);
          assert.equal(cat.stdout, "uploaded while the logs are full\n");
          server.kill("SIGTERM");
          const timer = setTimeout(() => server.kill("SIGKILL"), 20_000);
          const status = await server.status;
          clearTimeout(timer);
          assert.equal(status.code, 0, "it stops as asked, with exit code 0");
        } finally {
          try {
            server.kill("SIGKILL");
          } catch { /* gone */ }
          await server.status;
        }
      },
    );
  },
});
