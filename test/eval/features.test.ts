// Features r(x) of many images (src/eval/features.ts, image-pass.ts) on tiny models:
// * equal to encode(x).representation (float32 on the CPU), whatever the batch size;
// * representationLayer: equal to encode(x, { representationLayer }) for every layer;
// * progress callback, withFeatures false, the caller's mode restored, no tensors leaked;
// * bad options are errors naming the option.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { encodeFeatures, passImages } from "../../src/eval/features.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { prng } from "../helpers/gradcheck.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

const H = 4;
const W = 4;
const K = 5;
const D = 12;

function model(extra: { dropout?: number; representationLayer?: number } = {}): GCRLModel {
  manualSeed(31);
  return new GCRLModel({ height: H, width: W, vocabSize: K, d: D, heads: 2, encoderLayers: 3, decoderLayers: 1, projectionDim: 4, ...extra }).to("float64");
}

function randomTokens(n: number, seed: number): Tensor {
  const next = prng(seed);
  return tensor(Array.from({ length: n * H * W }, () => Math.floor(next() * K)), { dtype: "int64", shape: [n, H, W] });
}

test("features equal encode(x).representation as float32 on the CPU, for any batch size", () =>
  tidy(() => {
    const m = model().eval();
    const x = randomTokens(11, 1);
    const want = noGrad(() => m.encode(x).representation.toArray());
    for (const batchSize of [1, 4, 11, 256]) {
      const f = encodeFeatures(m, x, { batchSize });
      assert.equal(f.dtype, "float32");
      assert.equal(f.device, "cpu");
      assert.deepEqual(f.shape, [11, D]);
      assertClose(f, want, 1e-6, `features, batch ${batchSize}`);
    }
    m.dispose();
  }));

test("representationLayer: features equal encode(x, { representationLayer }) for every layer", () =>
  tidy(() => {
    const m = model({ representationLayer: 2 }).eval();
    const x = randomTokens(6, 2);
    for (const layer of [1, 2, 3]) {
      const want = noGrad(() => m.encode(x, { representationLayer: layer }).representation.toArray());
      assertClose(encodeFeatures(m, x, { representationLayer: layer, batchSize: 4 }), want, 1e-6, `layer ${layer}`);
    }
    // without the option: the config's layer (2)
    const configLayer = noGrad(() => m.encode(x, { representationLayer: 2 }).representation.toArray());
    assertClose(encodeFeatures(m, x), configLayer, 1e-6, "config layer");
    assert.notDeepEqual(encodeFeatures(m, x, { representationLayer: 3 }).toArray(), encodeFeatures(m, x).toArray());
    m.dispose();
  }));

test("progress, withFeatures false, the caller's mode restored", () =>
  tidy(() => {
    const m = model({ dropout: 0.4 });
    const x = randomTokens(10, 3);
    const seen: string[] = [];
    const f = encodeFeatures(m, x, { batchSize: 4, onProgress: (d, t) => seen.push(`${d}/${t}`) });
    assert.deepEqual(seen, ["4/10", "8/10", "10/10"]);
    assert.equal(m.training, true);
    // dropout was off: the same as an eval-mode encode
    const want = noGrad(() => {
      m.eval();
      const r = m.encode(x).representation.toArray();
      m.train();
      return r;
    });
    assertClose(f, want, 1e-6, "features in eval mode");
    const nllOnly = passImages(m, x, { withFeatures: false, withNll: true });
    assert.equal(nllOnly.features, null);
    assert.equal(nllOnly.bitsPerDim!.length, 10);
    m.dispose();
  }));

test("no tensors leak: only the returned features stay alive", () => {
  const m = model().eval();
  const x = randomTokens(9, 4);
  countLiveTensors();
  const before = liveTensorCount();
  const r = passImages(m, x, { batchSize: 2, withNll: true });
  assert.equal(liveTensorCount(), before + 1, "exactly the features tensor");
  r.features!.dispose();
  assert.equal(liveTensorCount(), before);
  x.dispose();
  m.dispose();
});

test("bad options are errors naming the option", () =>
  tidy(() => {
    const m = model();
    const x = randomTokens(2, 5);
    for (const bad of [0, 4, 2.5]) {
      assert.throws(() => encodeFeatures(m, x, { representationLayer: bad }), new RegExp(`passImages: representationLayer must be an integer in \\[1, 3\\].*got ${bad}`));
    }
    assert.throws(() => encodeFeatures(m, x, { batchSize: -3 }), /passImages: batchSize must be a positive integer, got -3/);
    assert.throws(() => encodeFeatures(m, randomTokens(2, 5).reshape([2, 16, 1])), /passImages: tokens must be int64 of shape \(N, 4, 4\)/);
    m.dispose();
  }));
