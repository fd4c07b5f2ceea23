/**
 * One sync run, start to end: look at both sides, plan against the
 * remembered state, stop at the delete guard, carry the plan out (or just
 * print it), and remember what now agrees.
 *
 * @module
 */

import { deleteGuard, type DeleteGuardOptions } from "./delete_guard.ts";
import { executePlan, type ExecutionResult } from "./executor.ts";
import { ignoreFileText, OWN_FILES_ONLY, type PathFilter } from "./own_files.ts";
import { type LocalScan, scanLocal, type SkippedPath } from "./local_scan.ts";
import { listingAt, listLocal, type LocalListing } from "./local_listing.ts";
import { type BackgroundListing, listInWorker } from "./listing_in_worker.ts";
import { readLocalIgnoreFile } from "./walk_ahead.ts";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Plan, SyncAction } from "./plan.ts";
import { reconcile, type SyncDirection } from "./reconcile.ts";
import { countAction, planTotals, type SyncTotals } from "./report.ts";
import type { Copier, SideOperations } from "./sides.ts";
import type { InStepMark, LocalChanges, PairState, StateChange } from "./state_store.ts";
import type { BaseEntry, SyncEntry } from "./sync_entry.ts";
import type { JournalChange, JournalPosition } from "../storage/journal.ts";
import { applyJournal, relativeTo } from "./remote_tree.ts";

/** The remote side as a run needs it. */
export interface RemoteFolder extends SideOperations {
  /** Every entry under the synced folder, with content hashes; links and special files left out. */
  listTree(): Promise<RemoteListing>;
  /**
   * The server's changes under the synced folder since `cursor`, all pages;
   * "expired" if the server no longer has them (list the tree instead).
   */
  changesSince(cursor: JournalPosition): Promise<
    { changes: JournalChange[]; position: JournalPosition } | "expired"
  >;
  /** The folder's `.dfosignore`, if it has one. */
  readIgnoreFile(): Promise<Uint8Array | undefined>;
}

/** The remote folder's tree, and where the server's journal stood when it was listed. */
export interface RemoteListing {
  tree: Map<string, SyncEntry>;
  skipped: SkippedPath[];
  position: JournalPosition;
}

/** No change on the server since a run found both sides as remembered: the tree is not read. */
interface RemoteInStep {
  inStep: true;
  position: JournalPosition;
}

/** What a run needs besides its options. */
export interface SyncSides {
  localRoot: string;
  /** The remote folder's absolute path on the server. */
  remoteRoot: string;
  local: SideOperations;
  remote: RemoteFolder;
  copier: Copier;
  state: PairState;
}

/** Options of {@link runSync}. */
export interface SyncOptions {
  /** Default "both". */
  direction?: SyncDirection;
  /** One-way: also delete on the target what the source deleted. */
  delete?: boolean;
  /** Print the plan, change nothing. */
  dryRun?: boolean;
  /** Go past the delete guard. */
  force?: boolean;
  guard?: DeleteGuardOptions;
  /** This machine's name, for conflict names. */
  host: string;
  /** Steps run at once. */
  window?: number;
  /** Told of each step as it ends (`error` if it failed). */
  onStep?: (action: SyncAction, error?: unknown) => void;
  /**
   * The local folder's walk, begun ahead of the run by `walkAhead` (walk_ahead.ts)
   * (used if the rules allow, stopped otherwise); without it the run walks.
   */
  walk?: BackgroundListing;
  /** Told of the plan before it is carried out (for a progress bar's totals); awaited. */
  onPlan?: (plan: Plan, totals: SyncTotals) => void | Promise<void>;
}

/** What a run did (or, for a dry run, would do). */
export interface SyncReport {
  plan: Plan;
  totals: SyncTotals;
  skipped: SkippedPath[];
  /** Where the server's journal stood when the remote tree was listed. */
  remotePosition: JournalPosition;
  execution?: ExecutionResult;
}

/** The run stopped before changing anything, and why. */
export class SyncStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyncStopped";
  }
}

/** Runs one sync of the pair; see the module documentation. */
export async function runSync(sides: SyncSides, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  // A folder without rules of its own is walked in a worker from the start (if the server's
  // copy has rules, that walk is dropped and the folder walked again here, with them).
  const localRules = readLocalIgnoreFile(sides.localRoot);
  if (localRules !== undefined) options.walk?.cancel();
  const walk = localRules !== undefined
    ? undefined
    : options.walk ?? listInWorker(join(sides.localRoot));
  try {
    return await syncWith(sides, options, localRules, walk, started);
  } finally {
    walk?.cancel();
  }
}

