// `gcrl fid-net train`: trains the small in-distribution CNN whose penultimate layer gives the
// features of FID/KID on small images (src/eval/fid-net.ts), and saves it in a folder that
// `gcrl eval` finds (fid-nets/<dataset> by default; it trains one there itself when none exists).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { datasetInfo, loadDataset } from "../data/datasets/index.ts";
import { disposeSet, imageShape, setSize } from "../data/image-set.ts";
import { FID_NET_DEFAULTS, FID_NET_FILES, saveFidNet, trainFidNet } from "../eval/fid-net.ts";
import { intOption, parseCommandLine, runCommand, UsageError, type OptionTable } from "./args.ts";

const OPTIONS = {
  data: { type: "string", default: "fashion-mnist", value: "NAME", help: "labelled dataset: fashion-mnist, mnist, mnist-digits, cifar10, cifar100, or folder:PATH" },
  "data-dir": { type: "string", value: "DIR", help: "folder with the dataset's files (default: the dataset's usual place)" },
  limit: { type: "string", value: "N", help: "use only the first N images of each split (quick runs and tests)" },
  epochs: { type: "string", default: String(FID_NET_DEFAULTS.epochs), value: "N", help: "passes over the training split" },
  "batch-size": { type: "string", default: String(FID_NET_DEFAULTS.batchSize), value: "N", help: "images per step" },
  lr: { type: "string", default: String(FID_NET_DEFAULTS.lr), value: "LR", help: "peak AdamW learning rate (cosine decay to 0)" },
  seed: { type: "string", default: String(FID_NET_DEFAULTS.seed), value: "N", help: "seed of the initial weights and the batch order" },
  out: { type: "string", value: "DIR", help: "folder to save fid-net.safetensors and fid-net.json in (default fid-nets/<dataset>)" },
  force: { type: "boolean", help: "replace a FID net already saved in --out" },
} satisfies OptionTable;

const USAGE = "gcrl fid-net train [--data NAME] [--epochs N] [--out DIR] [options]";
const DESCRIPTION = `Trains the FID feature CNN (conv 32 → conv 64 → 128-d features → classes) on a labelled
dataset's train split, reports its accuracy on the test split, and saves it. \`gcrl eval\` computes
FID and KID in its 128-d penultimate-layer features (fid-nets/<dataset> unless told otherwise).
Progress goes to stderr; the result line to stdout.`;

const TOP_USAGE = `Usage: gcrl fid-net <sub-command> [options]

Sub-commands:
  train  train the FID feature CNN on a dataset and save it (\`gcrl fid-net train --help\`)`;

/** fid-nets/<dataset> with characters unsafe in folder names replaced (what gcrl eval looks for). */
export function defaultFidNetDir(dataset: string): string {
  return join("fid-nets", dataset.replace(/[^A-Za-z0-9._-]+/g, "_"));
}

function positiveNumber(name: string, value: string): number {
  const v = Number(value);
  if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`--${name}: expected a positive number, got '${value}'`);
  return v;
}

async function train(argv: string[]): Promise<number> {
  return runCommand("fid-net train", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, USAGE, DESCRIPTION);
    if (parsed === null) return 0;
    const o = parsed.values;
    const epochs = intOption("epochs", o.epochs, 1, 1000);
    const batchSize = intOption("batch-size", o["batch-size"], 1, 65536);
    const lr = positiveNumber("lr", o.lr);
    const seed = intOption("seed", o.seed, 0);
    const limit = o.limit === undefined ? undefined : intOption("limit", o.limit, 1);
    try {
      datasetInfo(o.data);
    } catch (err) {
      throw new UsageError(`--data: ${(err as Error).message}`);
    }
    const out = o.out ?? defaultFidNetDir(o.data);
    if (existsSync(join(out, FID_NET_FILES.info)) && !o.force) {
      throw new UsageError(`--out: ${out} already holds a FID net (${FID_NET_FILES.info}); pass --force to replace it, or choose another --out`);
    }
    const common = { name: o.data, ...(o["data-dir"] ? { dataDir: o["data-dir"] } : {}), ...(limit ? { limit } : {}) };
    const trainSet = await loadDataset({ ...common, split: "train" });
    try {
      const testSet = await loadDataset({ ...common, split: "test" });
      try {
        const [h, w, c] = imageShape(trainSet);
        console.error(`fid-net: training on ${setSize(trainSet)} images of ${trainSet.source} (${h}×${w}×${c}), testing on ${setSize(testSet)}; ${epochs} epoch(s), batch ${batchSize}, lr ${lr}, seed ${seed}`);
        const result = trainFidNet(trainSet, testSet, { epochs, batchSize, lr, seed, onProgress: (m) => console.error(`fid-net: ${m}`) });
        try {
          saveFidNet(out, result.net, {
            dataset: o.data, testAccuracy: result.testAccuracy, epochs, trainImages: setSize(trainSet), testImages: setSize(testSet),
            seed, trainSeconds: Math.round(result.trainSeconds * 10) / 10,
          });
        } finally {
          result.net.dispose();
        }
        const perEpoch = result.trainSeconds / epochs;
        console.log(`fid-net: test accuracy ${(100 * result.testAccuracy).toFixed(2)}% on ${setSize(testSet)} ${o.data} test images after ${epochs} epoch(s) (${result.trainSeconds.toFixed(1)} s of training, ${perEpoch.toFixed(1)} s per epoch); saved in ${out}`);
      } finally {
        disposeSet(testSet);
      }
    } finally {
      disposeSet(trainSet);
    }
    return 0;
  });
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "help" || sub === "--help" || sub === "-h") {
    console.log(TOP_USAGE);
    return 0;
  }
  if (sub === "train") return train(rest);
  console.error(sub === undefined ? TOP_USAGE : `gcrl fid-net: unknown sub-command '${sub}'\n\n${TOP_USAGE}`);
  return 2;
}
