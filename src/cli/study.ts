// `gcrl study --data fashion-mnist --ood mnist-digits --minutes 60 --out studies/fmnist`: trains
// GCRL, iGPT and SimCLR with the same architecture, data, seed and budget, evaluates each with
// `eval all`, and writes study.md / study.html / study.json (src/study/). Interrupt it (Ctrl-C: the
// step in flight finishes and is checkpointed) and run the same command again to continue.
import { RUN_DEFAULTS, type RunConfig } from "../train/run-config.ts";
import { OBJECTIVE_MODES, type ObjectiveMode } from "../train/objective-config.ts";
import { EVAL_SETTINGS } from "../eval/eval-settings.ts";
import { STUDY_EVAL_DEFAULTS } from "../study/study-plan.ts";
import { deprecatedAlias, deviceOptionSpec, intOption, parseCommandLine, runCommand, settingOptions, UsageError, type OptionSpec, type OptionTable } from "./args.ts";
import { settingsFromOptions } from "./eval.ts";

// The budget options are `gcrl train`'s (--steps, --epochs, --minutes, the same duration syntax) and
// the OOD options `gcrl eval`'s (--ood, --ood-images). The old spellings --budget TIME and
// --out-images are deprecated aliases (args.ts), kept for one version.
const MINUTES = { type: "string", value: "X", help: "compare at equal wall-clock instead: training time PER RUN in minutes, or a duration: 30m, 1.5h, 900s" } satisfies OptionSpec;
/** The evaluation options a study passes on (declared in eval/eval-settings.ts; the study's own defaults). */
const EVAL_OPTIONS = settingOptions(
  EVAL_SETTINGS,
  ["trainImages", "testImages", "fidSamples", "oodImages"],
  {
    trainImages: "eval: training images the probe, kNN and OOD scorers fit on",
    testImages: "eval: test images (default: the whole test split)",
    fidSamples: "eval: samples for FID/KID (0: skip)",
    oodImages: "eval: OOD images (default: the whole OOD test split)",
  },
  STUDY_EVAL_DEFAULTS,
);

const OPTIONS = {
  data: { type: "string", value: "NAME", default: RUN_DEFAULTS.data.name, help: "dataset every run trains on" },
  "data-dir": { type: "string", value: "DIR", help: "folder of the dataset's files (default: its usual place)" },
  ood: { type: "string", value: "NAME", help: "OOD dataset (default: mnist-digits for fashion-mnist, fashion-mnist for mnist)" },
  config: { type: "string", value: "FILE", default: "configs/fmnist-1h.json", help: "base run config (model, optimiser, batch, budget ...; the recipe of docs/recipes.md by default); --steps, --epochs or --minutes replace its budget" },
  "background-perturb": { type: "string", value: "MU", help: "also train a background model (igpt, data.perturb MU, e.g. 0.2) first, for the likelihood-ratio OOD score of the gcrl and igpt runs" },
  steps: { type: "string", value: "N", help: "training budget per run in optimizer steps (default: the config's budget, equal for every run)" },
  epochs: { type: "string", value: "N", help: "training budget per run in epochs" },
  minutes: MINUTES,
  budget: { ...deprecatedAlias("minutes", MINUTES), value: "TIME" },
  modes: { type: "string", value: "LIST", default: OBJECTIVE_MODES.join(","), help: "modes compared, in table order" },
  alpha: { type: "string", value: "LIST", help: "sweep: GCRL rows for each α (weight of the generative loss)" },
  beta: { type: "string", value: "LIST", help: "sweep: GCRL rows for each β (weight of the contrastive loss)" },
  tau: { type: "string", value: "LIST", help: "sweep: GCRL rows for each τ (NT-Xent temperature)" },
  seed: { type: "string", value: "S", default: String(RUN_DEFAULTS.train.seed), help: "seed of every run (initialisation, shuffles, augmentations)" },
  out: { type: "string", value: "DIR", help: "study folder (required); run the same command again to continue an interrupted study" },
  device: deviceOptionSpec(" for every run's training and evaluation (not a study setting: a study may continue on another device)"),
  "train-images": EVAL_OPTIONS["train-images"]!,
  "test-images": EVAL_OPTIONS["test-images"]!,
  "fid-samples": EVAL_OPTIONS["fid-samples"]!,
  "ood-images": EVAL_OPTIONS["ood-images"]!,
  "out-images": deprecatedAlias("ood-images", EVAL_OPTIONS["ood-images"]!),
} satisfies OptionTable;

