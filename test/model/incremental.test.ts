// IncrementalDecoder (src/model/incremental.ts) and TransformerBlock.step: the cached,
// one-step-at-a-time network against the whole-image encode()/decode() it replaces, for both
// layouts, in float64 (the same function: agreement to 1e-10) and in float32 (1e-5); non-square
// images, batch 1, more than one encoder and decoder layer; the order and shape checks; the caches
// are freed by dispose().
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { dispose, manualSeed, noGrad, stack, tensor, tidy, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel, IncrementalDecoder, KVCache, type AttentionKind } from "../../src/model/index.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";
import { assertClose } from "../helpers/assert-close.ts";

const H = 5;
const W = 6;
const K = 7;

function model(attention: AttentionKind, dtype: "float32" | "float64", seed = 3): GCRLModel {
  manualSeed(seed);
  const m = new GCRLModel({ height: H, width: W, vocabSize: K, d: 12, heads: 3, encoderLayers: 2, decoderLayers: 2, projectionDim: 4, attention, dropout: 0.1 }).to(dtype).eval();
  noGrad(() => {
    for (const p of m.parameters()) p.normal_(0, 0.4); // large weights: logits depend strongly on the prefix
  });
  return m;
}

function randomTokens(b: number, seed: number): Tensor {
  const values = Array.from({ length: b * H * W }, (_, p) => (p * 7 + seed * 13 + ((p * p) >> 2)) % K);
  return tensor(values, { shape: [b, H, W], dtype: "int64" });
}

/** Axial: every h_enc row and every pixel's logits, step by step → (B, H, W, d), (B, H, W, K). */
function axialSteps(m: GCRLModel, tokens: Tensor): { hidden: Tensor; logits: Tensor } {
  const b = tokens.shape[0]!;
  const state = new IncrementalDecoder(m, b);
  try {
    return tidy(() => {
      const hiddenRows: Tensor[] = [];
      const logitRows: Tensor[] = [];
      for (let i = 0; i < H; i++) {
        const context = state.rowContext(i === 0 ? null : hiddenRows[i - 1]!, i);
        const pixels: Tensor[] = [];
        for (let j = 0; j < W; j++) {
          const shifted = j === 0 ? state.start() : state.embedAt(tokens.select(1, i).select(1, j - 1), i, j - 1);
          pixels.push(state.decodeStep(shifted, context.select(1, j), j));
        }
        logitRows.push(stack(pixels, 1));
        hiddenRows.push(state.encodeRow(tokens.select(1, i), i));
      }
      return { hidden: stack(hiddenRows, 1), logits: stack(logitRows, 1) };
    });
  } finally {
    state.dispose();
  }
}

/** Dense: the same, one raster position at a time. */
function denseSteps(m: GCRLModel, tokens: Tensor): { hidden: Tensor; logits: Tensor } {
  const b = tokens.shape[0]!;
  const state = new IncrementalDecoder(m, b);
  try {
    return tidy(() => {
      const hidden: Tensor[] = [];
      const logits: Tensor[] = [];
      let previous: { embedded: Tensor; hidden: Tensor } | null = null;
      for (let t = 0; t < H * W; t++) {
        const shifted = previous === null ? state.start() : previous.embedded;
        logits.push(state.decodeStep(shifted, state.denseContext(previous === null ? null : previous.hidden, t), t));
        previous = state.encodeToken(tokens.select(1, Math.floor(t / W)).select(1, t % W), t);
        hidden.push(previous.hidden);
      }
      const d = m.config.d;
      return { hidden: stack(hidden, 1).view([b, H, W, d]), logits: stack(logits, 1).view([b, H, W, K]) };
    });
  } finally {
    state.dispose();
  }
}

for (const attention of ["axial", "dense"] as const) {
  describe(`IncrementalDecoder, ${attention}: step by step equals encode() + decode()`, () => {
    const steps = attention === "axial" ? axialSteps : denseSteps;
    for (const [dtype, tolerance] of [["float64", 1e-10], ["float32", 1e-5]] as const) {
      test(`${dtype}: h_enc and the logits of every pixel, batch 3 and batch 1 (< ${tolerance})`, () => {
        const m = model(attention, dtype);
        noGrad(() =>
          tidy(() => {
            for (const b of [3, 1]) {
              const tokens = randomTokens(b, b);
              const full = m.encode(tokens).hidden;
              const fullLogits = m.decode(tokens, full);
              const stepped = steps(m, tokens);
              assertClose(stepped.hidden, full.toArray(), tolerance, `batch ${b}: h_enc`);
              assertClose(stepped.logits, fullLogits.toArray(), tolerance, `batch ${b}: logits`);
            }
          }),
        );
        m.dispose();
      });
    }
  });
}

