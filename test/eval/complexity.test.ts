// Input complexity L(x) (src/eval/complexity.ts): units (8·bytes/(H·W)), losslessness of both
// compressors, determinism, ordering (constant < stripes < noise), speed, and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import sharp from "sharp";
import { tensor, tidy, type Tensor } from "../../src/torch/index.ts";
import { complexityBitsPerDim, compressImage, compressTokenMap, type Compressor } from "../../src/eval/complexity.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";
import { Rng } from "../../src/data/rng.ts";

const H = 28;
const W = 28;

/** Three 28×28 maps over 16 tokens: constant 3, vertical stripes of period 4, uniform noise. */
function threeMaps(): { maps: Uint8Array[]; tokens: Tensor } {
  const rng = new Rng(1);
  const constant = new Uint8Array(H * W).fill(3);
  const stripes = Uint8Array.from({ length: H * W }, (_, i) => ((i % W) >> 2) % 2 === 0 ? 0 : 15);
  const noise = Uint8Array.from({ length: H * W }, () => rng.int(0, 16));
  const maps = [constant, stripes, noise];
  const flat = new Uint8Array(3 * H * W);
  maps.forEach((m, i) => flat.set(m, i * H * W));
  return { maps, tokens: tensor(flat, { shape: [3, H, W], dtype: "uint8" }).long() };
}

for (const compressor of ["png", "deflate"] as Compressor[]) {
  test(`complexity (${compressor}): L = 8·bytes/(H·W), lossless, deterministic, constant < stripes < noise`, async () => {
    const { maps, tokens } = threeMaps();
    const l = await complexityBitsPerDim(tokens, compressor);
    tokens.dispose();
    assert.equal(l.length, 3);
    for (let i = 0; i < 3; i++) {
      const compressed = await compressTokenMap(maps[i]!, H, W, compressor);
      // Units: bytes → bits (×8), per pixel (÷ 784). E.g. 100 bytes → 800/784 = 1.0204 bits/dim.
      assert.equal(l[i], (8 * compressed.length) / (H * W));
      const bytes = (l[i]! * H * W) / 8;
      assert.ok(Math.abs(bytes - Math.round(bytes)) < 1e-9, `a whole number of bytes, got ${bytes}`);
      // Lossless: the compressed bytes decode to the token map.
      if (compressor === "deflate") {
        assert.deepEqual(new Uint8Array(inflateRawSync(compressed)), maps[i]);
      } else {
        const meta = await sharp(compressed).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.bitsPerSample, meta.space], ["png", W, H, 1, 8, "b-w"]);
        const { data, info } = await sharp(compressed).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
        assert.equal(info.channels, 1);
        assert.deepEqual(new Uint8Array(data), maps[i]);
        // A PNG file is at least signature (8) + IHDR (25) + IDAT (12 + 2 zlib header + 4 Adler-32)
        // + IEND (12) = 63 bytes: L >= 8·63/784 = 0.643 bits/dim for any 28×28 image.
        assert.ok(l[i]! >= (8 * 63) / (H * W));
      }
    }
    // Ordering: a constant map is cheapest, i.i.d. noise over 16 tokens costs about log2(16) = 4 bits.
    assert.ok(l[0]! < l[1]! && l[1]! < l[2]!, `constant ${l[0]}, stripes ${l[1]}, noise ${l[2]}`);
    assert.ok(l[2]! > 3.5 && l[2]! < 6, `noise ${l[2]} bits/dim`);
    assert.ok(l[0]! < 1.5, `constant ${l[0]} bits/dim`);
    // Deterministic and finite; uint8 input and concurrency 1 give the same numbers.
    const again = await complexityBitsPerDim(threeMaps().tokens, compressor, { concurrency: 1 });
    assert.deepEqual([...again], [...l]);
    assert.ok(l.every((v) => Number.isFinite(v) && v > 0));
  });
}

test("complexity: 10,000 token maps (28×28) — deflate and png timings", async () => {
  const rng = new Rng(2);
  const n = 10_000;
  // Smooth-ish maps: each row a random walk over 16 tokens, like quantised images.
  const flat = new Uint8Array(n * H * W);
  for (let i = 0; i < n * H; i++) {
    let v = rng.int(0, 16);
    for (let x = 0; x < W; x++) {
      v = Math.min(15, Math.max(0, v + rng.int(-1, 2)));
      flat[i * W + x] = v;
    }
  }
  const tokens = tensor(flat, { shape: [n, H, W], dtype: "uint8" });
  let t0 = performance.now();
  const d = await complexityBitsPerDim(tokens, "deflate");
  const deflateMs = performance.now() - t0;
  t0 = performance.now();
  const p = await complexityBitsPerDim(tokens.narrow(0, 0, 2000), "png");
  const pngMs = performance.now() - t0;
  tokens.dispose();
  console.log(`# complexity: deflate ${(deflateMs / n).toFixed(3)} ms/image, png ${(pngMs / 2000).toFixed(3)} ms/image`);
  assert.equal(d.length, n);
  assert.equal(p.length, 2000);
  assert.ok(d.every((v) => Number.isFinite(v) && v > 0) && p.every((v) => Number.isFinite(v) && v > 0));
  assert.ok(deflateMs < 10_000, `deflate of 10k maps took ${deflateMs.toFixed(0)} ms`);
});