const DESCRIPTION = `The paper's comparison as one command: the same network trained generatively (igpt),
contrastively (simclr) and with both (gcrl), judged on the linear probe, kNN, test bits/dim, FID and
the AUROC of every OOD score. Sweeps (--alpha 0.5,1,2 ...) add GCRL rows. Writes <out>/study.md,
study.html and study.json; each run's folder, report and figures are under <out>/runs/<id>/.`;

/** What a sweep value must be, and why, per swept key. */
const SWEEP_RULES = {
  alpha: "α weights the generative loss of a GCRL row; for none, compare with --modes simclr",
  beta: "β weights the contrastive loss of a GCRL row; for none, compare with --modes igpt",
  tau: "τ is the NT-Xent temperature",
} as const;

/** A sweep option ("0.5,1,2") → its values; null when not given; a UsageError naming the option unless every value is a number > 0. */
function sweepList(name: keyof typeof SWEEP_RULES, text: string | undefined): number[] | null {
  if (text === undefined) return null;
  const items = text.split(",").map((t) => t.trim());
  const values = items.map((t) => (t === "" ? NaN : Number(t)));
  if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new UsageError(`--${name}: expected comma-separated numbers > 0 (${SWEEP_RULES[name]}), got '${text}'`);
  }
  return values;
}

/** The training budget per run from --steps, --epochs, --minutes, as config flags (each a budget shortcut). */
function budgetFlags(v: { minutes?: string; steps?: string; epochs?: string }, parseDuration: (text: string) => number | null): Record<string, string> {
  const flags: Record<string, string> = {};
  if (v.minutes !== undefined) {
    const minutes = parseDuration(v.minutes);
    if (minutes === null) throw new UsageError(`--minutes: expected minutes (a number > 0) or a duration like 30m, 1.5h or 900s, got '${v.minutes}'`);
    flags.minutes = String(minutes);
  }
  if (v.steps !== undefined) flags.steps = String(intOption("steps", v.steps, 1));
  if (v.epochs !== undefined) flags.epochs = String(intOption("epochs", v.epochs, 1));
  return flags; // {}: the config's own budget (equal steps or epochs for every run, as the paper compares)
}

/** --background-perturb MU: a probability in (0, 1), or null when absent. */
function backgroundOption(text: string | undefined): number | null {
  if (text === undefined) return null;
  const mu = Number(text);
  if (text.trim() === "" || !(mu > 0 && mu < 1)) throw new UsageError(`--background-perturb: expected a probability in (0, 1) such as 0.2, got '${text}'`);
  return mu;
}

/** A UsageError naming the option unless `name` is a dataset: a built-in name, folder:PATH, or a path. */
async function checkDatasetName(option: string, name: string): Promise<void> {
  const { DATASET_NAMES, folderOf } = await import("../data/datasets/registry.ts");
  if (name === "" || name === "folder:" || (!DATASET_NAMES.includes(name) && folderOf(name) === null)) {
    throw new UsageError(`--${option}: unknown dataset '${name}' (known: ${DATASET_NAMES.join(", ")}, or folder:PATH)`);
  }
}

