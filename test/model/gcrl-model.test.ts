// GCRLModel: shapes, parameter count against a hand formula, describe(), weight-decay groups,
// row-by-row decoding equal to whole-image decoding, the representation layer, dropout, errors.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, Linear, AdamW, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel, ModelConfigError, type ModelConfig } from "../../src/model/index.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { prng } from "../helpers/gradcheck.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";
import { hybridLoss } from "../../src/train/objectives.ts";

const tt = (name: string, body: () => void): void => {
  test(name, () => tidy(body));
};

/**
 * Parameters by hand. One block: 2 LayerNorms (2·2d) + qkv (3d² + 3d) + proj (d² + d) + fc1
 * (d·m + m) + fc2 (m·d + d) with m = r·d. Embeddings: tok K·d, row H·d, col W·d, start d. Heads:
 * ln_r and ln_f (2·2d), projection (d² + d + d·p + p), out (d·K + K). Axial encoder layers hold two
 * blocks (row + column), dense ones one.
 */
function parameterFormula(c: Pick<ModelConfig, "height" | "width" | "vocabSize" | "d" | "mlpRatio" | "encoderLayers" | "decoderLayers" | "projectionDim" | "attention">): number {
  const { d, vocabSize: k, projectionDim: p } = c;
  const m = c.mlpRatio * d;
  const block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * m + m) + (m * d + d);
  const blocks = (c.attention === "axial" ? 2 : 1) * c.encoderLayers + c.decoderLayers;
  const embeddings = k * d + c.height * d + c.width * d + d;
  const heads = 4 * d + (d * d + d + d * p + p) + (d * k + k);
  return blocks * block + embeddings + heads;
}

const small = { height: 4, width: 6, vocabSize: 7, d: 12, heads: 3, encoderLayers: 2, decoderLayers: 1, projectionDim: 5, mlpRatio: 4 } as const;

function tokens(b: number, h: number, w: number, k: number, seed: number): Tensor {
  const next = prng(seed);
  return tensor(Array.from({ length: b * h * w }, () => Math.floor(next() * k)), { dtype: "int64", shape: [b, h, w] });
}

describe("size", () => {
  tt("parameter count equals the hand formula (axial and dense, small configs)", () => {
    for (const attention of ["axial", "dense"] as const) {
      for (const cfg of [small, { ...small, mlpRatio: 2, decoderLayers: 3, projectionDim: 16 }]) {
        const m = new GCRLModel({ ...cfg, attention });
        assert.equal(m.parameterCount(), parameterFormula({ ...cfg, attention }), `${attention} ${JSON.stringify(cfg)}`);
        m.dispose();
      }
    }
  });

  tt("the reference config (28×28, K=16, d=128, 4 heads, enc 4, dec 2) has 2,027,664 parameters", () => {
    const m = new GCRLModel({ height: 28, width: 28, vocabSize: 16 });
    const ref = { height: 28, width: 28, vocabSize: 16, d: 128, mlpRatio: 4, encoderLayers: 4, decoderLayers: 2, projectionDim: 128, attention: "axial" } as const;
    assert.equal(parameterFormula(ref), 2_027_664);
    assert.equal(m.parameterCount(), 2_027_664);
    assert.equal(m.describe(), "GCRLModel axial 28x28 K=16 d=128 heads=4 enc=4 dec=2: 2.03M parameters");
    m.dispose();
  });

  tt("decay / no-decay groups: Linear weights decay; norms, biases, embeddings and the start vector do not", () => {
    const m = new GCRLModel(small);
    const decay = new Set(m.decayParameters());
    const noDecay = new Set(m.noDecayParameters());
    const all = m.namedParameters();
    assert.equal(decay.size + noDecay.size, all.length);
    for (const [name, p] of all) {
      const isLinearWeight = /(qkv|proj|fc1|fc2|out|head\.[02])\.weight$/.test(name);
      assert.equal(decay.has(p), isLinearWeight, `${name} ${isLinearWeight ? "should" : "should not"} decay`);
      assert.equal(noDecay.has(p), !isLinearWeight, name);
    }
    const linearWeights = m.modules().filter((x) => x instanceof Linear).length;
    assert.equal(decay.size, linearWeights);
    for (const name of ["start", "row", "col", "tok.weight", "ln_r.weight", "enc.0.ln1.bias", "out.bias"]) {
      assert.ok(noDecay.has(all.find(([n]) => n === name)![1]), `${name} is in the no-decay group`);
    }
    m.dispose();
  });
});

