// A run folder (runs/<name>/): the files a training run writes, refusing to overwrite, the metrics
// file and the log (atomic writes and the JSON layout are src/util's). See docs/training.md, "Run
// folder".
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { InputError, makeFolder, withFile } from "../util/input-error.ts";

/** File names inside a run folder. */
export const RUN_FILES = Object.freeze({
  /** The fully resolved RunConfig, the derived model config, gcrl version, command line. */
  config: "config.json",
  /** The color palette (PaletteQuantizer JSON). */
  palette: "palette.json",
  /** The model weights alone (safetensors; PyTorch-readable), rewritten at every checkpoint. */
  model: "model.safetensors",
  /** Everything a resume needs in one atomic file: weights, optimizer tensors, RNG, and the state JSON in its metadata. */
  checkpoint: "checkpoint.safetensors",
  /** A readable copy of the checkpoint's state JSON (step, loader position, metrics); not read on resume. */
  checkpointJson: "checkpoint.json",
  /** One JSON object per line: training metrics and evaluations. */
  metrics: "metrics.jsonl",
  /** The plain progress lines. */
  log: "train.log",
});

/** Present only while a process writes into the run: its pid, host, command (src/train/run-lock.ts). */
export const LOCK_FILE = "lock";

/** A run folder or one of its files that cannot be used (an InputError: one line, exit 2 on the command line). */
export class RunFolderError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "RunFolderError";
  }
}

/**
 * Makes `dir` ready for a new run: creates it, or accepts it when it exists and is empty (but for a
 * lock, which the caller then tries to take). A folder with anything else in it is refused (a run is
 * never overwritten).
 */
export function createRunFolder(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new RunFolderError(`${dir} exists and is not a folder; choose another --out`);
    const entries = readdirSync(dir).filter((name) => name !== LOCK_FILE);
    if (entries.length > 0) {
      const isRun = entries.includes(RUN_FILES.config);
      throw new RunFolderError(
        isRun
          ? `${dir} already holds a run (${RUN_FILES.config}, ${entries.length} files); continue it with \`gcrl train --resume ${dir}\`, or choose another --out (a run is never overwritten)`
          : `${dir} already exists and is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}); choose another --out`,
      );
    }
    return;
  }
  makeFolder(dir); // "DIR: cannot create the folder: …" (a path under a file, no permission, full disk)
}

/** Throws unless `dir` is a run folder (has config.json). */
export function checkRunFolder(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RunFolderError(`${dir}: no such run folder`);
  if (!existsSync(join(dir, RUN_FILES.config))) throw new RunFolderError(`${dir} is not a run folder (no ${RUN_FILES.config})`);
}

/** Removes temporary files left by an interrupted atomic write (".<name>.<pid>.<hex>.tmp", src/util/atomic-file.ts). */
export function removeStaleTemporaries(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (/^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name)) {
      try {
        unlinkSync(join(dir, name));
        removed.push(name);
      } catch {
        // gone already
      }
    }
  }
  return removed;
}

// ---- metrics.jsonl ------------------------------------------------------------------------------

/** One line of metrics.jsonl: a training record or an evaluation record (see docs/training.md). */
export type MetricsRecord = { kind: "train" | "eval"; step: number } & Record<string, number | string | null>;

/**
 * Appends one JSON line per record; each append is one write() (flushed to the OS). A failed write
 * (full disk) is a FileError naming the file — Node's own message names none.
 */
export function appendMetrics(path: string, record: MetricsRecord): void {
  withFile(path, "write", () => appendFileSync(path, `${JSON.stringify(record)}\n`));
}

/** Where readMetrics reports the lines it skips: stderr, "gcrl: warning: …". */
function warnOnStderr(message: string): void {
  process.stderr.write(`gcrl: warning: ${message}\n`);
}

/**
 * The records of a metrics file in order ([] when there is none). A torn last line (a crash
 * mid-write) is skipped silently; a malformed line elsewhere (a damaged or hand-edited file) is
 * skipped with a warning naming the line, so that resume, sample and eval still work when the
 * weights and checkpoint are fine (a resume rewrites the file without it).
 */
export function readMetrics(path: string, warn: (message: string) => void = warnOnStderr): MetricsRecord[] {
  if (!existsSync(path)) return [];
  const lines = withFile(path, "read", () => readFileSync(path, "utf8")).split("\n");
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (i >= lines.length - 2) return; // the last line, possibly torn
      warn(`${path}:${i + 1}: not a JSON line; skipped`);
      return;
    }
    if (typeof value !== "object" || value === null || typeof (value as { step?: unknown }).step !== "number") {
      warn(`${path}:${i + 1}: expected an object with a numeric "step"; skipped`);
      return;
    }
    out.push(value as MetricsRecord);
  });
  return out;
}

/**
 * Keeps only the records with step <= `step` (rewritten atomically): after a resume from a
 * checkpoint at `step`, the records of the lost steps are dropped and then written again, so the
 * file reads as one uninterrupted run. Returns how many records were dropped.
 */
export function truncateMetrics(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const records = readMetrics(path);
  const kept = records.filter((r) => r.step <= step);
  const dropped = records.length - kept.length;
  const text = kept.map((r) => `${JSON.stringify(r)}\n`).join("");
  if (dropped > 0 || readFileSync(path, "utf8") !== text) writeFileAtomic(path, text);
  return dropped;
}

/** Appends a line to train.log; a failed write (full disk) is a FileError naming the file. */
export function appendLog(path: string, line: string): void {
  withFile(path, "write", () => appendFileSync(path, `${line}\n`));
}
