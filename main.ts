/**
 * DFOS entry point: one program, `dfos server` and `dfos client`.
 * Everything lives in src/; this file only hands over the arguments.
 *
 * @module
 */

import { startEarlyWalk } from "./src/sync/early_walk.ts";
import { warmUpTls } from "./src/transport/tls_warmup.ts";

if (import.meta.main) {
  // A sync's walk of its folder starts before the rest of the program loads, in a worker.
  startEarlyWalk(Deno.args);
  // So does the cryptography library's first-use setup, on a blocking thread (tls_warmup.ts).
  void warmUpTls(Deno.args);
  const { main } = await import("./src/cli/program.ts");
  Deno.exit(await main(Deno.args));
}
