// `gcrl train`: one training run into a run folder (docs/training.md).
//
//   gcrl train --config configs/demo.json --data fashion-mnist --mode gcrl --out runs/x
//   gcrl train --resume runs/x [--steps N]          continue exactly; only the budget may change
//   gcrl train --nproc 2 …                          data-parallel: 2 worker processes (train-parallel.ts);
//                                                   under torchrun's variables (RANK, …) a worker joins
//
// Config keys are set with their path (`--model.d 256`); --data, --mode, --steps, … are the
// validator's shortcuts (CONFIG_FLAG_SHORTCUTS). SIGINT/SIGTERM: the step in flight finishes, a
// checkpoint is saved, exit 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once. A NaN/Inf
// loss exits 1; usage and config errors, and unusable data, files or folders, exit 2 (one line).
import { basename } from "node:path";
import { RUN_DEFAULTS, type RunConfig } from "../train/run-config.ts";
import { applyOverrides, loadRunConfigFile, CONFIG_FLAG_SHORTCUTS, RunConfigError } from "../train/run-config-validate.ts";
import { configHelpText, extractConfigFlags, shortcutHelpText } from "./config-flags.ts";
import type { RunResult, TrainOptions } from "../train/trainer.ts";
import { parseDuration } from "../train/budget.ts";
import { KNN_TRAIN_IMAGES } from "../train/evaluate.ts";
import { deviceOptionSpec, helpText, intOption, parseOptions, runCommand, UsageError, type OptionTable } from "./args.ts";
import { DEFAULT_DIST_TIMEOUT_SECONDS, launchWorkers, threadsPerRank, torchrunEnv, watchLauncher, type TorchrunEnv } from "./train-parallel.ts";

const OPTIONS = {
  config: { type: "string", value: "FILE", help: "config file (configs/*.json): overrides of the defaults listed below" },
  out: { type: "string", value: "DIR", help: "run folder to create (default runs/<mode>-<dataset>-<timestamp>); an existing run is never overwritten" },
  resume: { type: "string", value: "DIR", help: "continue the run in DIR exactly where its checkpoint left off; only the budget may change" },
  device: deviceOptionSpec(" (bit-exact resume: cpu with train.threads set)"),
  "knn-train-images": { type: "string", default: String(KNN_TRAIN_IMAGES), value: "N", help: "evaluation: the first N training images are the kNN's labelled neighbours" },
  force: { type: "boolean", help: "train even when the memory guard estimates more memory than is available" },
  nproc: { type: "string", default: "1", value: "N", help: "data-parallel: N worker processes on this machine sharing its threads (train.batchSize stays the global batch); under torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) the process joins a job instead" },
  "dist-timeout": { type: "string", default: String(DEFAULT_DIST_TIMEOUT_SECONDS), value: "SECONDS", help: "data-parallel: how long a worker waits for its peers to join and for each exchange" },
} satisfies OptionTable;

/** The shortcuts (--data, --mode, --steps, …) parsed as plain string options, handed to applyOverrides. */
const SHORTCUT_OPTIONS: OptionTable = Object.fromEntries(
  Object.entries(CONFIG_FLAG_SHORTCUTS).map(([name, path]) => [name, { type: "string", help: `= --${path}` }]),
);

const USAGE = `gcrl train [--config FILE] [--data NAME] [--mode MODE] [--out DIR] [--steps N | --epochs N | --minutes X] [--<key> VALUE ...]
       gcrl train --resume DIR [--steps N | --epochs N | --minutes X]`;
const DESCRIPTION = `Trains a GCRL (or iGPT / SimCLR) model into a run folder: config.json, palette.json,
model.safetensors, checkpoint.safetensors + checkpoint.json, metrics.jsonl, train.log.
Any config key can be set with its path: --model.d 256 --optim.lr 1e-3 --train.batchSize 64.
--steps, --epochs and --minutes replace the whole budget (the limits not given become null); the run
stops at the first limit reached. --minutes takes minutes (45) or a duration (30m, 1.5h, 900s), as
in \`gcrl study\`. Ctrl-C (SIGINT) or SIGTERM finishes the step, saves a checkpoint and exits
130 / 143; continue with --resume. A NaN/Inf loss exits 1; a bad config, unusable data or
files, or a full disk exit 2 with one line naming the key or file; so do a run folder that another
process writes into (its lock names the pid), a run whose estimated memory exceeds what is available
(unless --force), and --threads above 4 × the cores.`;

