// The causality invariant of ../shared/design/GCRL.md section 3, for axial and dense attention:
// the logits at (i, j) depend only on pixels before (i, j) in raster order (rows < i, and row i
// columns < j). Exhaustive on a 4×5 image: every pixel is changed in turn, and the logits at every
// position at or before it in raster order must stay bit-identical while those after it must
// change (so the test can fail both ways). Float64, eval mode, a random tiny model.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel, type AttentionKind } from "../../src/model/index.ts";
import { prng } from "../helpers/gradcheck.ts";

const H = 4;
const W = 5;
const K = 5;
const B = 2;

function tinyModel(attention: AttentionKind): GCRLModel {
  manualSeed(7);
  return new GCRLModel({ height: H, width: W, vocabSize: K, d: 16, heads: 2, encoderLayers: 2, decoderLayers: 2, projectionDim: 8, attention }).to("float64").eval();
}

function randomTokens(seed: number): number[] {
  const next = prng(seed);
  return Array.from({ length: B * H * W }, () => Math.floor(next() * K));
}

const toTensor = (values: number[]): Tensor => tensor(values, { dtype: "int64", shape: [B, H, W] });

/** Logits (B, H, W, K) and encoder output (B, H, W, d) of the model on tokens, as flat arrays. */
function run(model: GCRLModel, values: number[]): { logits: Float64Array; hidden: Float64Array } {
  return noGrad(() =>
    tidy(() => {
      const tokens = toTensor(values);
      const { hidden } = model.encode(tokens);
      const logits = model.decode(tokens, hidden);
      return { logits: logits.toTypedArray<"float64">().slice(), hidden: hidden.toTypedArray<"float64">().slice() };
    }),
  );
}

/** Whether the `size` values at position (b, i, j) of a flat (B, H, W, size) array are bit-identical in x and y. */
function sameAt(x: Float64Array, y: Float64Array, size: number, b: number, i: number, j: number): boolean {
  const base = ((b * H + i) * W + j) * size;
  for (let k = 0; k < size; k++) if (!Object.is(x[base + k], y[base + k])) return false;
  return true;
}

for (const attention of ["axial", "dense"] as const) {
  describe(`causality (${attention})`, () => {
    const model = tinyModel(attention);
    const values = randomTokens(11);
    const base = run(model, values);
    const d = model.config.d;

    test("logits at (i, j) are bit-identical when any pixel at or after (i, j) changes, and change when an earlier one does", () => {
      let identicalChecks = 0;
      let changedChecks = 0;
      for (let pi = 0; pi < H; pi++) {
        for (let pj = 0; pj < W; pj++) {
          const changed = values.slice();
          const at = (0 * H + pi) * W + pj; // image 0 only
          changed[at] = (changed[at]! + 1 + (pi + pj) % (K - 1)) % K;
          const out = run(model, changed);
          for (let i = 0; i < H; i++) {
            for (let j = 0; j < W; j++) {
              const later = pi * W + pj >= i * W + j; // the changed pixel is at or after (i, j)
              const same = sameAt(base.logits, out.logits, K, 0, i, j);
              if (later) {
                assert.ok(same, `${attention}: changing pixel (${pi}, ${pj}) changed the logits at (${i}, ${j})`);
                identicalChecks++;
              } else {
                assert.ok(!same, `${attention}: changing pixel (${pi}, ${pj}) did not change the logits at (${i}, ${j}) (it should be visible there)`);
                changedChecks++;
              }
              // The other image of the batch is untouched.
              assert.ok(sameAt(base.logits, out.logits, K, 1, i, j), `${attention}: image 1 changed when image 0 did`);
            }
          }
        }
      }
      const n = H * W;
      assert.equal(identicalChecks, (n * (n + 1)) / 2);
      assert.equal(changedChecks, (n * (n - 1)) / 2);
    });

    test(attention === "axial" ? "encoder row i sees all of rows <= i and nothing below" : "encoder position t sees raster positions <= t only", () => {
      for (let pi = 0; pi < H; pi++) {
        for (let pj = 0; pj < W; pj++) {
          const changed = values.slice();
          changed[pi * W + pj] = (changed[pi * W + pj]! + 1) % K;
          const out = run(model, changed);
          for (let i = 0; i < H; i++) {
            for (let j = 0; j < W; j++) {
              // Axial: the row block is unmasked and the column block causal, so h_enc at (i, j)
              // depends on every pixel of rows <= i, including (i, j' > j). Dense: raster prefix.
              const visible = attention === "axial" ? pi <= i : pi * W + pj <= i * W + j;
              assert.equal(
                !sameAt(base.hidden, out.hidden, d, 0, i, j),
                visible,
                `${attention}: h_enc at (${i}, ${j}) ${visible ? "should" : "should not"} depend on pixel (${pi}, ${pj})`,
              );
            }
          }
        }
      }
    });
  });
}
