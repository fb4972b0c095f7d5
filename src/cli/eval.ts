// `gcrl eval <probe|knn|likelihood|fid|ood|all> --run R [options]`: evaluates a run folder.
// Each subcommand prints its numbers (and the settings that produced them); `all` also writes
// eval.json, report.md, report.html and eval/*.png into the run folder. Features and likelihoods are
// cached in <run>/cache/, so running several subcommands one after the other encodes once.
import { join } from "node:path";
import { deprecatedAlias, deviceOptionSpec, parseCommandLine, runCommand, settingOptions, settingsFromValues, UsageError, type OptionTable } from "./args.ts";
import { EVAL_SETTINGS, type EvalSettings } from "../eval/eval-settings.ts";

const SUBCOMMANDS = ["probe", "knn", "likelihood", "fid", "ood", "all"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const SUMMARIES: Record<Subcommand, string> = {
  probe: "linear probe (logistic regression on frozen r(x), L2 chosen on held-out training features)",
  knn: "weighted kNN classifier on r(x) (cosine, --knn-k, --knn-temperature)",
  likelihood: "per-image NLL in bits/dim (palette space) of the test split; mean, quantiles, histogram",
  fid: "FID and KID of samples vs test images (in-distribution CNN features; Inception with --inception)",
  ood: "OOD detection: every score × AUROC / AUPR-IN / AUPR-OUT / FPR@95TPR, histograms and ROC curves",
  all: "everything above; writes eval.json, report.md, report.html and eval/*.png into the run folder",
};

// Each table: the EVAL_SETTINGS keys a subcommand uses (option names, placeholders, defaults and
// help come from their declaration in eval/eval-settings.ts). Option names say what they are about
// (--knn-*, --ood-*, --sample-temperature), so one name means one thing in every subcommand and
// command: --temperature is the sampling temperature in `gcrl sample`, --out an output path and
// --data the dataset a run trains on everywhere else. The old spellings are deprecated aliases
// (args.ts), kept for one version.
const KEYS = {
  common: ["batchSize", "representationLayer", "concatLayers", "rowBlocks", "trainImages", "testImages", "seed"],
  probe: ["probeValidationFraction", "probeL2Grid"],
  knn: ["knnK", "knnTemperature"],
  likelihood: ["likelihoodTrainImages"],
  sampling: ["samples", "temperature", "topK", "completionImages", "completionRows", "completionSamples"],
  fid: ["fidSamples", "fidNet", "fidNetTrainImages", "inception", "kidSubsets", "kidSubsetSize"],
  ood: ["ood", "oodDataDir", "oodSplit", "oodImages", "background", "compressor", "oodKnnK"],
  likelihoodOther: ["ood", "oodDataDir"],
} as const satisfies Record<string, readonly (keyof EvalSettings)[]>;

const options = (keys: readonly string[], help: Record<string, string> = {}): OptionTable => settingOptions(EVAL_SETTINGS, keys, help);

const RUN: OptionTable = { run: { type: "string", value: "DIR", help: "the run folder to evaluate (required)" } };
// --device: where the run's model computes (its passes over the images, sampling, Inception); not an
// eval setting (eval.json and the cache keys do not depend on it), so declared here, once for every subcommand.
const COMMON: OptionTable = { ...RUN, ...options(KEYS.common), device: deviceOptionSpec(" (the model's passes and sampling; the probe, kNN and OOD scores run on the CPU)") };
const PROBE = options(KEYS.probe);
const KNN = options(KEYS.knn);
const KNN_OLD: OptionTable = { k: deprecatedAlias("knn-k", KNN["knn-k"]!), temperature: deprecatedAlias("knn-temperature", KNN["knn-temperature"]!) };
const LIKELIHOOD = options(KEYS.likelihood);
const LIKELIHOOD_OTHER = options(KEYS.likelihoodOther, { ood: "also score this dataset's test split (converted to the run's image size), e.g. mnist-digits" });
const LIKELIHOOD_OTHER_OLD: OptionTable = { data: deprecatedAlias("ood", LIKELIHOOD_OTHER.ood!), "data-dir": deprecatedAlias("ood-dir", LIKELIHOOD_OTHER["ood-dir"]!) };
const SAMPLING = options(KEYS.sampling);
const FID = options(KEYS.fid);
const OOD: OptionTable = {
  in: { type: "string", value: "NAME", help: "in-distribution dataset: must be the run's dataset (default: it)" },
  ...options(KEYS.ood),
};
const OOD_OLD: OptionTable = {
  out: deprecatedAlias("ood", OOD.ood!),
  "out-dir": deprecatedAlias("ood-dir", OOD["ood-dir"]!),
  "out-split": deprecatedAlias("ood-split", OOD["ood-split"]!),
  "out-images": deprecatedAlias("ood-images", OOD["ood-images"]!),
};

const TABLES: Record<Subcommand, OptionTable> = {
  probe: { ...COMMON, ...PROBE },
  knn: { ...COMMON, ...KNN, ...KNN_OLD },
  likelihood: { ...COMMON, ...LIKELIHOOD, ...LIKELIHOOD_OTHER, ...LIKELIHOOD_OTHER_OLD },
  fid: { ...COMMON, ...SAMPLING, ...FID },
  ood: { ...COMMON, ...PROBE, ...LIKELIHOOD, ...OOD, ...OOD_OLD },
  all: { ...COMMON, ...PROBE, ...KNN, ...LIKELIHOOD, ...SAMPLING, ...FID, ...OOD, ...KNN_OLD, ...OOD_OLD },
};

function usage(): string {
  return [
    "Usage: gcrl eval <subcommand> --run DIR [options]",
    "",
    "Evaluates a trained run folder the way the GCRL paper does. Features and likelihoods are cached in",
    "<run>/cache/, so subcommands run one after another encode the images once.",
    "",
    "Subcommands:",
    ...SUBCOMMANDS.map((s) => `  ${s.padEnd(10)}  ${SUMMARIES[s]}`),
    "",
    "Run `gcrl eval <subcommand> --help` for its options.",
  ].join("\n");
}

/** Option values → settings overrides (only the options given; each read and checked by its declaration). */
export function settingsFromOptions(values: Record<string, string | boolean | undefined>): Partial<EvalSettings> {
  const keys = Object.keys(EVAL_SETTINGS.shape);
  return settingsFromValues(EVAL_SETTINGS, keys, values) as Partial<EvalSettings>;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(usage());
    return sub === undefined ? 2 : 0;
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    console.error(`gcrl eval: unknown subcommand '${sub}'\n\n${usage()}`);
    return 2;
  }
  const subcommand = sub as Subcommand;
  return runCommand(`eval ${subcommand}`, async () => {
    const table = TABLES[subcommand];
    const parsed = parseCommandLine(rest, table, `gcrl eval ${subcommand} --run DIR [options]`, SUMMARIES[subcommand]);
    if (parsed === null) return 0;
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (typeof values.run !== "string") throw new UsageError("--run DIR is required (a folder written by `gcrl train`)");
    const settings = settingsFromOptions(values);
    const { deviceOption } = await import("./device-option.ts");
    const device = deviceOption(typeof values.device === "string" ? values.device : "cpu"); // CUDA on a CPU-only build: refused before the run is loaded or anything written
    const { RunEvaluation } = await import("../eval/run-evaluation.ts");
    const { printEvaluation } = await import("./eval-print.ts");
    const log = (line: string): void => console.error(`  ${line}`);
    const ev = RunEvaluation.open(values.run, settings, log, { device });
    try {
      if (typeof values.in === "string" && values.in !== ev.run.config.data.name) {
        throw new UsageError(`--in ${values.in}: the run was trained on ${ev.run.config.data.name}; evaluate it on that (or leave --in out)`);
      }
      console.error(`gcrl eval ${subcommand}: ${ev.run.dir} (${ev.mode}, step ${ev.run.step}, ${ev.run.model.describe()})`);
      await printEvaluation(ev, subcommand, join(ev.run.dir, "eval"), { scoreOtherData: subcommand === "likelihood" && typeof values.ood === "string" });
    } finally {
      ev.dispose();
    }
    return 0;
  });
}