/** runs/<mode>-<dataset>-<YYYYMMDD-HHMMSS> (local time). */
export function defaultRunFolder(config: RunConfig, now = new Date(), prefix: string = config.objective.mode): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const dataset = basename(config.data.name.replace(/^folder:/, "")).replace(/[^A-Za-z0-9_-]+/g, "_") || "data";
  return `runs/${prefix}-${dataset}-${stamp}`;
}

/** --minutes X: minutes or a duration (30m, 1.5h, 900s, train/budget.ts) → minutes as text; "null" kept. */
export function minutesFlag(text: string): string {
  if (text.trim() === "null") return text;
  const minutes = parseDuration(text);
  if (minutes === null) throw new UsageError(`--minutes: expected minutes (a number > 0) or a duration like 30m, 1.5h or 900s, got '${text}'`);
  return String(minutes);
}

function help(): string {
  return [
    helpText(USAGE, DESCRIPTION, OPTIONS),
    "",
    "Shortcuts:",
    shortcutHelpText(),
    "",
    "Config keys (--<key> VALUE; the defaults, which a --config file overrides):",
    configHelpText(),
  ].join("\n");
}

/**
 * train() with SIGINT/SIGTERM wired to its abort signal: the first signal finishes the step and
 * saves a checkpoint (exit code 130 for SIGINT, 143 for SIGTERM), a second one exits at once.
 */