async function syncWith(
  sides: SyncSides,
  options: SyncOptions,
  localRules: Uint8Array | undefined,
  walk: BackgroundListing | undefined,
  started: number,
): Promise<SyncReport> {
  // Both questions go to the server first, the ignore file's first: the server answers in
  // order, and its changes may wait for a comparison of the whole tree, while here the
  // remembered state is loaded and the local folder read.
  // Before anything of the state is read: a write by another run after this must stop this one
  // from marking the sides in step, as what it read may no longer be what the state says.
  const othersWrites = sides.state.othersWrites();
  const mark = sides.state.inStep();
  const rules = ignoreRules(sides, localRules);
  const remoteTree = currentRemoteTree(sides, mark);
  remoteTree.catch(() => {}); // Awaited below; a failure there is the run's.
  // The remembered state is read while the folder is walked; after a run that found the sides
  // in step, only what the quick check needs, and all of it only if something changed.
  let base = mark === undefined ? sides.state.load() : undefined;
  const quickCheck = mark === undefined ? undefined : sides.state.localQuickCheck();
  const { filter: ignore, digest: rulesDigest } = await rules;
  // A walk that failed is made again here, whose failure is the run's (the folder may have
  // been created since a walk begun before connecting).
  const walked = walk !== undefined && ignore === OWN_FILES_ONLY
    ? await walk.result.catch(() => undefined)
    : undefined;
  const listing = walked ?? listLocal(join(sides.localRoot), ignore);
  const run = { ignore, rules: rulesDigest, othersWrites };
  const changed = mark?.rules === rulesDigest && quickCheck !== undefined
    ? sides.state.localChanges(listing, quickCheck)
    : undefined;
  if (changed !== undefined && changed.paths.size * 8 <= Math.max(changed.files, 2048)) {
    // Since a run found both sides as remembered, under the same rules, only these paths changed
    // here: if nothing changed on the server either, they are all there is to look at (and with
    // none, there is nothing to do). Read one by one, while they are few.
    const remote = await remoteTree;
    if (!("tree" in remote)) {
      const report = changed.paths.size === 0
        ? await nothingToDo(remote.position, options)
        : await syncChanged(sides, options, { listing, changed, position: remote.position, run });
      return finish(report, started);
    }
  }
  base ??= sides.state.load();
  const local = await scanLocal(sides.localRoot, { base, ignore, listing });
  let remote = await remoteTree;
  if (!("tree" in remote)) {
    // No change on the server since the mark: its tree is the one remembered.
    remote = { tree: sides.state.loadRemote(), skipped: [], position: remote.position };
  }
  const remoteEntries = withoutIgnored(remote.tree, ignore);
  const report = await carryOut(
    sides,
    options,
    { base, local, remote: remoteEntries, rememberedFiles: base },
    [...local.skipped, ...remote.skipped],
    remote.position,
  );
  if (report.execution === undefined) return finish(report, started); // A dry run.
  if (foundInStep(report, base, local, remoteEntries)) {
    const cursor = sides.state.cursor();
    if (cursor !== undefined) {
      await afterTheRun(() => sides.state.markInStep({ cursor, rules: rulesDigest }, othersWrites));
    }
  } else if (settled(report)) {
    await afterTheRun(() => catchUp(sides, { ...run, tree: remote.tree, base }));
  }
  return finish(report, started);
}

/**
 * A run over only the paths `changed` locally, the rest being as remembered
 * on both sides (the server reported no change since the sides were found
 * in step): their state is read one by one, and only they are planned.
 */
async function syncChanged(
  sides: SyncSides,
  options: SyncOptions,
  { listing, changed, position, run }: {
    listing: LocalListing;
    changed: LocalChanges;
    position: JournalPosition;
    run: Omit<CatchUp, "tree" | "base" | "only">;
  },
): Promise<SyncReport> {
  const only = changed.paths;
  const base = sides.state.loadPaths(only);
  const local = await scanLocal(sides.localRoot, {
    base,
    ignore: run.ignore,
    listing: listingAt(listing, only),
  });
  const tree = sides.state.loadRemotePaths(only);
  const input = { base, local, remote: tree, rememberedFiles: changed.files };
  const report = await carryOut(sides, options, input, [], position);
  if (settled(report)) await afterTheRun(() => catchUp(sides, { ...run, tree, base, only }));
  return report;
}

