// loadRun: a finished (or interrupted) run folder back in memory, for evaluation code — the
// resolved config, the model with its latest saved weights (eval mode, computing in the run's
// precision: runCompute, as in training), the palette and the metrics.
// A folder that cannot be used is an InputError naming the file (one line, exit 2 on the command
// line): missing or corrupt files, config.json sections that disagree (run-file-check.ts), a palette
// that does not paint the model's K tokens, weights that do not fit the model or hold NaN/Inf.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getRngState, loadSafetensors, setRngState, tidy, TorchError, type ComputeOptions, type Tensor } from "../torch/index.ts";
import { GCRLModel } from "../model/gcrl-model.ts";
import { ModelConfigError, type ModelConfig } from "../model/config.ts";
import { PaletteQuantizer } from "../data/palette.ts";
import type { RunConfig } from "./run-config.ts";
import { RUN_FILES, RunFolderError, readMetrics, type MetricsRecord } from "./run-folder.ts";
import { readRunConfigFile, type RunConfigFile } from "./trainer.ts";
import { runCompute } from "./compute.ts";

export interface LoadedRun {
  dir: string;
  /** The run's fully resolved config. */
  config: RunConfig;
  /** The model's config (sizes from the data and palette filled in). */
  modelConfig: ModelConfig;
  /**
   * The weights of model.safetensors, in eval mode, computing as the run trained (model.compute:
   * train.precision, with the trainer's fallback). Dispose it when done.
   */
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
  /** Overrides of the run's compute options (default: none; a comparison may ask for fp32). */
  compute?: Partial<ComputeOptions>;
  /** Where the bf16 fallback's warning goes (default stderr). */
  warn?: (line: string) => void;
}

/**
 * Loads a run folder. The global random generator is left as it was (building the model draws
 * initial weights from it, which are then overwritten).
 */
export function loadRun(dir: string, options: LoadRunOptions = {}): LoadedRun {
  const run = readRunConfigFile(dir); // its sections agree (run-file-check.ts)
  const configPath = join(dir, RUN_FILES.config);
  const weightsPath = join(dir, RUN_FILES.model);
  if (!existsSync(weightsPath)) throw new RunFolderError(`${dir}: no ${RUN_FILES.model} yet (the run has not reached its first checkpoint)`);
  const palettePath = join(dir, RUN_FILES.palette);
  const palette = PaletteQuantizer.load(palettePath);
  let model: GCRLModel | null = null;
  let step = 0;
  try {
    checkPaletteFits(palette, run, palettePath, configPath);
    const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
    model = buildModel(run.model, { ...runCompute(run.config, warn, options.device ?? "cpu"), ...options.compute }, configPath);
    const built = model;
    tidy(() => {
      const { tensors, metadata } = loadSafetensors(weightsPath);
      loadWeights(built, tensors, weightsPath, configPath);
      step = Number(metadata.step ?? 0);
    });
    if (options.device !== undefined && options.device !== "cpu") model.toDevice(options.device);
  } catch (err) {
    model?.dispose();
    palette.dispose();
    throw err;
  }
  model.eval();
  return { dir, config: run.config, modelConfig: { ...model.config }, model, palette, metrics: readMetrics(join(dir, RUN_FILES.metrics)), step, run };
}

/** palette.json must paint the model's K tokens in the run's channels; a swapped or edited file is a RunFolderError. */
function checkPaletteFits(palette: PaletteQuantizer, run: RunConfigFile, palettePath: string, configPath: string): void {
  if (palette.k !== run.model.vocabSize) {
    throw new RunFolderError(
      `${palettePath}: has K = ${palette.k} colours but the model predicts ${run.model.vocabSize} (model.vocabSize in ${configPath}); ` +
        `the palette is not this run's: put back the palette.json it was trained with`,
    );
  }
  const channels = run.data.imageShape[2];
  if (palette.channels !== channels) {
    throw new RunFolderError(`${palettePath}: has ${palette.channels}-channel colours but the run's images have ${channels} (data.imageShape in ${configPath}); put back the run's palette.json`);
  }
}

/** The model of config.json's `model` section computing with `compute`, with fresh weights; the global random generator is left as it was. */
function buildModel(config: ModelConfig, compute: Partial<ComputeOptions>, configPath: string): GCRLModel {
  const rng = getRngState();
  try {
    return new GCRLModel(config, compute);
  } catch (err) {
    if (err instanceof ModelConfigError) throw new RunFolderError(`${configPath}: model: ${err.problems.join("; ")}`);
    throw err;
  } finally {
    setRngState(rng);
    rng.dispose();
  }
}

/**
 * Copies the weights of model.safetensors into `model`. Tensors that do not fit the model's config
 * (names, shapes) or hold NaN/Inf (a damaged file: training never saves non-finite weights) are a
 * RunFolderError naming the file and the tensor.
 */
function loadWeights(model: GCRLModel, tensors: Map<string, Tensor>, weightsPath: string, configPath: string): void {
  for (const [name, t] of tensors) {
    if (!t.isfinite().all().item()) {
      throw new RunFolderError(
        `${weightsPath}: tensor '${name}' holds NaN or infinite values (the file is damaged: training never saves them); ` +
          `restore it from a copy, or resume the run with a larger budget (\`gcrl train --resume DIR --steps N\`: its next checkpoint rewrites the file)`,
      );
    }
  }
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    if (!(err instanceof TorchError)) throw err;
    // Module.loadStateDict's detail is "48 problem(s): shape mismatch for …; …": the first three are enough.
    const detail = err.detail;
    const colon = detail.indexOf(": ");
    const problems = colon < 0 ? [] : detail.slice(colon + 2).split("; ");
    const summary = problems.length > 3 ? `${detail.slice(0, colon)}: ${problems.slice(0, 3).join("; ")}; …` : detail;
    throw new RunFolderError(`${weightsPath}: does not fit the model described by ${configPath} (${summary}); was config.json edited?`);
  }
}
