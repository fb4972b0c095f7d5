// What `gcrl sample` and `gcrl complete` share: the sampling options (temperature, top-k, seed,
// batch size), loading a run whose decoder was trained, and a progress line on a TTY.
import { loadRun, type LoadedRun } from "../train/load-run.ts";
import type { SampleOptions } from "../eval/sampling.ts";
import { intOption, UsageError, type OptionTable } from "./args.ts";
import { deviceOption } from "./device-option.ts";

export const SAMPLING_OPTIONS = {
  temperature: { type: "string", default: "1", value: "T", help: "sampling temperature > 0: logits / T (< 1 sharper, > 1 more varied)" },
  "top-k": { type: "string", default: "0", value: "K", help: "keep only the K most likely colours of each pixel (0: all)" },
  seed: { type: "string", default: "0", value: "N", help: "seed of the random draws (same seed, same pictures)" },
  "batch-size": { type: "string", default: "64", value: "N", help: "images per network pass" },
  scale: { type: "string", default: "3", value: "N", help: "upscaling factor of the picture" },
  device: { type: "string", default: "cpu", value: "DEVICE", help: "cpu, cuda or cuda:N" },
} satisfies OptionTable;

type SamplingValues = { [K in keyof typeof SAMPLING_OPTIONS]: string };

/** A finite number > 0 from an option value, or a UsageError naming the option. */
export function positiveNumberOption(name: string, value: string): number {
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x) || x <= 0) throw new UsageError(`--${name}: expected a number > 0, got '${value}'`);
  return x;
}

/** The sampling options as SampleOptions for a model with K colours (top-k checked against K). */
export function parseSampling(values: SamplingValues, k: number): Required<Pick<SampleOptions, "temperature" | "topK" | "seed" | "batchSize">> {
  return {
    temperature: positiveNumberOption("temperature", values.temperature),
    topK: intOption("top-k", values["top-k"], 0, k),
    seed: intOption("seed", values.seed, 0, 0xffffffff),
    batchSize: intOption("batch-size", values["batch-size"], 1),
  };
}

/**
 * loadRun after checking --device, refusing runs whose decoder was never trained (objective mode
 * simclr). A missing, corrupt or inconsistent run file is loadRun's InputError naming the file
 * (one line, exit 2 through runCommand).
 */
export function loadSamplingRun(dir: string | undefined, device: string): LoadedRun {
  if (dir === undefined) throw new UsageError("--run DIR is required (a run folder written by `gcrl train`)");
  const run = loadRun(dir, { device: deviceOption(device) });
  if (run.config.objective.mode === "simclr") {
    run.model.dispose();
    run.palette.dispose();
    throw new UsageError(`--run ${dir}: the run was trained in simclr mode (objective.mode "simclr"), so its decoder was never trained and has nothing to sample; use a gcrl or igpt run`);
  }
  return run;
}

/** "row 12/28" on stderr, rewritten in place, when stderr is a terminal; nothing in pipes. */
export function rowProgress(label: string): { onProgress?: (done: number, total: number) => void; end: () => void } {
  if (!process.stderr.isTTY) return { end: () => {} };
  const started = performance.now();
  return {
    onProgress: (done, total) => {
      const s = (performance.now() - started) / 1000;
      const eta = done > 0 ? (s / done) * (total - done) : 0;
      process.stderr.write(`\r${label}: row ${done}/${total}, ${s.toFixed(0)} s, ETA ${eta.toFixed(0)} s   `);
    },
    end: () => process.stderr.write("\n"),
  };
}
