// `gcrl eval <probe|knn|likelihood|fid|ood|all> --run R [options]`: evaluates a run folder.
// Each subcommand prints its numbers (and the settings that produced them); `all` also writes
// eval.json, report.md, report.html and eval/*.png into the run folder. Features and likelihoods are
// cached in <run>/cache/, so running several subcommands one after the other encodes once.
import { join } from "node:path";
import { deprecatedAlias, intOption, parseCommandLine, runCommand, splitOption, UsageError, type OptionTable } from "./args.ts";
import type { EvalSettings } from "../eval/eval-settings.ts";
import { EVAL_DEFAULTS } from "../eval/eval-settings.ts";

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

const d = EVAL_DEFAULTS;
const COMMON: OptionTable = {
  run: { type: "string", value: "DIR", help: "the run folder to evaluate (required)" },
  "batch-size": { type: "string", value: "N", default: String(d.batchSize), help: "images per forward pass" },
  layer: { type: "string", value: "L|auto", default: "auto", help: "encoder layer r(x) pools from; auto: a linear probe per layer, the best on the validation part of the training split (iGPT's protocol; the run's layer when there are no labels)" },
  "concat-layers": { type: "boolean", help: "r(x) = every layer's pooled features side by side (L·d dims) instead of one layer's" },
  "train-images": { type: "string", value: "N", help: "use the first N training images (default: all)" },
  "test-images": { type: "string", value: "N", help: "use the first N test images (default: all)" },
  seed: { type: "string", value: "S", default: String(d.seed), help: "seed of the validation split, sampling and KID subsets" },
};
const PROBE: OptionTable = {
  "validation-fraction": { type: "string", value: "F", default: String(d.probeValidationFraction), help: "probe: fraction of the training features held out to choose L2" },
  l2: { type: "string", value: "LIST", help: "probe: comma-separated L2 strengths to try (default: the probe's grid)" },
};
// Option names say what they are about (--knn-*, --ood-*, --sample-temperature), so one name means
// one thing in every subcommand and command: --temperature is the sampling temperature in `gcrl
// sample`, --out an output path and --data the dataset a run trains on everywhere else. The old
// spellings are deprecated aliases (args.ts), kept for one version.
const KNN: OptionTable = {
  "knn-k": { type: "string", value: "K", default: String(d.knnK), help: "kNN: neighbours that vote" },
  "knn-temperature": { type: "string", value: "T", default: String(d.knnTemperature), help: "kNN: votes weighted exp(cosine / T)" },
};
const KNN_OLD: OptionTable = { k: deprecatedAlias("knn-k", KNN["knn-k"]!), temperature: deprecatedAlias("knn-temperature", KNN["knn-temperature"]!) };
const LIKELIHOOD: OptionTable = {
  "nll-train-images": { type: "string", value: "N", default: String(d.likelihoodTrainImages), help: "training images whose mean bits/dim anchors the typicality score" },
};
const LIKELIHOOD_OTHER: OptionTable = {
  ood: { type: "string", value: "NAME", help: "also score this dataset's test split (converted to the run's image size), e.g. mnist-digits" },
  "ood-dir": { type: "string", value: "DIR", help: "folder of that dataset's files (default: its usual place)" },
};
const LIKELIHOOD_OTHER_OLD: OptionTable = { data: deprecatedAlias("ood", LIKELIHOOD_OTHER.ood!), "data-dir": deprecatedAlias("ood-dir", LIKELIHOOD_OTHER["ood-dir"]!) };
const SAMPLING: OptionTable = {
  samples: { type: "string", value: "N", default: String(d.samples), help: "unconditional samples in the report's grid" },
  "sample-temperature": { type: "string", value: "T", default: String(d.temperature), help: "sampling temperature" },
  "top-k": { type: "string", value: "K", default: String(d.topK), help: "sample from the K most likely colours (0: all)" },
  completions: { type: "string", value: "N", default: String(d.completionImages), help: "test images completed in the report" },
  rows: { type: "string", value: "R", help: "completions: top rows given (default: half the image)" },
};
const FID: OptionTable = {
  "fid-samples": { type: "string", value: "N", default: String(d.fidSamples), help: "FID/KID: samples compared with as many test images (0: skip)" },
  "fid-net": { type: "string", value: "DIR", help: "FID feature CNN folder (default fid-nets/<dataset>, trained there when missing)" },
  "fid-net-train-images": { type: "string", value: "N", help: "when the FID CNN must be trained: use the first N training images (default: all)" },
  inception: { type: "string", value: "PATH", help: "also FID/KID in the features of this TorchScript Inception-v3 (clean-fid's inception-2015-12-05.pt)" },
  "kid-subsets": { type: "string", value: "N", default: String(d.kidSubsets), help: "KID: random subsets averaged" },
  "kid-subset-size": { type: "string", value: "N", default: String(d.kidSubsetSize), help: "KID: images per subset (capped at the sample count)" },
};
const OOD: OptionTable = {
  in: { type: "string", value: "NAME", help: "in-distribution dataset: must be the run's dataset (default: it)" },
  ood: { type: "string", value: "NAME", help: "OOD dataset (default: mnist-digits for fashion-mnist, fashion-mnist for mnist)" },
  "ood-dir": { type: "string", value: "DIR", help: "folder of the OOD dataset's files (default: its usual place)" },
  "ood-split": { type: "string", value: "SPLIT", default: d.oodSplit, help: "OOD split: train, test or all" },
  "ood-images": { type: "string", value: "N", help: "use the first N OOD images (default: all of the split)" },
  background: { type: "string", value: "RUN", help: "background run for the likelihood-ratio score (same palette; trained with --data.perturb, Ren et al. 2019)" },
  compressor: { type: "string", value: "NAME", default: d.compressor, help: "complexity score's lossless compressor: png or deflate" },
  "knn-distance-k": { type: "string", value: "K", default: String(d.oodKnnK), help: "kNN-distance score: distance to the k-th nearest training feature" },
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

function number(name: string, value: string, check: (x: number) => boolean, expected: string): number {
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x) || !check(x)) throw new UsageError(`--${name}: expected ${expected}, got '${value}'`);
  return x;
}

