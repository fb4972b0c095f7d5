// Palette benchmark (issue 3): fit K = 16 on Fashion-MNIST's 60,000 training images, then quantize
// all 70,000 (train + test) — target < 3 s on 2 cores, judged on the first (cold) run — and the RGB
// K = 512 quantize throughput on 10,000 random 32×32×3 images (the first call also builds the
// palette's 2^24-color lookup table, reported apart). Random colors are the worst case for the table
// lookups (no cache locality) and for k-means (~100,000 distinct colors).
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { tensor, getNumThreads, type Tensor } from "../src/torch/index.ts";
import { PaletteQuantizer } from "../src/data/palette.ts";
import { Rng } from "../src/data/rng.ts";

const FASHION = "/usr/share/datasets/fashion-mnist";
const TARGET_S = 3;

/** uint8 (N, 28, 28, 1) from a gzipped IDX image file (16-byte header). */
function readIdxImages(path: string): Tensor {
  const raw = gunzipSync(readFileSync(path));
  if (raw.readUInt32BE(0) !== 0x803) throw new Error(`${path}: not an IDX image file`);
  const [n, h, w] = [raw.readUInt32BE(4), raw.readUInt32BE(8), raw.readUInt32BE(12)];
  return tensor(new Uint8Array(raw.buffer, raw.byteOffset + 16, n * h * w), { shape: [n, h, w, 1] });
}

function seconds(fn: () => void): number {
  return timed(fn)[1];
}

/** fn's result and the seconds it took. */
function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const result = fn();
  return [result, (performance.now() - t0) / 1000];
}

function fashionMnist(): void {
  const trainPath = `${FASHION}/train-images-idx3-ubyte.gz`;
  const testPath = `${FASHION}/t10k-images-idx3-ubyte.gz`;
  if (!existsSync(trainPath) || !existsSync(testPath)) {
    console.log(`  skipped: no Fashion-MNIST under ${FASHION} (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const train = readIdxImages(trainPath);
  const test = readIdxImages(testPath);
  const n = train.size(0) + test.size(0);
  const [q, fitS] = timed(() => PaletteQuantizer.fit(train, { k: 16 }));
  const info = q.fitInfo!;
  console.log(
    `  fit K=16 on ${train.size(0)} train images (${info.samplePixels} sampled pixels, ${info.iterations} Lloyd iterations): ` +
      `${fitS.toFixed(3)} s, MSE ${info.meanSquaredError.toFixed(2)}`,
  );
  const runs = Array.from({ length: 3 }, () =>
    seconds(() => {
      q.quantize(train).dispose();
      q.quantize(test).dispose();
    }),
  );
  const cold = runs[0]!;
  const best = Math.min(...runs);
  console.log(`  quantize all ${n} images (${n * 784} pixels): first run ${cold.toFixed(3)} s (${Math.round(n / cold)} images/s), best of 3 ${best.toFixed(3)} s (${Math.round(n / best)} images/s)`);
  console.log(`  target < ${TARGET_S} s on 2 cores (first run, ${getNumThreads()} threads here): ${cold < TARGET_S ? "PASS" : "FAIL"}`);
  train.dispose();
  test.dispose();
  q.dispose();
}

function rgbRandom(): void {
  const n = 10_000;
  const rng = new Rng(0);
  const bytes = new Uint8Array(n * 32 * 32 * 3);
  for (let i = 0; i < bytes.length; i += 4) {
    const v = rng.nextUint32();
    bytes[i] = v & 255;
    bytes[i + 1] = (v >>> 8) & 255;
    bytes[i + 2] = (v >>> 16) & 255;
    bytes[i + 3] = v >>> 24;
  }
  const images = tensor(bytes, { shape: [n, 32, 32, 3] });
  const [q, fitS] = timed(() => PaletteQuantizer.fit(images, { k: 512 }));
  const info = q.fitInfo!;
  console.log(
    `  fit K=512 on random 32×32×3 images (${info.samplePixels} sampled pixels, ${info.distinctValues} distinct colors, ${info.iterations} Lloyd iterations): ${fitS.toFixed(2)} s`,
  );
  const first = seconds(() => q.quantize(images).dispose());
  const runs = Array.from({ length: 3 }, () => seconds(() => q.quantize(images).dispose()));
  const best = Math.min(...runs);
  console.log(`  quantize ${n} images: first call ${first.toFixed(3)} s (includes building the 2^24-color table), then best of 3 ${best.toFixed(3)} s: ${Math.round(n / best)} images/s (${((n * 1024) / best / 1e6).toFixed(1)} M pixels/s)`);
  images.dispose();
  q.dispose();
}

export function benchPalette(): void {
  console.log(`palette (color quantization, ${getNumThreads()} threads):`);
  console.log(` Fashion-MNIST, gray K=16:`);
  fashionMnist();
  console.log(` RGB K=512:`);
  rgbRandom();
}
