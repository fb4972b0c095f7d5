// Reading a run's config.json safely. The file holds the run config twice over: `config` (what the
// user asked for, resolved) and `model` + `data` (what the trainer derived from it and the data:
// the model config with height, width and vocabSize, the image shape, the palette size). They are
// written together, so when they disagree the file was edited (e.g. model.d changed but not
// config.model.d). Resume builds the model from `config.model`, eval and sample from `model`: left
// alone, each would silently pick a different side. The disagreement is reported instead, naming
// both keys.
import type { ModelConfig } from "../model/config.ts";
import type { RunConfig } from "./run-config.ts";
import { resolveRunConfig, RunConfigError } from "./run-config-validate.ts";
import { RunFolderError } from "./run-folder.ts";

/** The sections of config.json compared here, as read from the file (nothing resolved yet). */
export interface StoredRunSections {
  config: unknown;
  model: ModelConfig;
  data: { imageShape: [number, number, number]; paletteK: number };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v) ?? "nothing";

/**
 * Where the sections of a stored config.json disagree, one "A is x but B is y" per pair ([] when
 * they agree). Only keys present in both are compared: a key added to the model config by a later
 * gcrl is absent from older files' `model` and is not a disagreement.
 */
export function runSectionConflicts(file: StoredRunSections): string[] {
  const conflicts: string[] = [];
  const differ = (a: string, x: unknown, b: string, y: unknown): void => {
    if (show(x) !== show(y)) conflicts.push(`${a} is ${show(x)} but ${b} is ${show(y)}`);
  };
  const config = isRecord(file.config) ? file.config : {};
  const model: Record<string, unknown> = isRecord(file.model) ? { ...file.model } : {};
  const asked = isRecord(config.model) ? config.model : {};
  for (const [key, value] of Object.entries(asked)) {
    if (Object.hasOwn(model, key)) differ(`config.model.${key}`, value, `model.${key}`, model[key]);
  }
  const data: Record<string, unknown> = isRecord(file.data) ? { ...file.data } : {};
  const shape = Array.isArray(data.imageShape) ? (data.imageShape as unknown[]) : null;
  if (shape !== null) {
    differ("data.imageShape[0] (height)", shape[0], "model.height", model.height);
    differ("data.imageShape[1] (width)", shape[1], "model.width", model.width);
  }
  if (data.paletteK !== undefined) differ("data.paletteK", data.paletteK, "model.vocabSize", model.vocabSize);
  const paletteK = isRecord(config.palette) ? config.palette.k : undefined;
  if (typeof paletteK === "number") differ("config.palette.k", paletteK, "model.vocabSize", model.vocabSize);
  return conflicts;
}

/**
 * The run config stored in config.json (`path`), resolved and validated, after checking that its
 * sections agree. A bad key or value, or sections that disagree, is a RunFolderError naming the
 * file and the keys (one line on the command line, exit 2).
 */
export function resolveStoredRunConfig(file: StoredRunSections, path: string): RunConfig {
  const conflicts = runSectionConflicts(file);
  if (conflicts.length > 0) {
    throw new RunFolderError(
      `${path}: its sections disagree: ${conflicts.join("; ")}. The trainer writes them together, so the file was edited; ` +
        `a run's model cannot change after training: put back the value it was trained with`,
    );
  }
  try {
    return resolveRunConfig(file.config, path);
  } catch (err) {
    if (err instanceof RunConfigError) throw new RunFolderError(`${path}: ${err.problems.join("; ")}`); // each problem names its key
    throw err;
  }
}
