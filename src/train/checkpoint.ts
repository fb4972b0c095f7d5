// Checkpoints: everything a resume needs, in ONE atomic file (checkpoint.safetensors), so that a
// crash can never pair new weights with an old optimizer state or loader position:
//
//   tensors   model/<key>            the model's state dict (float32)
//             optimizer/state.N.<m>  AdamW's moments (exp_avg, exp_avg_sq) per parameter index N
//             rng                    the global CPU generator's state (uint8; dropout draws from it)
//   metadata  format "gcrl.checkpoint", version "1", step "<N>",
//             state  the TrainState JSON (step, loader position, elapsed time, schedule length,
//                    pending metric sums, last/best metrics, the optimizer's JSON state)
//
// After it, model.safetensors (the weights alone, PyTorch-readable, metadata step) and
// checkpoint.json (a readable copy of the state) are rewritten; both are conveniences and a
// resume never reads them.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Tensor, getRngState, loadSafetensors, saveSafetensors, tidy, type OptimizerState, type OptimizerStateJson, type Module } from "../torch/index.ts";
import type { LoaderPosition } from "../data/loader.ts";
import { RUN_FILES, RunFolderError } from "./run-folder.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";

export const CHECKPOINT_FORMAT = "gcrl.checkpoint";
export const CHECKPOINT_VERSION = 1;

/** Training metrics of one logged line: means over the steps since the previous line. */
export interface TrainMetrics {
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  /** Generative NLL of the weak view, nats per pixel (null in simclr mode). */
  generative: number | null;
  generativeBitsPerDim: number | null;
  /** NT-Xent (null in igpt mode). */
  contrastive: number | null;
  contrastiveAccuracy: number | null;
  /** Total gradient norm before clipping (null when clipping is off). */
  gradNorm: number | null;
}

/** One evaluation on the held-out images. */
export interface EvalMetrics {
  step: number;
  epoch: number;
  /** Mean per-pixel NLL of the eval images in nats (null in simclr mode: no trained decoder). */
  testNll: number | null;
  testBitsPerDim: number | null;
  /** Weighted kNN top-1 accuracy (null for unlabeled data). */
  knnAccuracy: number | null;
}

/** Sums since the last logged metrics line (kept in the checkpoint so a resumed run logs the same means). */
export interface PendingSums {
  count: number;
  loss: number;
  generative: number;
  contrastive: number;
  contrastiveAccuracy: number;
  gradNorm: number;
}

export interface BestMetric {
  value: number;
  step: number;
}

export interface TrainState {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Optimizer steps done. */
  step: number;
  /** The loader's next batch. */
  position: LoaderPosition;
  /** Training time so far, over every session of the run (seconds). */
  elapsedSeconds: number;
  /** Length of the learning-rate schedule (warmupCosine's totalSteps); null until estimated (minutes budgets). */
  scheduleSteps: number | null;
  pending: PendingSums;
  last: TrainMetrics | null;
  lastEval: EvalMetrics | null;
  best: { testNll: BestMetric | null; knnAccuracy: BestMetric | null };
  optimizer: OptimizerStateJson;
  savedAt: string;
}

export interface LoadedCheckpoint {
  state: TrainState;
  /** The model's state dict (keys without the "model/" prefix). */
  model: Map<string, Tensor>;
  optimizer: OptimizerState;
  rng: Tensor | null;
}

const MODEL_PREFIX = "model/";
const OPTIMIZER_PREFIX = "optimizer/";

/**
 * Writes checkpoint.safetensors (atomically: the commit point), then model.safetensors and
 * checkpoint.json. `state.optimizer` is filled in from the optimizer.
 */
export function saveCheckpoint(dir: string, model: Pick<Module, "stateDict">, optimizer: { stateDict(): OptimizerState }, state: Omit<TrainState, "optimizer" | "format" | "version" | "savedAt">): TrainState {
  return tidy(() => {
    const opt = optimizer.stateDict();
    const full: TrainState = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...state, optimizer: opt.json, savedAt: new Date().toISOString() };
    const tensors = new Map<string, Tensor>();
    const weights = model.stateDict();
    for (const [key, t] of weights) tensors.set(MODEL_PREFIX + key, t);
    for (const [key, t] of opt.tensors) tensors.set(OPTIMIZER_PREFIX + key, t);
    tensors.set("rng", getRngState());
    saveSafetensors(join(dir, RUN_FILES.checkpoint), tensors, {
      format: CHECKPOINT_FORMAT,
      version: String(CHECKPOINT_VERSION),
      step: String(state.step),
      state: JSON.stringify(full),
    });
    saveSafetensors(join(dir, RUN_FILES.model), weights, { format: "gcrl.model", step: String(state.step) });
    writeFileAtomic(join(dir, RUN_FILES.checkpointJson), formatJson(full));
    return full;
  });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.checkpoint));
}

/**
 * Reads checkpoint.safetensors (tensors on the CPU; Module.loadStateDict and
 * Optimizer.loadStateDict copy them to the parameters' device). Every malformed part is an error
 * naming the file.
 */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const path = join(dir, RUN_FILES.checkpoint);
  const fail = (problem: string): never => {
    throw new RunFolderError(`${path}: ${problem}`);
  };
  const { tensors, metadata } = loadSafetensors(path);
  const dispose = (): void => {
    for (const t of tensors.values()) t.dispose();
  };
  try {
    if (metadata.format !== CHECKPOINT_FORMAT) fail(`format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}" — is this a gcrl checkpoint?`);
    if (metadata.version !== String(CHECKPOINT_VERSION)) fail(`version ${JSON.stringify(metadata.version)} is not supported (this gcrl reads version ${CHECKPOINT_VERSION})`);
    let state: TrainState;
    try {
      state = JSON.parse(metadata.state ?? "") as TrainState;
    } catch {
      return fail("the metadata has no valid 'state' JSON");
    }
    if (typeof state !== "object" || state === null || !Number.isInteger(state.step) || String(state.step) !== metadata.step) {
      fail(`the state's step (${String((state as { step?: unknown } | null)?.step)}) does not match the file's step (${metadata.step})`);
    }
    if (typeof state.position?.epoch !== "number" || typeof state.position?.batch !== "number") fail("the state has no loader position");
    if (typeof state.optimizer !== "object" || state.optimizer === null) fail("the state has no optimizer state");
    const model = new Map<string, Tensor>();
    const optimizerTensors = new Map<string, Tensor>();
    let rng: Tensor | null = null;
    for (const [key, t] of tensors) {
      if (key.startsWith(MODEL_PREFIX)) model.set(key.slice(MODEL_PREFIX.length), t);
      else if (key.startsWith(OPTIMIZER_PREFIX)) optimizerTensors.set(key.slice(OPTIMIZER_PREFIX.length), t);
      else if (key === "rng") rng = t;
      else fail(`unexpected tensor '${key}'`);
    }
    if (model.size === 0) fail("no model weights (model/*)");
    return { state, model, optimizer: { json: state.optimizer, tensors: optimizerTensors }, rng };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** Frees the tensors of a loaded checkpoint. */
export function disposeCheckpoint(c: LoadedCheckpoint): void {
  for (const t of c.model.values()) t.dispose();
  for (const t of c.optimizer.tensors.values()) t.dispose();
  c.rng?.dispose();
}