describe("IncrementalDecoder: checks and memory", () => {
  const axial = model("axial", "float32");
  const dense = model("dense", "float32");

  test("positions come in order; layouts, shapes, grad mode and training mode are checked", () => {
    noGrad(() =>
      tidy(() => {
        const s = new IncrementalDecoder(axial, 2);
        const row = tensor(new Array(2 * W).fill(1), { shape: [2, W], dtype: "int64" });
        assert.throws(() => s.encodeRow(row, 1), /IncrementalDecoder.encodeRow: rows are encoded in order; expected row 0, got 1/);
        s.encodeRow(row, 0);
        assert.throws(() => s.encodeRow(row, 0), /expected row 1, got 0/);
        assert.throws(() => s.encodeRow(row.narrow(1, 0, 3), 1), /expected tokens int64 of shape \(2, 6\), got int64\[2, 3\]/);
        assert.throws(() => s.encodeToken(row.select(1, 0), 0), /needs attention "dense", the model has "axial"/);
        assert.throws(() => s.rowContext(null, 1), /pass h_enc row i − 1 for row i >= 1 and null for row 0/);
        const context = s.rowContext(null, 0);
        assert.throws(() => s.decodeStep(s.start(), context, 0), /expected context of shape \(2, 12\), got \[2, 6, 12\]/);
        s.decodeStep(s.start(), context.select(1, 0), 0);
        assert.throws(() => s.decodeStep(s.start(), context.select(1, 2), 2), /decoder positions come in order from 0; expected 0 or 1, got 2/);
        assert.throws(() => s.embedAt(row.select(1, 0), H, 0), /pixel must lie in \[0, 4\] × \[0, 5\], got \(5, 0\)/);
        s.dispose();
        assert.throws(() => s.decodeStep(s.start(), context.select(1, 0), 0), /the KV cache has been disposed/);
        const d = new IncrementalDecoder(dense, 1);
        assert.throws(() => d.denseContext(null, 3), /pass h_\{t−1\} for t >= 1 and null for t = 0/);
        d.dispose();
      }),
    );
    assert.throws(() => tidy(() => new IncrementalDecoder(axial, 1).encodeRow(tensor([[0, 0, 0, 0, 0, 0]], { dtype: "int64" }), 0)), /inference only; run it under noGrad/);
    assert.throws(() => new IncrementalDecoder(axial, 0), /batch must be an integer >= 1, got 0/);
    axial.train();
    assert.throws(() => new IncrementalDecoder(axial, 1), /inference only; call model.eval\(\) first/);
    axial.eval();
  });

  test("TransformerBlock.step refuses a non-causal block; KVCache checks its layout", () => {
    noGrad(() =>
      tidy(() => {
        const rowBlock = axial.enc.at(0); // unmasked row attention
        const cache = new KVCache(2, 3, W, 4, { dtype: "float32", device: "cpu" });
        const x = tensor(new Array(2 * 12).fill(0.1), { shape: [2, 12] });
        assert.throws(() => rowBlock.step(x, cache, 0), /TransformerBlock.step: needs a causal block \(this row block attends to later positions too\)/);
        const column = axial.enc.at(1);
        assert.throws(() => column.step(x.narrow(0, 0, 1), cache, 0), /the KV cache holds 2 sequences × 3 heads × 4 dims, got a step of 1 × 3 × 4/);
        assert.throws(() => column.step(x, cache, W), /position must be an integer in \[0, 5\], got 6/);
        cache.dispose();
        assert.throws(() => new KVCache(2, 0, 3, 4, { dtype: "float32", device: "cpu" }), /KVCache: heads must be an integer >= 1, got 0/);
      }),
    );
  });

  test("no tensor outlives a decoder after dispose()", () => {
    countLiveTensors();
    const before = liveTensorCount();
    noGrad(() => {
      const tokens = randomTokens(2, 5);
      dispose(axialSteps(axial, tokens));
      dispose(denseSteps(dense, tokens));
      tokens.dispose();
    });
    assert.equal(liveTensorCount() - before, 0);
  });
});
