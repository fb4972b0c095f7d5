// What `gcrl sample` and `gcrl complete` share: the sampling options (temperature, top-k, seed,
// batch size), loading a run whose decoder was trained, and a progress line on a TTY.
import { loadRun, type LoadedRun } from "../train/load-run.ts";
import { SAMPLING_SETTINGS, type SampleOptions } from "../eval/sampling.ts";
import { deviceOptionSpec, intOption, settingOptions, settingsFromValues, UsageError, type OptionTable } from "./args.ts";
import { deviceOption } from "./device-option.ts";

const SAMPLING_KEYS = ["temperature", "topK", "seed", "batchSize"] as const;

/** The sampling settings' options (from SAMPLING_SETTINGS), the picture's scale and the device. */
export const SAMPLING_OPTIONS = {
  ...(settingOptions(SAMPLING_SETTINGS, SAMPLING_KEYS) as Record<"temperature" | "top-k" | "seed" | "batch-size", { type: "string"; default: string; value: string; help: string }>),
  scale: { type: "string", default: "3", value: "N", help: "upscaling factor of the picture" },
  device: deviceOptionSpec(),
} satisfies OptionTable;

type SamplingValues = { [K in keyof typeof SAMPLING_OPTIONS]: string };

/** The sampling options as SampleOptions for a model with K colours (top-k checked against K). */
export function parseSampling(values: SamplingValues, k: number): Required<Pick<SampleOptions, "temperature" | "topK" | "seed" | "batchSize">> {
  const s = settingsFromValues(SAMPLING_SETTINGS, SAMPLING_KEYS, values) as Required<Pick<SampleOptions, "temperature" | "topK" | "seed" | "batchSize">>;
  intOption("top-k", values["top-k"], 0, k); // within the model's K colours
  return s;
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