test("complexity: bad input is refused naming the argument", async () => {
  const t = tidy(() => tensor([[[0, 1], [2, 3]]], { dtype: "int64" }));
  await assert.rejects(complexityBitsPerDim(t, "zip" as Compressor), /compressor must be one of "png", "deflate", got "zip"/);
  await assert.rejects(complexityBitsPerDim(t, "png", { concurrency: 0 }), /concurrency must be a positive integer, got 0/);
  await assert.rejects(complexityBitsPerDim(t.reshape([4]), "png"), /expected \(N, H, W, C\) uint8 images or \(N, H, W\) integer token maps, got shape \[4\]/);
  await assert.rejects(complexityBitsPerDim(t.float(), "png"), /expected \(N, H, W, C\) uint8 images or \(N, H, W\) integer token maps, got float32/);
  await assert.rejects(complexityBitsPerDim(t.add(253), "deflate"), /token maps must lie in \[0, 255\] .*from 253 to 256/);
  await assert.rejects(complexityBitsPerDim(t.sub(1), "deflate"), /from -1 to 2/);
  await assert.rejects(compressTokenMap(new Uint8Array(3), 2, 2), /pixels must be a Uint8Array of 2×2×1 = 4 bytes, got 3/);
  await assert.rejects(compressTokenMap(new Uint8Array(4), 2, 0), /width must be a positive integer, got 0/);
  assert.equal((await complexityBitsPerDim(t.narrow(0, 0, 0), "png")).length, 0);
  const images = tidy(() => t.to("uint8").reshape([1, 2, 2, 1]));
  await assert.rejects(complexityBitsPerDim(tidy(() => images.repeat([1, 1, 1, 2])), "png"), /C = 1 or 3 channels, got shape \[1, 2, 2, 2\]/);
  await assert.rejects(complexityBitsPerDim(tidy(() => images.long()), "png"), /\(N, H, W, C\) images must be uint8, got int64/);
  await assert.rejects(compressImage(new Uint8Array(4), 2, 2, "png", 3), /2×2×3 = 12 bytes, got 4/);
  images.dispose();
  t.dispose();
});

test("complexity of RGB images: L = 8·bytes/(H·W) of the (H, W, 3) image, lossless PNG, the palette-painted image of K = 512 tokens works", async () => {
  const rng = new Rng(3);
  const [h, w] = [8, 10];
  const flat = Uint8Array.from({ length: 2 * h * w * 3 }, (_, i) => (i < h * w * 3 ? 40 : rng.int(0, 256)));
  const images = tensor(flat, { shape: [2, h, w, 3], dtype: "uint8" });
  for (const compressor of ["png", "deflate"] as Compressor[]) {
    const l = await complexityBitsPerDim(images, compressor);
    for (let i = 0; i < 2; i++) {
      const one = flat.subarray(i * h * w * 3, (i + 1) * h * w * 3);
      const compressed = await compressImage(one, h, w, compressor, 3);
      assert.equal(l[i], (8 * compressed.length) / (h * w), "bits per pixel (per palette token), all channels together");
      if (compressor === "png") {
        const { data, info } = await sharp(compressed).raw().toBuffer({ resolveWithObject: true });
        assert.equal(info.channels, 3);
        assert.deepEqual(new Uint8Array(data), one, "PNG is lossless");
      } else assert.deepEqual(new Uint8Array(inflateRawSync(compressed)), one);
    }
    assert.ok(l[0]! < l[1]!, `a flat image compresses better than noise (${l[0]} vs ${l[1]})`);
  }
  images.dispose();
  // Tokens of a 512-colour palette (values > 255) are no 8-bit token map; their painted image is.
  const palette = new PaletteQuantizer(Array.from({ length: 512 }, (_, i) => [i % 8 * 32, (i >> 3) % 8 * 32, (i >> 6) * 32]));
  const tokens = tidy(() => tensor(Int32Array.from({ length: 2 * h * w }, (_, i) => (i * 37) % 512), { shape: [2, h, w] }).long());
  await assert.rejects(complexityBitsPerDim(tokens, "png"), /token maps must lie in \[0, 255\]/);
  const painted = palette.dequantize(tokens);
  const l = await complexityBitsPerDim(painted, "png");
  assert.ok(l.every((v) => Number.isFinite(v) && v > 0));
  painted.dispose();
  tokens.dispose();
  palette.dispose();
});
