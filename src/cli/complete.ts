// `gcrl complete`: image completion — the first n images of a split, quantized with the run's
// palette, their top rows given to the model and the rest sampled (src/eval/sampling.ts). One
// grid line per image: original (quantized) | masked (rows ≥ --rows mid-gray) | the completions.
//
//   gcrl complete --run runs/demo --data fashion-mnist --n 8 --rows 14 --samples 4 --out completions.png
import { tidy } from "../torch/index.ts";
import { loadDataset, datasetInfo } from "../data/datasets/index.ts";
import { disposeSet, imageShape, type ImageSet } from "../data/image-set.ts";
import { completeTokens, completionGridRows } from "../eval/sampling.ts";
import { imageGrid } from "../report/grid.ts";
import { writePng } from "../report/png.ts";
import { intOption, parseCommandLine, runCommand, splitOption, UsageError, type OptionTable } from "./args.ts";
import { SAMPLING_OPTIONS, loadSamplingRun, parseSampling, rowProgress } from "./sampling-options.ts";

const OPTIONS = {
  run: { type: "string", value: "DIR", help: "run folder written by `gcrl train` (gcrl or igpt mode)" },
  data: { type: "string", value: "NAME", help: "dataset of the images to complete (default: the run's dataset)" },
  "data-dir": { type: "string", value: "DIR", help: "folder with the dataset's files (default: the run's, or the dataset's usual place)" },
  split: { type: "string", default: "test", value: "SPLIT", help: "train, test or all" },
  n: { type: "string", default: "8", value: "N", help: "complete the first N images of the split" },
  rows: { type: "string", value: "R", help: "rows given to the model (default H/2); the rest are sampled" },
  samples: { type: "string", default: "4", value: "S", help: "completions per image" },
  out: { type: "string", default: "completions.png", value: "FILE", help: "the PNG to write" },
  ...SAMPLING_OPTIONS,
} satisfies OptionTable;

const USAGE = "gcrl complete --run DIR [--data NAME] [--split test] [--n 8] [--rows R] [--samples 4] [--temperature 1] [--top-k 0] [--seed 0] [--out completions.png]";
const DESCRIPTION = `Completes images from their top rows: the first N images of the split, quantized with the run's
palette, keep rows < R and the model samples the rest, S times per image. Writes a PNG grid with
one line per image: original (quantized) | masked (the rows it did not see painted gray) | S completions.`;

export async function run(argv: string[]): Promise<number> {
  return runCommand("complete", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, USAGE, DESCRIPTION);
    if (parsed === null) return 0;
    const o = parsed.values;
    const split = splitOption("split", o.split);
    const n = intOption("n", o.n, 1, 10_000);
    const samples = intOption("samples", o.samples, 1, 1024);
    const scale = intOption("scale", o.scale, 1, 32);
    const loaded = loadSamplingRun(o.run, o.device);
    const { model, palette } = loaded;
    let set: ImageSet | null = null;
    try {
      const { height: h, width: w, vocabSize: k } = model.config;
      const givenRows = o.rows === undefined ? Math.floor(h / 2) : intOption("rows", o.rows, 0, h);
      const sampling = parseSampling(o, k);
      const name = o.data ?? loaded.config.data.name;
      try {
        datasetInfo(name);
      } catch (err) {
        throw new UsageError(`--data: ${(err as Error).message}`);
      }
      const dataDir = o["data-dir"] ?? (name === loaded.config.data.name ? loaded.config.data.dataDir : null);
      set = await loadDataset({ name, split, limit: n, ...(dataDir !== null ? { dataDir } : {}) });
      const [sh, sw, sc] = imageShape(set);
      if (sh !== h || sw !== w || sc !== palette.channels) {
        throw new UsageError(`--data ${name}: its images are ${sh}×${sw}×${sc}, but the model of ${loaded.dir} takes ${h}×${w}×${palette.channels} images`);
      }
      const count = set.images.size(0);
      if (count === 0) throw new UsageError(`--data ${name}: the ${o.split} split has no images`);
      const originals = palette.quantize(set.images); // (count, H, W) int64
      const progress = rowProgress("completing");
      const started = performance.now();
      const completions = completeTokens(model, originals, givenRows, samples, { ...sampling, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) });
      const seconds = (performance.now() - started) / 1000;
      progress.end();
      const image = tidy(() => imageGrid(completionGridRows(palette, originals, completions, givenRows), { scale }));
      originals.dispose();
      completions.dispose();
      await writePng(o.out, image);
      console.log(
        `${o.out}: ${count} images of ${set.source} (${o.split}), rows 0–${givenRows - 1} given, ${samples} completions each, from ${loaded.dir} at step ${loaded.step}; ` +
          `temperature ${sampling.temperature}, top-k ${sampling.topK === 0 ? "all" : sampling.topK}, seed ${sampling.seed}`,
      );
      console.log(`lines: original (quantized) | masked | ${samples} completion${samples > 1 ? "s" : ""}; ${seconds.toFixed(1)} s, ${((count * samples) / seconds).toFixed(2)} completions/s`);
      return 0;
    } finally {
      if (set !== null) disposeSet(set);
      model.dispose();
      palette.dispose();
    }
  });
}