/** Option values → settings overrides (only the options the subcommand has). */
export function settingsFromOptions(values: Record<string, string | boolean | undefined>): Partial<EvalSettings> {
  const s: Partial<EvalSettings> = {};
  const str = (k: string): string | undefined => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const int = (k: string, min: number): number | undefined => (str(k) === undefined ? undefined : intOption(k, str(k)!, min));
  const set = <K extends keyof EvalSettings>(key: K, v: EvalSettings[K] | undefined): void => {
    if (v !== undefined) s[key] = v;
  };
  set("batchSize", int("batch-size", 1));
  const layer = str("layer");
  if (layer !== undefined) s.representationLayer = layer === "auto" ? "auto" : intOption("layer", layer, 1);
  if (values["concat-layers"] === true) s.concatLayers = true;
  set("trainImages", int("train-images", 1));
  set("testImages", int("test-images", 1));
  set("seed", int("seed", 0));
  const vf = str("validation-fraction");
  set("probeValidationFraction", vf === undefined ? undefined : number("validation-fraction", vf, (x) => x > 0 && x < 1, "a fraction in (0, 1)"));
  const l2 = str("l2");
  if (l2 !== undefined) s.probeL2Grid = l2.split(",").map((v) => number("l2", v, (x) => x >= 0, "comma-separated numbers >= 0"));
  set("knnK", int("knn-k", 1));
  const t = str("knn-temperature");
  set("knnTemperature", t === undefined ? undefined : number("knn-temperature", t, (x) => x > 0, "a number > 0"));
  set("likelihoodTrainImages", int("nll-train-images", 1));
  set("samples", int("samples", 1));
  const st = str("sample-temperature");
  set("temperature", st === undefined ? undefined : number("sample-temperature", st, (x) => x > 0, "a number > 0"));
  set("topK", int("top-k", 0));
  set("completionImages", int("completions", 1));
  set("completionRows", int("rows", 0));
  set("fidSamples", int("fid-samples", 0));
  set("fidNet", str("fid-net"));
  set("fidNetTrainImages", int("fid-net-train-images", 10));
  set("inception", str("inception"));
  set("kidSubsets", int("kid-subsets", 1));
  set("kidSubsetSize", int("kid-subset-size", 2));
  set("ood", str("ood")); // `eval likelihood --ood NAME` scores NAME as the "other" set
  set("oodDataDir", str("ood-dir"));
  const split = str("ood-split");
  if (split !== undefined) s.oodSplit = splitOption("ood-split", split);
  set("oodImages", int("ood-images", 1));
  set("background", str("background"));
  const c = str("compressor");
  if (c !== undefined) {
    if (c !== "png" && c !== "deflate") throw new UsageError(`--compressor: expected png or deflate, got '${c}'`);
    s.compressor = c;
  }
  set("oodKnnK", int("knn-distance-k", 1));
  return s;
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
    const { RunEvaluation } = await import("../eval/run-evaluation.ts");
    const { printEvaluation } = await import("./eval-print.ts");
    const log = (line: string): void => console.error(`  ${line}`);
    const ev = RunEvaluation.open(values.run, settings, log);
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
