/**
 * The sweep of stale partial uploads: at startup and then every hour, the
 * provider removes every user's partials untouched for longer than
 * `--partial-max-age`, and the server log says whose and how many. The
 * local backend also removes, unlogged, what a crash left in `.dfos/retired`
 * (retired_files.ts).
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { plural } from "../shared/plural.ts";
import type { StorageProvider } from "../storage/storage_provider.ts";

/** How often the sweep runs, ms. */
export const PARTIAL_SWEEP_INTERVAL_MS = 3600_000;

/** Sweeps now and every {@link PARTIAL_SWEEP_INTERVAL_MS}; returns what stops it. */
export function startPartialSweeper(provider: StorageProvider, maxAgeMs: number): () => void {
  sweepPartials(provider, maxAgeMs);
  const timer = setInterval(() => sweepPartials(provider, maxAgeMs), PARTIAL_SWEEP_INTERVAL_MS);
  return () => clearInterval(timer);
}

/** One sweep; a failure is logged, never thrown: the next sweep tries again. */
async function sweepPartials(provider: StorageProvider, maxAgeMs: number): Promise<void> {
  try {
    for (const { user, removed } of await provider.sweepPartials(maxAgeMs)) {
      serverLog.info("removed {partials} of {user}, untouched longer than {seconds} s", {
        removed,
        partials: plural(removed, "stale partial upload"),
        user,
        seconds: maxAgeMs / 1000,
      });
    }
  } catch (error) {
    serverLog.warn("the sweep of stale partial uploads failed: {error}", {
      error: String(error),
    });
  }
}
