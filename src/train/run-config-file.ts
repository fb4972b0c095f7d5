// A run folder's config.json: what it holds (RunConfigFile), reading and validating it, the
// comparison a resume makes against it, and the record a new or resumed run writes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../model/config.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import { setSize, type ImageSet } from "../data/image-set.ts";
import type { PaletteQuantizer } from "../data/palette.ts";
import { KNN_DEFAULTS } from "../metrics/knn.ts";
import type { RunConfig } from "./run-config.ts";
import { resolveStoredRunConfig } from "./run-file-check.ts";
import { RUN_FILES, RunFolderError, checkRunFolder } from "./run-folder.ts";

export const RUN_FORMAT = "gcrl.run";
export const RUN_VERSION = 1;

/** What config.json holds. */
export interface RunConfigFile {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  /** The gcrl version that started the run. */
  gcrl: string;
  /** The command line that started the run (null from the library API). */
  command: string[] | null;
  created: string;
  /** The fully resolved RunConfig (the budget is updated when a resume extends it). */
  config: RunConfig;
  /** The model config derived from it and the data (height, width, vocabSize filled in). */
  model: ModelConfig;
  data: {
    train: { source: string; images: number };
    eval: { source: string; images: number };
    /** [H, W, C]. */
    imageShape: [number, number, number];
    paletteK: number;
  };
  /** Fixed evaluation settings. */
  evaluation: { knn: { k: number; temperature: number; trainImages: number } };
  device: string;
  /** Each resume: when, at which step, with which command line. */
  resumes: { at: string; step: number; command: string[] | null }[];
}

/** The config a run folder was made with (config.json, validated). */
export function readRunConfigFile(dir: string): RunConfigFile {
  checkRunFolder(dir);
  const path = join(dir, RUN_FILES.config);
  let value: RunConfigFile;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as RunConfigFile;
  } catch (err) {
    throw new RunFolderError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (value?.format !== RUN_FORMAT) throw new RunFolderError(`${path}: format is ${JSON.stringify(value?.format)}, expected "${RUN_FORMAT}"`);
  if (value.version !== RUN_VERSION) throw new RunFolderError(`${path}: version ${JSON.stringify(value.version)} is not supported (this gcrl reads version ${RUN_VERSION})`);
  value.config = resolveStoredRunConfig(value, path); // sections that disagree (an edited model.d) are a RunFolderError
  return value;
}

/** Key paths where two configs differ, outside `budget` (e.g. ["model.d", "train.batchSize"]). */
export function configDifferences(a: unknown, b: unknown, path = ""): string[] {
  if (path === "budget") return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => configDifferences(a[k], b[k], path === "" ? k : `${path}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

/** The value at a dotted key path of a config (undefined where it has none). */
export function lookup(config: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), config);
}

/** What a run's config.json describes besides the config: the built model and the loaded data. */
export interface RunRecordInput {
  config: RunConfig;
  /** config.json as read on resume, else null (a new run). */
  stored: RunConfigFile | null;
  command: string[] | null;
  device: string;
  model: GCRLModel;
  palette: PaletteQuantizer;
  trainSet: ImageSet;
  evalSet: ImageSet | null;
  knnSet: ImageSet | null;
  /** [H, W, C] of the training images. */
  shape: [number, number, number];
}

/**
 * config.json for this session: a new run's full record, or on resume the stored one with the
 * config (its budget) replaced and a resume entry appended (its step is filled in once the
 * checkpoint is read). A resumed run whose rebuilt model differs from the recorded one is refused.
 */
export function runConfigFileFor(dir: string, r: RunRecordInput): RunConfigFile {
  const { config, stored, command, model, palette, trainSet, evalSet, knnSet } = r;
  const runFile: RunConfigFile = stored !== null
    ? { ...stored, config, resumes: [...(stored.resumes ?? []), { at: new Date().toISOString(), step: 0, command }] }
    : {
        format: RUN_FORMAT, version: RUN_VERSION, gcrl: gcrlVersion(), command, created: new Date().toISOString(), config,
        model: { ...model.config },
        data: {
          train: { source: trainSet.source, images: setSize(trainSet) },
          eval: { source: evalSet?.source ?? "none", images: evalSet === null ? 0 : setSize(evalSet) },
          imageShape: r.shape, paletteK: palette.k,
        },
        evaluation: { knn: { k: KNN_DEFAULTS.k, temperature: KNN_DEFAULTS.temperature, trainImages: knnSet === null ? 0 : setSize(knnSet) } },
        device: r.device, resumes: [],
      };
  if (stored !== null && configDifferences(stored.model, model.config).length > 0) {
    throw new RunFolderError(`resuming ${dir}: the model built from its config (${model.describe()}) differs from the one recorded in ${RUN_FILES.config}: ${configDifferences(stored.model, model.config).join(", ")}`);
  }
  return runFile;
}

function gcrlVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
