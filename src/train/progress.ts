// Progress output of a training run. Every plain line goes to train.log. On a terminal, one status
// line is redrawn in place (at most 10 times a second) and only the lasting lines (start, evaluations,
// end) scroll; elsewhere (pipes, files, a `log` callback) a plain line is written every
// train.logEvery steps.
import { appendLog } from "./run-folder.ts";
import type { EvalMetrics, TrainMetrics } from "./checkpoint.ts";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const num = (x: number | null, digits = 4): string => (x === null ? "-" : x.toFixed(digits));

export interface LineContext {
  /** The step budget (null: a minutes budget without a step estimate yet). */
  totalSteps: number | null;
  imagesPerSecond: number;
  etaSeconds: number | null;
}

/** "step 50/1000  epoch 0.42  loss 3.1416  gen 1.2345 (1.781 bits/dim)  con 2.0000  acc 0.531  lr 3.00e-4  812 img/s  ETA 1m02s" */
export function formatTrainLine(m: TrainMetrics, c: LineContext): string {
  const parts = [
    `step ${m.step}${c.totalSteps === null ? "" : `/${c.totalSteps}`}`,
    `epoch ${m.epoch.toFixed(2)}`,
    `loss ${num(m.loss)}`,
  ];
  if (m.generative !== null) parts.push(`gen ${num(m.generative)} (${num(m.generativeBitsPerDim, 3)} bits/dim)`);
  if (m.contrastive !== null) parts.push(`con ${num(m.contrastive)}`, `acc ${num(m.contrastiveAccuracy, 3)}`);
  parts.push(`lr ${m.lr.toExponential(2)}`, `${c.imagesPerSecond.toFixed(0)} img/s`);
  if (c.etaSeconds !== null) parts.push(`ETA ${formatDuration(c.etaSeconds)}`);
  return parts.join("  ");
}

/** "eval @ step 1000: test NLL 0.8123 nats (1.172 bits/dim), kNN accuracy 81.30%" */
export function formatEvalLine(e: EvalMetrics, seconds: number): string {
  const parts: string[] = [];
  parts.push(e.testNll === null ? "test NLL n/a (simclr: no decoder)" : `test NLL ${num(e.testNll)} nats (${num(e.testBitsPerDim, 3)} bits/dim)`);
  parts.push(e.knnAccuracy === null ? "kNN n/a (no labels)" : `kNN accuracy ${(100 * e.knnAccuracy).toFixed(2)}%`);
  return `eval @ step ${e.step}: ${parts.join(", ")} [${seconds.toFixed(1)}s]`;
}

export interface ReporterOptions {
  /** train.log of the run; null: no file (a data-parallel rank other than 0). */
  logFile: string | null;
  /** Plain lines go here; null: only to train.log. */
  log: ((line: string) => void) | null;
  /** A terminal to draw the status line on (then periodic lines are not passed to `log`). */
  tty: NodeJS.WriteStream | null;
}

export class ProgressReporter {
  #lastDraw = 0;
  #statusShown = false;

  constructor(readonly options: ReporterOptions) {}

  /** A lasting line: train.log and the output (above the status line on a terminal). */
  line(text: string): void {
    if (this.options.logFile !== null) appendLog(this.options.logFile, text);
    this.#clearStatus();
    this.options.log?.(text);
  }

  /** A line for train.log only (e.g. an error the caller reports itself). */
  record(text: string): void {
    if (this.options.logFile !== null) appendLog(this.options.logFile, text);
  }

  /** A periodic progress line: train.log always; the output only when it is not a terminal. */
  periodic(text: string): void {
    if (this.options.logFile !== null) appendLog(this.options.logFile, text);
    if (this.options.tty === null) this.options.log?.(text);
  }

  /** Redraws the terminal's status line (throttled to 10 per second unless `force`). */
  status(text: string, force = false): void {
    const tty = this.options.tty;
    if (tty === null) return;
    const now = performance.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const width = tty.columns > 0 ? tty.columns - 1 : 120;
    tty.write(`\r\x1b[K${text.length > width ? text.slice(0, width - 1) + "…" : text}`);
    this.#statusShown = true;
  }

  /** Clears the status line (before the process prints anything else). */
  finish(): void {
    this.#clearStatus();
  }

  #clearStatus(): void {
    if (this.#statusShown && this.options.tty !== null) {
      this.options.tty.write("\r\x1b[K");
      this.#statusShown = false;
    }
  }
}
