// loadRun: a finished (or interrupted) run folder back in memory, for evaluation code — the
// resolved config, the model with its latest saved weights (eval mode), the palette and the metrics.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getRngState, loadSafetensors, setRngState, tidy } from "../torch/index.ts";
import { GCRLModel } from "../model/gcrl-model.ts";
import type { ModelConfig } from "../model/config.ts";
import { PaletteQuantizer } from "../data/palette.ts";
import type { RunConfig } from "./run-config.ts";
import { RUN_FILES, RunFolderError, readMetrics, type MetricsRecord } from "./run-folder.ts";
import { readRunConfigFile, type RunConfigFile } from "./trainer.ts";

export interface LoadedRun {
  dir: string;
  /** The run's fully resolved config. */
  config: RunConfig;
  /** The model's config (sizes from the data and palette filled in). */
  modelConfig: ModelConfig;
  /** The weights of model.safetensors, in eval mode. Dispose it when done. */
  model: GCRLModel;
  palette: PaletteQuantizer;
  /** metrics.jsonl, in order: { kind: "train" | "eval", step, ... }. */
  metrics: MetricsRecord[];
  /** The step the weights were saved at. */
  step: number;
  /** Everything in config.json (gcrl version, command line, data sources, resumes). */
  run: RunConfigFile;
}

export interface LoadRunOptions {
  /** Put the model here (default "cpu"). */
  device?: string;
}

/**
 * Loads a run folder. The global random generator is left as it was (building the model draws
 * initial weights from it, which are then overwritten).
 */
export function loadRun(dir: string, options: LoadRunOptions = {}): LoadedRun {
  const run = readRunConfigFile(dir);
  const weightsPath = join(dir, RUN_FILES.model);
  if (!existsSync(weightsPath)) throw new RunFolderError(`${dir}: no ${RUN_FILES.model} yet (the run has not reached its first checkpoint)`);
  const palette = PaletteQuantizer.load(join(dir, RUN_FILES.palette));
  const rng = getRngState();
  let model: GCRLModel;
  try {
    model = new GCRLModel(run.model);
  } finally {
    setRngState(rng);
    rng.dispose();
  }
  let step = 0;
  try {
    tidy(() => {
      const { tensors, metadata } = loadSafetensors(weightsPath);
      model.loadStateDict(tensors);
      step = Number(metadata.step ?? 0);
    });
    if (options.device !== undefined && options.device !== "cpu") model.toDevice(options.device);
  } catch (err) {
    model.dispose();
    palette.dispose();
    throw err;
  }
  model.eval();
  return { dir, config: run.config, modelConfig: { ...model.config }, model, palette, metrics: readMetrics(join(dir, RUN_FILES.metrics)), step, run };
}