describe("forward", () => {
  for (const attention of ["axial", "dense"] as const) {
    tt(`${attention}: shapes, unit projections, optional outputs`, () => {
      manualSeed(1);
      const m = new GCRLModel({ ...small, attention }).eval();
      const x = tokens(2, small.height, small.width, small.vocabSize, 3);
      const r = m.forward(x);
      assert.deepEqual(r.hidden.shape, [2, 4, 6, 12]);
      assert.deepEqual(r.representation.shape, [2, 12]);
      assert.deepEqual(r.logits!.shape, [2, 4, 6, 7]);
      assert.deepEqual(r.projection!.shape, [2, 5]);
      assertClose(r.projection!.norm(2, 1), [1, 1], 1e-6, "projection norms");
      const none = m.forward(x, { needLogits: false, needProjection: false });
      assert.equal(none.logits, null);
      assert.equal(none.projection, null);
      assert.deepEqual(none.representation.toArray(), r.representation.toArray());
      m.dispose();
    });
  }

  tt("the representation is the mean of LN_r over positions, at the chosen encoder layer", () => {
    manualSeed(2);
    const m = new GCRLModel({ ...small, representationLayer: 1 }).to("float64").eval();
    const x = tokens(2, small.height, small.width, small.vocabSize, 4);
    noGrad(() => {
      let h = m.embed(x);
      h = m.enc.at(1).forward(m.enc.at(0).forward(h)); // layer 1 = row block + column block
      const expected = m.ln_r.forward(h).mean([1, 2]);
      const got = m.encode(x);
      assertClose(got.representation, expected.toArray(), 1e-14, "representation at layer 1");
      const final = m.ln_r.forward(m.enc.at(3).forward(m.enc.at(2).forward(h))).mean([1, 2]);
      assertClose(got.hidden, m.enc.at(3).forward(m.enc.at(2).forward(h)).toArray(), 1e-14, "hidden is still the final encoder output");
      assert.notDeepEqual(got.representation.toArray(), final.toArray());
    });
    m.dispose();
  });

  tt("dropout acts in training mode only", () => {
    manualSeed(3);
    const m = new GCRLModel({ ...small, dropout: 0.3 });
    const x = tokens(2, small.height, small.width, small.vocabSize, 5);
    const a = m.forward(x).logits!.toArray();
    const b = m.forward(x).logits!.toArray();
    assert.notDeepEqual(a, b);
    m.eval();
    assert.deepEqual(m.forward(x).logits!.toArray(), m.forward(x).logits!.toArray());
    m.dispose();
  });
});

describe("row-by-row decoding (axial)", () => {
  tt("decodeRow with rowContext gives decode's logits, row by row", () => {
    manualSeed(4);
    const m = new GCRLModel(small).to("float64").eval();
    const x = tokens(3, small.height, small.width, small.vocabSize, 6);
    noGrad(() => {
      const { hidden } = m.encode(x);
      const full = m.decode(x, hidden); // (3, 4, 6, 7)
      for (let i = 0; i < small.height; i++) {
        const rowLogits = m.decodeRow(x.select(1, i), m.rowContext(hidden, i), i);
        assert.deepEqual(rowLogits.shape, [3, 6, 7]);
        assertClose(rowLogits, full.select(1, i).toArray(), 1e-12, `row ${i}`);
      }
    });
    m.dispose();
  });

  tt("sampling-style use: the context of row i needs only rows < i of the image", () => {
    manualSeed(5);
    const m = new GCRLModel(small).to("float64").eval();
    const x = tokens(1, small.height, small.width, small.vocabSize, 7);
    noGrad(() => {
      const i = 2;
      // Rows >= i replaced by zeros (as during sampling): the context of row i is unchanged.
      const mask = tensor(Array.from({ length: small.height * small.width }, (_, n) => (Math.floor(n / small.width) < i ? 1 : 0)), { dtype: "int64", shape: [1, small.height, small.width] });
      const partial = x.mul(mask);
      const a = m.rowContext(m.encode(x).hidden, i).toArray();
      const b = m.rowContext(m.encode(partial).hidden, i).toArray();
      assert.deepEqual(a, b);
    });
    m.dispose();
  });

  tt("dense models refuse row-by-row decoding with an explanation", () => {
    const m = new GCRLModel({ ...small, attention: "dense" });
    const x = tokens(1, small.height, small.width, small.vocabSize, 8);
    const { hidden } = m.encode(x);
    assert.throws(() => m.rowContext(hidden, 0), /needs attention "axial"/);
    m.dispose();
  });
});

describe("memory", () => {
  test("training steps in tidy() leave no tensor behind (every mode)", () => {
    manualSeed(6);
    const m = new GCRLModel({ ...small, dropout: 0.1 });
    const opt = new AdamW(m.parameters(), { lr: 1e-3 });
    const weak = tokens(3, small.height, small.width, small.vocabSize, 9);
    const strong = tokens(3, small.height, small.width, small.vocabSize, 10);
    const step = (mode: "gcrl" | "igpt" | "simclr"): void =>
      tidy(() => {
        opt.zeroGrad();
        const r = hybridLoss({ mode }, m, weak, strong);
        r.loss.backward();
        opt.step();
      });
    for (const mode of ["gcrl", "igpt", "simclr"] as const) step(mode); // optimizer state and masks exist now
    countLiveTensors();
    const before = liveTensorCount();
    for (let i = 0; i < 3; i++) for (const mode of ["gcrl", "igpt", "simclr"] as const) step(mode);
    assert.equal(liveTensorCount(), before);
    opt.dispose();
    m.dispose();
  });
});

describe("errors", () => {
  tt("bad tokens, hidden and rows name what was expected", () => {
    const m = new GCRLModel(small);
    assert.throws(() => m.encode(tokens(1, 4, 5, 7, 1)), /GCRLModel.encode: expected tokens int64 of shape \(B, 4, 6\), got int64\[1, 4, 5\]/);
    assert.throws(() => m.encode(tensor([[[0.5]]])), /expected tokens int64/);
    const x = tokens(2, 4, 6, 7, 1);
    const { hidden } = m.encode(x);
    assert.throws(() => m.decode(tokens(1, 4, 6, 7, 2), hidden), /GCRLModel.decode: expected hidden of shape \(1, 4, 6, 12\), got \[2, 4, 6, 12\]/);
    assert.throws(() => m.rowContext(hidden, 4), /row must be an integer in \[0, 3\], got 4/);
    assert.throws(() => m.project(hidden), /expected a representation of shape \(B, 12\)/);
    m.dispose();
  });

  test("an invalid config throws a ModelConfigError naming the key", () => {
    assert.throws(() => new GCRLModel({ ...small, d: 130, heads: 4 }), (e: unknown) => e instanceof ModelConfigError && /model\.heads: d=130 is not divisible by heads=4/.test(e.message));
  });
});