export async function trainUntilSignalled(config: RunConfig, options: Omit<TrainOptions, "signal">): Promise<{ result: RunResult; exitCode: number }> {
  const { train } = await import("../train/trainer.ts");
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const exitCodeOf = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      process.stderr.write(`\ngcrl: second ${signal}: exiting now (the last checkpoint in ${options.out} is kept)\n`);
      process.exit(exitCodeOf(signal));
    }
    received = signal;
    process.stderr.write(`\ngcrl: ${signal}: finishing the current step and saving a checkpoint (send it again to exit at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await train(config, { ...options, signal: controller.signal });
    return { result, exitCode: result.status === "interrupted" ? exitCodeOf(received ?? "SIGINT") : 0 };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export async function run(argv: string[]): Promise<number> {
  return runCommand("train", async () => {
    if (argv.includes("--help") || argv.includes("-h")) {
      console.log(help());
      return 0;
    }
    let out: string;
    let config: RunConfig;
    let resumeDir: string | undefined;
    let device = "cpu";
    let knnTrainImages = KNN_TRAIN_IMAGES;
    let force = false;
    let nproc = 1;
    let distTimeout = DEFAULT_DIST_TIMEOUT_SECONDS;
    let worker: TorchrunEnv | null = null;
    // Loaded lazily: the trainer pulls in libtorch, which --help does not need.
    const { readRunConfigFile, NonFiniteLossError } = await import("../train/trainer.ts");
    const { PaletteFitError } = await import("../data/palette.ts");
    const { deviceOption } = await import("./device-option.ts");
    // Other expected errors (RunFolderError, DatasetError, FileError, … : InputErrors) are one line
    // and exit 2 through runCommand.
    const report = (err: unknown): number | null => {
      if (err instanceof RunConfigError) {
        console.error(`gcrl train: ${err.message}`);
        return 2;
      }
      if (err instanceof PaletteFitError) {
        console.error(
          `gcrl train: palette.k: the training images have only ${err.distinct} distinct ${err.channels === 1 ? "gray levels" : "colours"} ` +
            `(in ${err.sampledPixels} sampled pixels), fewer than the K = ${err.k} colours asked for; set --palette.k ${err.distinct} or lower` +
            (err.subsampled ? ` (or sample more pixels: --palette.samplePixels)` : ""),
        );
        return 2;
      }
      if (err instanceof NonFiniteLossError) {
        console.error(`gcrl train: ${err.message}`);
        return 1;
      }
      return null;
    };
    try {
      const { flags: configFlags, rest } = extractConfigFlags(argv);
      const parsed = parseOptions(rest, { ...OPTIONS, ...SHORTCUT_OPTIONS });
      if (parsed === null) return 0; // --help was handled above
      const { force: forceFlag, ...strings } = parsed.values;
      const values = strings as Record<string, string | undefined>;
      resumeDir = values.resume;
      if (resumeDir !== undefined && values.config !== undefined) throw new UsageError("--config cannot be combined with --resume: a resumed run keeps the config in its config.json");
      if (resumeDir !== undefined && values.out !== undefined && values.out !== resumeDir) throw new UsageError("--out cannot be combined with --resume: the run continues in its own folder");
      const flags: Record<string, string> = {};
      for (const name of Object.keys(CONFIG_FLAG_SHORTCUTS)) if (values[name] !== undefined) flags[name] = values[name]!;
      if (flags.minutes !== undefined) flags.minutes = minutesFlag(flags.minutes);
      Object.assign(flags, configFlags);
      const base = resumeDir !== undefined ? readRunConfigFile(resumeDir).config : values.config !== undefined ? loadRunConfigFile(values.config) : RUN_DEFAULTS;
      config = Object.keys(flags).length > 0 ? applyOverrides(base, flags) : base;
      out = resumeDir ?? values.out ?? defaultRunFolder(config);
      device = deviceOption(values.device ?? "cpu"); // CUDA on a CPU-only build: refused before the run folder is made
      knnTrainImages = intOption("knn-train-images", values["knn-train-images"] ?? String(KNN_TRAIN_IMAGES), 1);
      force = forceFlag;
      nproc = intOption("nproc", values.nproc ?? "1", 1, 1024);
      distTimeout = Number(values["dist-timeout"] ?? DEFAULT_DIST_TIMEOUT_SECONDS);
      if (!(Number.isFinite(distTimeout) && distTimeout > 0)) throw new UsageError(`--dist-timeout: expected seconds (a number > 0), got '${values["dist-timeout"]}'`);
      worker = torchrunEnv();
      if (worker !== null && nproc > 1 && nproc !== worker.worldSize) {
        throw new UsageError(`--nproc ${nproc} disagrees with WORLD_SIZE=${worker.worldSize}: under torchrun's variables the process joins their job (leave --nproc out)`);
      }
      const processes = worker?.worldSize ?? nproc;
      if (processes > 1 && device !== "cpu") throw new UsageError(`--device ${device}: data-parallel training (--nproc, torchrun's variables) runs on the CPU over gloo; NCCL is not wired up`);
      if (config.train.batchSize % processes !== 0) {
        throw new UsageError(`train.batchSize (--batch-size) ${config.train.batchSize} is not divisible by the ${processes} data-parallel processes: each takes an equal shard of the global batch; use a multiple of ${processes}`);
      }
    } catch (err) {
      const code = report(err);
      if (code === null) throw err;
      return code;
    }

    if (worker === null && nproc > 1) {
      // The launcher: the workers run this command with torchrun's variables; a new run's folder is fixed here.
      const extra = resumeDir === undefined && !argv.some((a) => a === "--out" || a.startsWith("--out=")) ? ["--out", out] : [];
      if (resumeDir === undefined) (await import("../train/run-folder.ts")).createRunFolder(out); // an existing run: one line, before any worker starts
      return launchWorkers(nproc, argv, extra, threadsPerRank(config.train.threads, nproc), distTimeout + 10, (line) => console.error(line));
    }
    const { initProcessGroup, DistributedError } = await import("../torch/index.ts");
    let group: import("../torch/index.ts").ProcessGroup | null = null;
    if (worker !== null && worker.worldSize > 1) {
      try {
        group = initProcessGroup({ masterAddr: worker.masterAddr, masterPort: worker.masterPort, rank: worker.rank, worldSize: worker.worldSize, timeoutMs: Math.round(distTimeout * 1000) });
      } catch (err) {
        if (!(err instanceof DistributedError)) throw err;
        console.error(`gcrl train: ${err.message}`); // a join problem (port, ranks, WORLD_SIZE): one line, exit 2
        return 2;
      }
    }
    const stopWatching = watchLauncher();
    try {
      const processThreads = worker === null ? undefined : threadsPerRank(config.train.threads, worker.localWorldSize);
      return (await trainUntilSignalled(config, {
        out, resume: resumeDir !== undefined, device, knnTrainImages, force, commandLine: ["gcrl", "train", ...argv],
        ...(group !== null ? { distributed: group } : {}), ...(processThreads !== undefined ? { processThreads } : {}),
      })).exitCode;
    } catch (err) {
      if (err instanceof DistributedError) {
        console.error(`gcrl train: ${err.message}`);
        return 1;
      }
      const code = report(err);
      if (code === null) throw err;
      return code;
    } finally {
      stopWatching();
      group?.destroy();
    }
  });
}
