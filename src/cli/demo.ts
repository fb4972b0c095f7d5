// `gcrl demo` (what `npm run demo` runs after set-up): a short real GCRL training run on
// Fashion-MNIST with configs/demo.json into a fresh run folder, then `gcrl eval all` on it with
// MNIST digits as OOD, ending with the headline numbers and where the report is.
//
// To stay within about 15 minutes on 2 cores the demo trains DEMO_STEPS steps (the cosine schedule
// runs over those; `--steps N` changes it) and evaluates on subsets (DEMO_EVAL: 5,000 training
// images for the probe, kNN and OOD fits, 2,000 test and 1,000 OOD images, FID on 200 samples with a
// CNN trained on 10,000 images). `gcrl eval all --run <folder>` afterwards gives the full-size numbers.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { loadRunConfigFile, applyOverrides } from "../train/run-config-validate.ts";
import type { RunConfig } from "../train/run-config.ts";
import { datasetInfo } from "../data/datasets/registry.ts";
import { formatDuration } from "../train/progress.ts";
import { readRunConfigFile } from "../train/trainer.ts";
import { intOption, parseCommandLine, runCommand, type OptionTable } from "./args.ts";
import type { EvalSettings } from "../eval/eval-settings.ts";
import { defaultRunFolder, trainUntilSignalled } from "./train.ts";

const DEMO_CONFIG = fileURLToPath(new URL("../../configs/demo.json", import.meta.url));

const DEMO_STEPS = 200;
const DEMO_KNN_TRAIN_IMAGES = 2000;

/** Evaluation subsets of the demo (see the header). */
export const DEMO_EVAL: Partial<EvalSettings> = Object.freeze({
  trainImages: 5000,
  testImages: 2000,
  likelihoodTrainImages: 1000,
  samples: 64,
  fidSamples: 200,
  kidSubsets: 20,
  kidSubsetSize: 200,
  oodImages: 1000,
  fidNet: "fid-nets/fashion-mnist-10000",
  fidNetTrainImages: 10_000,
});

const OPTIONS = {
  steps: { type: "string", default: String(DEMO_STEPS), value: "N", help: "training steps (configs/demo.json's own budget is 300)" },
  "no-eval": { type: "boolean", help: "stop after training (skip `eval all`)" },
  out: { type: "string", value: "DIR", help: "run folder (default runs/demo-<dataset>-<timestamp>)" },
} satisfies OptionTable;

const USAGE = "gcrl demo [--steps N] [--out DIR]";
const DESCRIPTION = `Trains a small GCRL model on Fashion-MNIST with configs/demo.json, then evaluates it like the paper
(linear probe, kNN, bits/dim, samples, completions, FID, OOD detection against MNIST digits) on
subsets — about 10-15 minutes on 2 cores — and prints the headline numbers and where the report is.`;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Classes a run trains on: its data.classes filter, else all of the dataset's (null: unknown, e.g. a folder). */
function classCount(config: RunConfig): number | null {
  return config.data.classes !== null ? config.data.classes.length : datasetInfo(config.data.name).numClasses;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand("demo", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, USAGE, DESCRIPTION);
    if (parsed === null) return 0;
    let config = loadRunConfigFile(DEMO_CONFIG);
    config = applyOverrides(config, { steps: String(intOption("steps", parsed.values.steps, 1)) });
    const out = parsed.values.out ?? defaultRunFolder(config, new Date(), "demo");
    console.log(`gcrl demo: GCRL (generative + contrastive) on ${config.data.name} with configs/demo.json → ${out}\n`);
    const t0 = performance.now();
    const { result, exitCode } = await trainUntilSignalled(config, { out, knnTrainImages: DEMO_KNN_TRAIN_IMAGES, commandLine: ["gcrl", "demo", ...argv] });
    if (result.status === "interrupted") return exitCode;
    const seconds = (performance.now() - t0) / 1000;
    const k = result.lastEval;
    const last = result.last;
    const run = readRunConfigFile(out);
    const classes = classCount(config);
    const lines = [
      "",
      `gcrl demo: ${result.step} steps of ${config.train.batchSize} images (${result.parameters.toLocaleString("en-US")} parameters) in ${formatDuration(seconds)} (training ${formatDuration(result.elapsedSeconds)})`,
      `  run folder        ${out}   (config.json, metrics.jsonl, model.safetensors, checkpoint, train.log)`,
    ];
    if (last !== null) {
      lines.push(
        `  final losses      generative ${last.generative?.toFixed(4) ?? "-"} nats/pixel (${last.generativeBitsPerDim?.toFixed(3) ?? "-"} bits/dim), ` +
          `contrastive ${last.contrastive?.toFixed(4) ?? "-"} (top-1 ${last.contrastiveAccuracy === null ? "-" : pct(last.contrastiveAccuracy)}) — means over the last ${config.train.logEvery} steps`,
      );
    }
    if (k !== null) {
      const { knn } = run.evaluation;
      lines.push(
        `  test NLL          ${k.testBitsPerDim?.toFixed(3) ?? "-"} bits/dim on ${run.data.eval.images} held-out test images (a uniform guess over the ${run.data.paletteK} colors: ${Math.log2(run.data.paletteK).toFixed(3)})`,
        `  kNN accuracy      ${k.knnAccuracy === null ? "-" : pct(k.knnAccuracy)} (k=${knn.k}, cosine, T=${knn.temperature}; the test images against ${knn.trainImages.toLocaleString("en-US")} training images${classes === null ? "" : `; chance ${pct(1 / classes)}`})`,
      );
    }
    lines.push(
      `  continue          gcrl train --resume ${out} --steps ${result.step * 2}`,
      `  in code           loadRun(${JSON.stringify(out)}) → { config, model, palette, metrics }`,
    );
    console.log(lines.join("\n"));
    if (parsed.values["no-eval"] || exitCode !== 0) return exitCode;

    console.log(`\ngcrl demo: evaluating (gcrl eval all on subsets: ${JSON.stringify(DEMO_EVAL)})`);
    const { RunEvaluation } = await import("../eval/run-evaluation.ts");
    const { evaluateAll } = await import("../report/eval-all.ts");
    const { demoSummary } = await import("./demo-summary.ts");
    const ev = RunEvaluation.open(out, DEMO_EVAL, (line) => console.error(`  ${line}`));
    try {
      const report = await evaluateAll(ev);
      console.log(`\n${demoSummary(report, out, (performance.now() - t0) / 1000, { paletteK: run.data.paletteK, classes })}`);
    } finally {
      ev.dispose();
    }
    return 0;
  });
}
