// The run-folder lock (docs/training.md, "Lock"): <run>/lock names the one process that writes into
// a run — a trainer (a study's runs included) or `gcrl eval all` — so that a second one refuses
// instead of interleaving metrics.jsonl and checkpoints. Read-only commands (gcrl sample, an eval that
// only reads its cache, loadRun) never look at it.
//
//   const lock = acquireRunLock("runs/x", "gcrl eval all runs/x");   // or throws RunLockError
//   try { …write into runs/x… } finally { lock.release(); }
//
// The file is one JSON object (LockHolder). It is created whole and exclusively: written to a
// temporary file, then link(2)ed to <run>/lock, which fails when a lock exists — O_EXCL's guarantee
// without a moment where the lock is empty. A lock whose process is gone (same host, kill(pid, 0) →
// ESRCH, or the pid now belongs to a process started at another time) is stale and taken over. The
// lock is released by release(), and on process exit (process.exit() after a second Ctrl-C
// included); a SIGKILL or an OOM kill leaves a stale lock, which the next taker detects.
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, RunFolderError } from "./run-folder.ts";
import { withFile } from "../util/input-error.ts";

export const LOCK_FORMAT = "gcrl.lock";

/** What <run>/lock holds. */
export interface LockHolder {
  format: typeof LOCK_FORMAT;
  pid: number;
  host: string;
  /** What holds it, e.g. "gcrl train --resume runs/x". */
  command: string;
  /** ISO time the lock was taken. */
  started: string;
  /** Random: tells this lock from a later one of the same pid. */
  token: string;
  /** The process's start time (/proc/<pid>/stat field 22, clock ticks since boot): detects a reused pid; null off Linux. */
  processStart: string | null;
}

/** The folder is locked by a live process (or its lock cannot be read). Exit code 2, like every RunFolderError. */
export class RunLockError extends RunFolderError {
  constructor(
    readonly dir: string,
    /** The lock's holder; null when the lock file is not a gcrl lock. */
    readonly holder: LockHolder | null,
    message: string,
  ) {
    super(message);
    this.name = "RunLockError";
  }
}

export interface RunLock {
  readonly dir: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this one; calling it again does nothing. */
  release(): void;
}

/** Locks held by this process, by token → lock path: released on exit. */
const held = new Map<string, string>();
let exitHook = false;

/**
 * Takes `dir`'s lock for `command` (shown to whoever finds the folder locked), taking over a stale
 * one. Throws RunLockError naming the holder's pid, host, command and start time when a live
 * process holds it.
 */
export function acquireRunLock(dir: string, command: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const holder: LockHolder = {
    format: LOCK_FORMAT, pid: process.pid, host: hostname(), command, started: new Date().toISOString(),
    token: randomBytes(8).toString("hex"), processStart: processStartTime(process.pid),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, holder)) return hold(dir, path, holder);
    const current = readLockFile(path);
    if (current === undefined) continue; // released meanwhile
    if (current === null) throw new RunLockError(dir, null, `${dir} is locked by ${path}, which is not a gcrl lock; remove it if no gcrl command is writing into ${dir}`);
    if (!isStale(current)) throw new RunLockError(dir, current, describeLocked(dir, path, current));
    removeStale(path, current);
  }
  throw new RunLockError(dir, null, `${dir}: the lock ${path} kept changing hands; try again`);
}

/** The holder of `dir`'s lock, or null when there is none (or it is not a gcrl lock). */
export function readRunLock(dir: string): LockHolder | null {
  return readLockFile(join(dir, LOCK_FILE)) ?? null;
}

/** Whether the lock's process is gone: only decidable on this host (else false). */
export function isStale(h: LockHolder): boolean {
  if (h.host !== hostname()) return false;
  if (h.pid === process.pid) return !held.has(h.token);
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: alive, another user's
  }
  const start = processStartTime(h.pid);
  return h.processStart !== null && start !== null && start !== h.processStart; // the pid was reused
}

function describeLocked(dir: string, path: string, h: LockHolder): string {
  const where = h.host === hostname() ? `pid ${h.pid}` : `pid ${h.pid} on host ${h.host}`;
  const otherHost = h.host === hostname() ? "" : ` (${path} was written on another host, so this one cannot tell whether it still runs; remove the file if it does not)`;
  return `${dir} is in use by ${where} (${h.command}, since ${h.started})${otherHost}; wait for it to finish or stop it, then try again`;
}

/** Writes the lock whole, then links it into place: false when a lock exists already. */
function createExclusive(path: string, holder: LockHolder): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.new`;
  withFile(path, "write", () => writeFileSync(temporary, `${JSON.stringify(holder, null, 2)}\n`, { flag: "wx" })); // ENOSPC: "runs/x/lock: cannot write: …"
  try {
    linkSync(temporary, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(temporary);
  }
}

/** The lock file's holder; undefined when there is no file, null when it is not a gcrl lock. */
function readLockFile(path: string): LockHolder | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    const ok = value.format === LOCK_FORMAT && Number.isInteger(value.pid) && typeof value.host === "string" && typeof value.token === "string";
    return ok ? (value as LockHolder) : null;
  } catch {
    return null;
  }
}

/**
 * Moves the stale lock aside and deletes it. Renaming first means that of two processes taking
 * over the same stale lock, the second moves aside at most the first one's new lock, which it
 * then sees (another token) and links back.
 */
function removeStale(path: string, stale: LockHolder): void {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // someone else took it over
    throw err;
  }
  if (readLockFile(aside)?.token !== stale.token) {
    try {
      linkSync(aside, path); // a live lock: put it back (unless yet another one exists)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  unlinkSync(aside);
}

function hold(dir: string, path: string, holder: LockHolder): RunLock {
  held.set(holder.token, path);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const [token, p] of held) releasePath(p, token);
    });
  }
  return { dir, holder, release: () => releasePath(path, holder.token) };
}

function releasePath(path: string, token: string): void {
  if (!held.delete(token)) return;
  if (readLockFile(path)?.token !== token) return; // taken over meanwhile (e.g. after a SIGSTOP): not ours to remove
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null where unreadable. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) ": state is field 3
    return fields[22 - 3] ?? null;
  } catch {
    return null;
  }
}
