// PIL-compatible bicubic resize against PIL 9.4 itself (values made by
// test/fixtures/make_inception_fixture.py: Image.fromarray(x, mode="F").resize((w, h), BICUBIC)).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { interpolate, tensor, tidy } from "../../src/torch/index.ts";
import { resizeBicubicPil } from "../../src/eval/pil-resize.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const expected = JSON.parse(readFileSync(join(fixtures, "inception_fixture.expected.json"), "utf8")) as {
  resize: { input: number[][]; outputs: Record<string, number[][]>; big: number[]; bigProbes: [number, number, number][] };
};
const TOLERANCE = 2e-3; // gray levels on a 0..255 scale (float32 rounding; PIL computes in float32 too)

test("shrinking, enlarging and same-size resizes of a 5×7 image match PIL's bicubic", () => {
  const input = tensor(expected.resize.input.flat(), { dtype: "float32", shape: [1, 1, 5, 7] });
  for (const [key, want] of Object.entries(expected.resize.outputs)) {
    const [h, w] = key.split("x").map(Number) as [number, number];
    const got = tidy(() => resizeBicubicPil(input, [h, w]).toArray());
    const flat = want.flat();
    assert.equal(got.length, flat.length, key);
    const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - flat[i]!)));
    console.log(`5×7 → ${key}: max |gcrl − PIL| = ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff <= TOLERANCE, `${key}: max difference ${maxDiff}`);
  }
  input.dispose();
});

test("28×28 → 299×299 matches PIL at probe pixels (borders included); bilinear does not", () => {
  const big = tensor(Float32Array.from(expected.resize.big), { shape: [1, 1, 28, 28] });
  const { pil, bilinear } = tidy(() => ({
    pil: resizeBicubicPil(big, [299, 299]).toTypedArray() as Float32Array,
    bilinear: tidy(() => interpolate(big, { size: [299, 299], mode: "bilinear" }).toTypedArray()) as Float32Array,
  }));
  let maxDiff = 0;
  for (const [y, x, v] of expected.resize.bigProbes) maxDiff = Math.max(maxDiff, Math.abs(pil[y * 299 + x]! - v));
  console.log(`28×28 → 299×299: max |gcrl − PIL| at ${expected.resize.bigProbes.length} probes = ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= TOLERANCE, `max difference ${maxDiff}`);
  assert.ok(Math.max(...pil) > 255, "bicubic overshoots 255 (callers clamp)");
  // A different filter is visibly different (guards against the test passing for any resize).
  const far = expected.resize.bigProbes.some(([y, x, v]) => Math.abs(bilinear[y * 299 + x]! - v) > 1);
  assert.ok(far, "bilinear should differ from PIL bicubic by more than 1 gray level somewhere");
  big.dispose();
});

test("batches and channels are resized independently; float64 works", () => {
  const x = tensor(Float64Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => (i * 37) % 251), { shape: [2, 3, 4, 5] });
  tidy(() => {
    const all = resizeBicubicPil(x, [7, 3]);
    assert.deepEqual(all.shape, [2, 3, 7, 3]);
    assert.equal(all.dtype, "float64");
    const one = resizeBicubicPil(x.narrow(0, 1, 1).narrow(1, 2, 1), [7, 3]);
    assert.deepEqual(all.narrow(0, 1, 1).narrow(1, 2, 1).toArray(), one.toArray());
  });
  x.dispose();
});

test("errors: wrong rank or dtype, empty images, bad sizes", () => {
  const u8 = tensor(new Uint8Array(16), { shape: [1, 1, 4, 4] });
  const flat = tensor(new Float32Array(16), { shape: [4, 4] });
  const empty = tensor(new Float32Array(0), { shape: [0, 1, 4, 4] });
  const ok = tensor(new Float32Array(16), { shape: [1, 1, 4, 4] });
  assert.throws(() => resizeBicubicPil(u8, [2, 2]), /images must be a float32 or float64 tensor \(N, C, H, W\)/);
  assert.throws(() => resizeBicubicPil(flat, [2, 2]), /images must be a float32 or float64 tensor/);
  assert.throws(() => resizeBicubicPil(empty, [2, 2]), /must not be empty/);
  assert.throws(() => resizeBicubicPil(ok, [0, 2]), /size must be \[height, width\]/);
  assert.throws(() => resizeBicubicPil(ok, [2.5, 2] as [number, number]), /size must be \[height, width\]/);
  for (const t of [u8, flat, empty, ok]) t.dispose();
});