export async function run(argv: string[]): Promise<number> {
  return runCommand("study", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, "gcrl study --out DIR [--steps N | --epochs N | --minutes X] [options]", DESCRIPTION);
    if (parsed === null) return 0;
    const v = parsed.values;
    if (v.out === undefined) throw new UsageError("--out DIR is required (the study folder)");
    const { parseDuration, planStudy, studyPlanProblems } = await import("../study/study-plan.ts");
    const budget = budgetFlags(v, parseDuration);
    const modes = v.modes.split(",").map((m) => m.trim());
    for (const m of modes) if (!(OBJECTIVE_MODES as readonly string[]).includes(m)) throw new UsageError(`--modes: expected a list of ${OBJECTIVE_MODES.join(", ")}, got '${m}'`);
    const seed = intOption("seed", v.seed, 0);
    // Every option that shapes a run is checked here, before the study folder is touched.
    const sweep = { alpha: sweepList("alpha", v.alpha), beta: sweepList("beta", v.beta), tau: sweepList("tau", v.tau) };
    const swept = (Object.keys(sweep) as (keyof typeof sweep)[]).filter((k) => sweep[k] !== null);
    if (swept.length > 0 && !modes.includes("gcrl")) throw new UsageError(`--${swept[0]}: a sweep adds GCRL rows, but --modes ${v.modes} has no gcrl`);
    if (v.ood !== undefined) await checkDatasetName("ood", v.ood);
    const background = backgroundOption(v["background-perturb"]);
    const { deviceOption } = await import("./device-option.ts");
    const device = deviceOption(v.device); // CUDA on a CPU-only build: refused before the study folder is made

    const { applyOverrides, loadRunConfigFile, RunConfigError } = await import("../train/run-config-validate.ts");
    let config: RunConfig;
    try {
      const base = v.config === "" ? RUN_DEFAULTS : loadRunConfigFile(v.config);
      // As `gcrl train --config FILE --data NAME --seed S --steps N` would: flags on top of the file,
      // so defaults that follow the dataset (the flips) follow --data.
      const flags: Record<string, string> = { data: v.data, seed: String(seed), ...budget };
      if (v["data-dir"] !== undefined) flags["data-dir"] = v["data-dir"];
      config = applyOverrides(base, flags);
    } catch (err) {
      if (err instanceof RunConfigError) {
        console.error(`gcrl study: ${err.message}`);
        return 2;
      }
      throw err;
    }
    // Each run's config as the trainer will check it (a net under the option checks above).
    const problems = studyPlanProblems(planStudy({ config, configSource: v.config, modes: modes as ObjectiveMode[], sweep, eval: {}, ...(background !== null ? { background } : {}) }));
    if (problems.length > 0) {
      console.error(problems.map((p) => `gcrl study: ${p}`).join("\n"));
      return 2;
    }
    const evalSettings = {
      ...STUDY_EVAL_DEFAULTS,
      ...settingsFromOptions({ "train-images": v["train-images"], "test-images": v["test-images"], "fid-samples": v["fid-samples"], "ood-images": v["ood-images"], seed: v.seed }),
      ...(v.ood !== undefined ? { ood: v.ood } : {}),
    };
    const { runStudy, StudyError } = await import("../study/study-runner.ts");
    const controller = new AbortController();
    let received: NodeJS.Signals | null = null;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received !== null) process.exit(signal === "SIGTERM" ? 143 : 130);
      received = signal;
      process.stderr.write(`\ngcrl study: ${signal}: finishing the current step and saving a checkpoint; run the same command to continue\n`);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      const result = await runStudy(
        { config, configSource: v.config, modes: modes as ObjectiveMode[], sweep, eval: evalSettings, ...(background !== null ? { background } : {}) },
        { out: v.out, device, signal: controller.signal, commandLine: ["gcrl", "study", ...argv] },
      );
      if (result.status === "interrupted") return received === "SIGTERM" ? 143 : 130;
      const { printStudySummary } = await import("../study/study-summary.ts");
      console.log(printStudySummary(result.report!));
      return 0;
    } catch (err) {
      if (err instanceof StudyError || err instanceof RunConfigError) {
        console.error(`gcrl study: ${err.message}`);
        return 2;
      }
      throw err;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}
