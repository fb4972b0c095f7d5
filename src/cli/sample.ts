// `gcrl sample`: unconditional samples from a run's model into a PNG grid (tokens drawn pixel by
// pixel with key/value caches, src/eval/sampling.ts, painted with the run's palette).
//
//   gcrl sample --run runs/demo --n 64 --temperature 0.9 --out samples.png
import { tidy, type Tensor } from "../torch/index.ts";
import { sampleTokens } from "../eval/sampling.ts";
import { imageGrid } from "../report/grid.ts";
import { writePng } from "../report/png.ts";
import { intOption, parseCommandLine, runCommand, type OptionTable } from "./args.ts";
import { SAMPLING_OPTIONS, loadSamplingRun, parseSampling, rowProgress } from "./sampling-options.ts";

const OPTIONS = {
  run: { type: "string", value: "DIR", help: "run folder written by `gcrl train` (gcrl or igpt mode)" },
  n: { type: "string", default: "64", value: "N", help: "number of samples" },
  "per-row": { type: "string", default: "8", value: "N", help: "samples per line of the grid" },
  out: { type: "string", default: "samples.png", value: "FILE", help: "the PNG to write" },
  ...SAMPLING_OPTIONS,
} satisfies OptionTable;

const USAGE = "gcrl sample --run DIR [--n 64] [--temperature 1] [--top-k 0] [--seed 0] [--per-row 8] [--scale 3] [--out samples.png]";
const DESCRIPTION = `Draws unconditional samples from a trained run's decoder, pixel by pixel in raster order (the
network runs one step per pixel over the new position only, with key/value caches for the pixels
before it), paints them with the run's palette and writes them as a PNG grid. The same seed gives
the same pictures.`;

export async function run(argv: string[]): Promise<number> {
  return runCommand("sample", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, USAGE, DESCRIPTION);
    if (parsed === null) return 0;
    const o = parsed.values;
    const n = intOption("n", o.n, 1, 100_000);
    const perRow = intOption("per-row", o["per-row"], 1, 1024);
    const scale = intOption("scale", o.scale, 1, 32);
    const loaded = loadSamplingRun(o.run, o.device);
    const { model, palette } = loaded;
    try {
      const sampling = parseSampling(o, model.config.vocabSize);
      const progress = rowProgress("sampling");
      const started = performance.now();
      const tokens = sampleTokens(model, n, { ...sampling, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) });
      const seconds = (performance.now() - started) / 1000;
      progress.end();
      const image = tidy(() => {
        const images = palette.dequantize(tokens); // (n, H, W, C)
        const rows: Tensor[] = [];
        for (let first = 0; first < n; first += perRow) rows.push(images.narrow(0, first, Math.min(perRow, n - first)));
        return imageGrid(rows, { scale });
      });
      tokens.dispose();
      await writePng(o.out, image);
      const { height: h, width: w, attention } = model.config;
      console.log(
        `${o.out}: ${n} samples (${h}×${w}, K=${model.config.vocabSize}) from ${loaded.dir} at step ${loaded.step}; ` +
          `temperature ${sampling.temperature}, top-k ${sampling.topK === 0 ? "all" : sampling.topK}, seed ${sampling.seed}`,
      );
      console.log(`${seconds.toFixed(1)} s, ${(n / seconds).toFixed(2)} samples/s (${attention === "axial" ? "axial" : "dense"}, cached steps)`);
      return 0;
    } finally {
      model.dispose();
      palette.dispose();
    }
  });
}