/** What a run plans from: the remembered state and both sides, whole or only where changed. */
interface RunInput {
  base: Map<string, BaseEntry>;
  local: LocalScan;
  remote: Map<string, SyncEntry>;
  /** The remembered state's files, for the delete guard: the state itself, or how many. */
  rememberedFiles: Map<string, BaseEntry> | number;
}

/**
 * Plans the run, stops at the delete guard, and carries the plan out
 * (a dry run only plans); `base` then holds what the run left agreed.
 */
async function carryOut(
  sides: SyncSides,
  options: SyncOptions,
  input: RunInput,
  skipped: SkippedPath[],
  position: JournalPosition,
): Promise<SyncReport> {
  const { base, local, remote } = input;
  const plan = reconcile(base, local.tree, remote, {
    direction: options.direction,
    delete: options.delete,
    host: options.host,
    now: new Date(),
  });
  const report: SyncReport = { plan, totals: planTotals(plan), skipped, remotePosition: position };
  const verdict = deleteGuard(plan, input.rememberedFiles, options.guard);
  if (verdict.stop && !options.force && !options.dryRun) {
    const where = verdict.side === "remote" ? "on the server" : "locally";
    throw new SyncStopped(
      `the sync would delete ${verdict.files} of the ${verdict.of} files it knows ${where}: ` +
        "if that is meant (and the other side's folder is not just missing or unmounted), run it again with --force",
    );
  }
  if (options.dryRun) return report;
  await options.onPlan?.(plan, report.totals);
  report.execution = await execute(sides, plan, base, local.tree, remote, options);
  report.totals = countDone(report);
  return report;
}

/** Whether the run did all it planned: nothing failed, nothing was skipped or left aside. */
function settled(report: SyncReport): boolean {
  const { execution } = report;
  return execution !== undefined && execution.failed.length === 0 &&
    execution.skipped.length === 0 && report.skipped.length === 0;
}

/** What {@link catchUp} needs of the run. */
interface CatchUp {
  /** The remote tree the run planned from (at the state's cursor): brought up to date here. */
  tree: Map<string, SyncEntry>;
  /** The remembered state after the run. */
  base: Map<string, BaseEntry>;
  /** The paths the run looked at, if only those (the rest being as remembered on both sides). */
  only?: ReadonlySet<string>;
  ignore: PathFilter;
  rules: string;
  othersWrites: number;
}

/**
 * Runs `work`, which only saves the next run some work, after a run that is
 * done: its failure (the connection gone, the state locked by another run
 * for longer than SQLite waits) is not the run's. Each write of the state is
 * a transaction of its own, so what it leaves is safe to sync from.
 */
function afterTheRun(work: () => unknown): Promise<void> {
  try {
    return Promise.resolve(work()).then(() => {}, () => {});
  } catch {
    return Promise.resolve();
  }
}

/**
 * After a run that did all it planned, brings the server's journal since
 * the state's cursor (the run's own writes, and any other's) into the
 * remembered remote tree, and marks the sides in step if the server's tree
 * is then exactly the remembered state: the next run, if nothing changes,
 * then reads neither. One request more for this run, which the next would
 * have made anyway. Changes it cannot take in here (outside what a run that
 * looked only at `only` holds, or needing a listing) are left to the next.
 */
async function catchUp(sides: SyncSides, run: CatchUp): Promise<void> {
  const cursor = sides.state.cursor();
  if (cursor === undefined) return;
  const since = await sides.remote.changesSince(cursor);
  if (since === "expired" || unhashed(sides.remoteRoot, since.changes)) return;
  const { only, tree, base } = run;
  const within = (path: string | undefined) => {
    const relative = path === undefined ? undefined : relativeTo(sides.remoteRoot, path);
    return relative === undefined || only!.has(relative);
  };
  if (only && !since.changes.every((change) => within(change.path) && within(change.from))) return;
  const { relist, touched } = applyJournal(tree, sides.remoteRoot, since.changes);
  if (relist.length > 0) return;
  sides.state.updateRemote(tree, touched, since.position);
  const remote = only === undefined ? withoutIgnored(tree, run.ignore) : tree;
  if (!remoteAsRemembered(remote, base, only)) return;
  sides.state.markInStep({ cursor: since.position, rules: run.rules }, run.othersWrites);
}

