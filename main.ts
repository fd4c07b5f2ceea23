/**
 * DFOS entry point: one program, `dfos server` and `dfos client`.
 * Everything lives in src/; this file only hands over the arguments.
 *
 * @module
 */

import { main } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
