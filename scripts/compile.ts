/**
 * Builds self-contained `dfos` executables for x86_64 and aarch64 Linux into
 * dist/, with the same permission flags the tests use.
 *
 * `deno compile` downloads its runtime (denort) per target the first time.
 * Where that download is blocked, set DENORT_BIN=/path/to/denort (a denort
 * of the same Deno version, for the target you build); the build then uses
 * it and builds only that target (DFOS_TARGET, default the host's).
 *
 *   deno task compile                      # both targets, runtime downloaded
 *   DENORT_BIN=~/denort deno task compile  # offline, one target
 *
 * @module
 */

import { RUNTIME_FLAGS } from "../src/cli/permissions.ts";

const TARGETS = {
  "x86_64-unknown-linux-gnu": "dist/dfos-x86_64-linux",
  "aarch64-unknown-linux-gnu": "dist/dfos-aarch64-linux",
} as const;
type Target = keyof typeof TARGETS;

function targetsToBuild(): Target[] {
  const chosen = Deno.env.get("DFOS_TARGET");
  if (chosen) {
    if (!(chosen in TARGETS)) {
      throw new Error(`DFOS_TARGET must be one of ${Object.keys(TARGETS).join(", ")}`);
    }
    return [chosen as Target];
  }
  if (Deno.env.get("DENORT_BIN")) {
    return [
      Deno.build.arch === "aarch64" ? "aarch64-unknown-linux-gnu" : "x86_64-unknown-linux-gnu",
    ];
  }
  return Object.keys(TARGETS) as Target[];
}

for (const target of targetsToBuild()) {
  const args = [
    "compile",
    ...RUNTIME_FLAGS,
    "--no-check",
    // A worker's module is not found by following imports: the sync's local walk (listing_in_worker.ts).
    "--include",
    "src/sync/local_listing_worker.ts",
    "--target",
    target,
    "--output",
    TARGETS[target],
    "main.ts",
  ];
  console.error(`deno ${args.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) {
    console.error(
      `compile for ${target} failed; if the runtime download is blocked, set DENORT_BIN (see README)`,
    );
    Deno.exit(code);
  }
}