/** Whether a file among `changes` has no hash (changed behind the server's back, not hashed yet). */
function unhashed(root: string, changes: JournalChange[]): boolean {
  return changes.some((change) =>
    change.kind === "file" && change.sha256 === undefined &&
    relativeTo(root, change.path) !== undefined
  );
}

/** Whether the server's `entry` is what the state remembers of it (folder times are not kept). */
function sameAsRemembered(
  entry: SyncEntry | undefined,
  remembered: BaseEntry | undefined,
): boolean {
  if (entry === undefined || remembered === undefined) return entry === remembered;
  if (entry.kind !== remembered.kind) return false;
  return entry.kind === "directory" || (remembered.size === entry.size &&
    remembered.sha256 === entry.sha256 && remembered.remoteMtimeNs === entry.mtimeNs);
}

/**
 * Whether the local folder is exactly as remembered: the same paths of the
 * same kinds, every file passing the quick check (size, mtime and inode as
 * remembered, so its remembered hash stands), nothing skipped.
 */
function asRemembered(base: Map<string, BaseEntry>, local: LocalScan): boolean {
  if (local.hashedFiles > 0 || local.skipped.length > 0 || local.tree.size !== base.size) {
    return false;
  }
  for (const [path, entry] of local.tree) {
    if (base.get(path)?.kind !== entry.kind) return false;
  }
  return true;
}

/**
 * Whether a run that did nothing found both sides exactly as remembered:
 * then the remote tree at the cursor is the remembered state, and the next
 * run need not read it while the server reports no change since. Folder
 * times are not kept, so only files' remote times count.
 */
function foundInStep(
  report: SyncReport,
  base: Map<string, BaseEntry>,
  local: LocalScan,
  remote: Map<string, SyncEntry>,
): boolean {
  const { plan, execution } = report;
  const idle = plan.actions.length === 0 && plan.conflicts.length === 0 && plan.kept.length === 0;
  if (!idle || report.skipped.length > 0 || (execution?.failed.length ?? 0) > 0) return false;
  return asRemembered(base, local) && remoteAsRemembered(remote, base);
}

/**
 * Whether the server's tree `remote` is the remembered state `base`: every
 * path of either, or, where a run looked `only` at some paths (both maps
 * holding those alone), every one of those.
 */
function remoteAsRemembered(
  remote: Map<string, SyncEntry>,
  base: Map<string, BaseEntry>,
  only?: ReadonlySet<string>,
): boolean {
  if (only === undefined && remote.size !== base.size) return false;
  const paths = only === undefined
    ? remote.keys()
    : new Set([...only, ...base.keys(), ...remote.keys()]);
  for (const path of paths) {
    if (!sameAsRemembered(remote.get(path), base.get(path))) return false;
  }
  return true;
}

/** The report of a run that found both sides as remembered, with nothing changed on either. */
async function nothingToDo(position: JournalPosition, options: SyncOptions): Promise<SyncReport> {
  const plan: Plan = { actions: [], conflicts: [], kept: [] };
  const report: SyncReport = {
    plan,
    totals: planTotals(plan),
    skipped: [],
    remotePosition: position,
  };
  if (options.dryRun) return report;
  await options.onPlan?.(plan, report.totals);
  report.execution = { done: 0, failed: [], skipped: [], bytes: { local: 0, remote: 0 } };
  report.totals = countDone(report);
  return report;
}

/**
 * The remote tree now: the one remembered from the last run brought up to
 * date with the server's journal, or, when that cannot be trusted (no
 * cursor, an expired one, a move in from outside the folder, a file changed
 * behind the server's back whose hash is not known yet), a fresh listing.
 * Either way remembered for the next run, with its journal position.
 */
async function currentRemoteTree(
  sides: SyncSides,
  mark: InStepMark | undefined,
): Promise<RemoteListing | RemoteInStep> {
  const cursor = sides.state.cursor();
  if (cursor !== undefined) {
    const asked = sides.remote.changesSince(cursor);
    asked.catch(() => {}); // Awaited next; the tree is loaded meanwhile, unless it may not be needed.
    const marked = mark?.cursor.journalId === cursor.journalId &&
      mark.cursor.sequence === cursor.sequence;
    const loaded = marked ? undefined : sides.state.loadRemote();
    const since = await asked;
    if (since !== "expired") {
      if (marked && since.changes.length === 0) return { inStep: true, position: since.position };
      const tree = loaded ?? sides.state.loadRemote();
      const { relist, touched } = applyJournal(tree, sides.remoteRoot, since.changes);
      if (relist.length === 0 && !unhashed(sides.remoteRoot, since.changes)) {
        if (since.changes.length > 0) sides.state.updateRemote(tree, touched, since.position);
        return { tree, skipped: [], position: since.position };
      }
    }
  }
  const listing = await sides.remote.listTree();
  sides.state.replaceRemote(listing.tree, listing.position);
  return listing;
}

/** `tree` without the paths `ignore` leaves alone: `tree` itself when there are none (the usual case). */
function withoutIgnored(tree: Map<string, SyncEntry>, ignore: PathFilter): Map<string, SyncEntry> {
  let kept: Map<string, SyncEntry> | undefined;
  for (const [path, entry] of tree) {
    if (!ignore.ignores(path, entry.kind === "directory")) continue;
    kept ??= new Map(tree);
    kept.delete(path);
  }
  return kept ?? tree;
}

/**
 * The version of what decides which paths a sync leaves alone (the matcher, the built-in list of
 * DFOS's own files): raise it with any change to either, so that a mark of the sides in step made
 * under the old rules is not trusted under the new.
 */
const RULES_VERSION = 1;

/** The folder's ignore rules; the gitignore matcher is loaded only if a side has a rules file. */
async function ignoreRules(
  sides: SyncSides,
  localFile: Uint8Array | undefined,
): Promise<{ filter: PathFilter; digest: string }> {
  const remote = sides.remote.readIgnoreFile(); // Its request goes out now.
  remote.catch(() => {}); // Awaited below.
  const texts: string[] = [];
  if (localFile) texts.push(ignoreFileText(localFile));
  const remoteFile = await remote;
  if (remoteFile) texts.push(ignoreFileText(remoteFile));
  // The rules a run found the sides in step under: a later run may trust that only under these,
  // read by the same matcher and the same built-in list.
  const digest = createHash("sha256").update(JSON.stringify([RULES_VERSION, texts])).digest("hex");
  if (texts.length === 0) return { filter: OWN_FILES_ONLY, digest };
  const { IgnoreRules } = await import("./ignore_rules.ts");
  return { filter: new IgnoreRules(texts), digest };
}

async function execute(
  sides: SyncSides,
  plan: Plan,
  base: Map<string, BaseEntry>,
  local: Map<string, SyncEntry>,
  remote: Map<string, SyncEntry>,
  options: SyncOptions,
): Promise<ExecutionResult> {
  const pending: StateChange[] = [];
  let lastFlush = performance.now();
  const flush = () => {
    if (pending.length === 0) return;
    sides.state.apply(pending.splice(0));
    lastFlush = performance.now();
  };
  try {
    return await executePlan(plan, {
      local: sides.local,
      remote: sides.remote,
      copier: sides.copier,
      trees: { local, remote },
      remember(changes) {
        pending.push(...changes);
        for (const { path, entry } of changes) {
          if (entry) base.set(path, entry);
          else base.delete(path);
        }
        // Any remembered state is safe to sync from, so batches only bound the work a crash repeats.
        if (pending.length >= 500 || performance.now() - lastFlush > 1000) flush();
      },
    }, { window: options.window, onStep: options.onStep });
  } finally {
    flush();
  }
}

function countDone(report: SyncReport): SyncTotals {
  const totals = planTotals({ ...report.plan, actions: [] });
  const failed = new Set(report.execution!.failed.map((failure) => failure.action));
  const skipped = new Set(report.execution!.skipped);
  for (const action of report.plan.actions) {
    if (!failed.has(action) && !skipped.has(action)) countAction(totals, action);
  }
  totals.failed = failed.size + skipped.size;
  return totals;
}

function finish(report: SyncReport, started: number): SyncReport {
  report.totals.seconds = (performance.now() - started) / 1000;
  return report;
}
