// Layers against hand-computed outputs (plain-JS loops in float64) and PyTorch's initialisation
// (seed-0 values printed by test/fixtures/make_optim_reference.py with torch 1.13).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, dispose, manualSeed, noGrad, randn, Tensor } from "../../src/torch/index.ts";
import { Linear, LayerNorm, Embedding, Conv2d, Dropout, kaimingUniformBound } from "../../src/torch/nn/index.ts";

const TOL = 1e-12;

function assertAllClose(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  got.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - want[i]!))));
  assert.ok(worst <= tol, `${what}: max abs difference ${worst} > ${tol}`);
}

/** Sets a parameter's values (under noGrad). */
function set(p: Tensor, values: number[]): void {
  tidy(() => noGrad(() => p.copy_(tensor(values, { dtype: p.dtype, shape: p.shape }))));
}

// PyTorch after torch.manual_seed(0): Linear(4, 3), then Embedding(5, 3), then Conv2d(4, 6, 3, groups=2).
const TORCH_SEED0 = {
  linearWeight: [-0.003743410110473633, 0.26822179555892944, -0.4115225672721863, -0.3679695129394531, -0.19257718324661255, 0.13407868146896362, -0.009906589984893799, 0.39644473791122437, -0.04437202215194702, 0.1323062777519226, -0.15110653638839722, -0.09828269481658936],
  linearBias: [-0.4776742458343506, -0.33114105463027954, -0.20611155033111572],
  embeddingWeight: [0.6035430431365967, 0.8109818696975708, -0.04508150741457939, 0.8796946406364441, 1.0482062101364136, -0.04450046643614769, -0.7228844165802002, 2.866340160369873, -0.5655086040496826, 0.16043701767921448, -0.025351187214255333, 1.0739002227783203, 2.262845754623413, -0.917529284954071, -0.22511571645736694],
  convWeightFirst8: [0.13819724321365356, -0.10453278571367264, -0.008504699915647507, 0.15074589848518372, 0.23431941866874695, 0.09354602545499802, 0.031841691583395004, 0.15803514420986176],
  convBias: [-0.22731877863407135, 0.14702683687210083, -0.18443924188613892, -0.0498298816382885, -0.09557081758975983, -0.04539985582232475],
};

describe("initialisation", () => {
  test("same numbers as PyTorch for the same seed", () => {
    manualSeed(0);
    const lin = new Linear(4, 3);
    const emb = new Embedding(5, 3);
    const conv = new Conv2d(4, 6, 3, { groups: 2 });
    assert.deepEqual(lin.weight.toArray(), TORCH_SEED0.linearWeight);
    assert.deepEqual(lin.bias!.toArray(), TORCH_SEED0.linearBias);
    assert.deepEqual(emb.weight.toArray(), TORCH_SEED0.embeddingWeight);
    assert.deepEqual(conv.weight.toArray().slice(0, 8), TORCH_SEED0.convWeightFirst8);
    assert.deepEqual(conv.bias!.toArray(), TORCH_SEED0.convBias);
    for (const m of [lin, emb, conv]) m.dispose();
  });

  test("kaiming-uniform bound with a = √5 is 1/√fanIn", () => {
    for (const fan of [1, 3, 64, 1000]) assert.ok(Math.abs(kaimingUniformBound(fan) - 1 / Math.sqrt(fan)) < 1e-15);
  });

  test("Linear and Conv2d weights and biases fill U(−1/√fanIn, 1/√fanIn)", () => {
    manualSeed(1);
    const cases: [string, Tensor[], number][] = [];
    const lin = new Linear(50, 200);
    cases.push(["Linear(50, 200)", [lin.weight, lin.bias!], 1 / Math.sqrt(50)]);
    const conv = new Conv2d(8, 64, [3, 5], { groups: 4 });
    assert.deepEqual(conv.weight.shape, [64, 2, 3, 5]);
    cases.push(["Conv2d(8, 64, [3, 5], groups 4)", [conv.weight, conv.bias!], 1 / Math.sqrt(2 * 3 * 5)]);
    for (const [name, tensors, bound] of cases) {
      for (const t of tensors) {
        const v = t.toArray();
        const lo = Math.min(...v);
        const hi = Math.max(...v);
        assert.ok(lo >= -bound && hi <= bound, `${name}: values in [${lo}, ${hi}] outside ±${bound}`);
        // With ≥ 200 draws both ends of the range are reached within 10% (P(miss) < 1e-4).
        if (v.length >= 200) assert.ok(hi > 0.9 * bound && lo < -0.9 * bound, `${name}: values in [${lo}, ${hi}] do not fill ±${bound}`);
      }
    }
    lin.dispose();
    conv.dispose();
  });

  test("Embedding ~ N(0, 1); LayerNorm weight 1, bias 0", () => {
    manualSeed(2);
    const emb = new Embedding(1000, 50);
    const v = emb.weight.toArray();
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `mean ${mean}, std ${std}`);
    const ln = new LayerNorm([2, 3]);
    assert.deepEqual(ln.weight!.toArray(), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(ln.bias!.toArray(), [0, 0, 0, 0, 0, 0]);
    emb.dispose();
    ln.dispose();
  });
});

describe("Linear", () => {
  test("y = x·Wᵀ + b by hand; leading dims kept; bias optional", () => {
    const lin = new Linear(3, 2, { dtype: "float64" });
    const W = [0.5, -1, 2, 1.5, 0.25, -0.75]; // (2, 3)
    const b = [0.1, -0.2];
    set(lin.weight, W);
    set(lin.bias!, b);
    const X = [1, 2, 3, -1, 0.5, 4, 0, 0, 1, 2, -2, 2]; // (2, 2, 3)
    const want: number[] = [];
    for (let r = 0; r < 4; r++) for (let o = 0; o < 2; o++) want.push(b[o]! + [0, 1, 2].reduce((s, k) => s + X[r * 3 + k]! * W[o * 3 + k]!, 0));
    tidy(() => {
      const y = lin.forward(tensor(X, { dtype: "float64", shape: [2, 2, 3] }));
      assert.deepEqual(y.shape, [2, 2, 2]);
      assertAllClose(y.toArray(), want, TOL, "Linear");
    });
    const noBias = new Linear(3, 2, { bias: false });
    assert.equal(noBias.bias, null);
    assert.deepEqual(noBias.namedParameters().map(([n]) => n), ["weight"]);
    assert.throws(() => tidy(() => lin.forward(tensor([[1, 2]], { dtype: "float64" }))), /'x' must be a tensor whose last dim is 3/);
    assert.throws(() => new Linear(0, 2), /'inFeatures' must be a positive integer, got 0/);
    lin.dispose();
    noBias.dispose();
  });
});

describe("LayerNorm", () => {
  test("(x − mean)/√(var + eps)·w + b over the trailing dims, by hand", () => {
    const eps = 1e-5;
    const ln = new LayerNorm([2, 3], { dtype: "float64", eps });
    const w = [1, 2, 0.5, -1, 1.5, 3];
    const b = [0, 0.1, -0.1, 0.2, 0, 1];
    set(ln.weight!, w);
    set(ln.bias!, b);
    const X = [1, 2, 3, 4, 5, 7, -1, 0.5, 0.25, 8, -3, 2]; // (2, 2, 3): two groups of 6
    const want: number[] = [];
    for (let g = 0; g < 2; g++) {
      const xs = X.slice(g * 6, g * 6 + 6);
      const mean = xs.reduce((a, c) => a + c, 0) / 6;
      const variance = xs.reduce((a, c) => a + (c - mean) ** 2, 0) / 6; // biased, as PyTorch
      xs.forEach((x, i) => want.push(((x - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!));
    }
    tidy(() => assertAllClose(ln.forward(tensor(X, { dtype: "float64", shape: [2, 2, 3] })).toArray(), want, TOL, "LayerNorm"));
    ln.dispose();
  });

  test("without elementwiseAffine: no parameters, plain normalisation", () => {
    const ln = new LayerNorm(4, { elementwiseAffine: false, dtype: "float64" });
    assert.equal(ln.numParameters(), 0);
    tidy(() => {
      const y = ln.forward(tensor([[1, 2, 3, 4]], { dtype: "float64" })).toArray();
      const s = Math.sqrt(1.25 + 1e-5);
      assertAllClose(y, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], TOL, "LayerNorm");
    });
    assert.throws(() => new LayerNorm([]), /'normalizedShape'/);
  });
});

describe("Embedding", () => {
  test("looks up rows for any index shape", () => {
    const emb = new Embedding(4, 2, { dtype: "float64" });
    set(emb.weight, [0, 1, 10, 11, 20, 21, 30, 31]);
    tidy(() => {
      const y = emb.forward(tensor([[3, 0], [1, 1]], { dtype: "int64" }));
      assert.deepEqual(y.shape, [2, 2, 2]);
      assert.deepEqual(y.toArray(), [30, 31, 0, 1, 10, 11, 10, 11]);
      assert.throws(() => emb.forward(tensor([1.5])), /'indices' must be an int64 or int32 tensor/);
    });
    emb.dispose();
  });
});

describe("Conv2d", () => {
  /** Direct convolution in plain JS: x (N, C, H, W), w (O, C/groups, kH, kW). */
  function convReference(x: number[], xs: number[], w: number[], ws: number[], bias: number[] | null, stride: [number, number], pad: [number, number], groups: number): { out: number[]; shape: number[] } {
    const [N, C, H, W] = xs as [number, number, number, number];
    const [O, Cg, KH, KW] = ws as [number, number, number, number];
    const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1;
    const OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
    const out: number[] = [];
    const perGroup = O / groups;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++)
        for (let i = 0; i < OH; i++)
          for (let j = 0; j < OW; j++) {
            let s = bias ? bias[o]! : 0;
            const g = Math.floor(o / perGroup);
            for (let c = 0; c < Cg; c++)
              for (let ki = 0; ki < KH; ki++)
                for (let kj = 0; kj < KW; kj++) {
                  const h = i * stride[0] - pad[0] + ki;
                  const v = j * stride[1] - pad[1] + kj;
                  if (h < 0 || h >= H || v < 0 || v >= W) continue;
                  s += x[((n * C + g * Cg + c) * H + h) * W + v]! * w[((o * Cg + c) * KH + ki) * KW + kj]!;
                }
            out.push(s);
          }
    void C;
    return { out, shape: [N, O, OH, OW] };
  }

  const cases: [string, { stride: [number, number]; padding: [number, number]; groups: number; bias: boolean }][] = [
    ["plain", { stride: [1, 1], padding: [0, 0], groups: 1, bias: true }],
    ["stride 2, padding 1", { stride: [2, 2], padding: [1, 1], groups: 1, bias: true }],
    ["groups 2, asymmetric stride/padding, no bias", { stride: [1, 2], padding: [2, 0], groups: 2, bias: false }],
  ];
  for (const [name, o] of cases) {
    test(`${name}: matches a direct convolution`, () => {
      manualSeed(3);
      const conv = new Conv2d(4, 6, [3, 2], { ...o, dtype: "float64" });
      tidy(() => {
        const x = randn([2, 4, 5, 6], { dtype: "float64" });
        const ref = convReference(x.toArray(), x.shape, conv.weight.toArray(), conv.weight.shape, conv.bias?.toArray() ?? null, o.stride, o.padding, o.groups);
        const y = conv.forward(x);
        assert.deepEqual(y.shape, ref.shape);
        assertAllClose(y.toArray(), ref.out, TOL, `Conv2d ${name}`);
      });
      conv.dispose();
    });
  }

  test("argument errors", () => {
    assert.throws(() => new Conv2d(4, 6, 3, { groups: 4 }), /'groups' must be a divisor of both inChannels \(4\) and outChannels \(6\)/);
    assert.throws(() => new Conv2d(4, 6, 0), /'kernelSize'/);
    const conv = new Conv2d(3, 2, 1);
    assert.throws(() => tidy(() => conv.forward(randn([1, 4, 5, 5]))), /'x' must be a 4-d tensor \(N, 3, H, W\)/);
    conv.dispose();
  });
});

describe("Dropout", () => {
  test("training: zeroes about p of the elements and scales the rest by 1/(1 − p); eval: identity", () => {
    manualSeed(4);
    const drop = new Dropout(0.25);
    tidy(() => {
      const x = randn([200, 50]).abs().add(0.1);
      const y = drop.forward(x);
      const xs = x.toArray();
      const ys = y.toArray();
      const zeros = ys.filter((v) => v === 0).length / ys.length;
      assert.ok(Math.abs(zeros - 0.25) < 0.02, `zero fraction ${zeros}`);
      ys.forEach((v, i) => assert.ok(v === 0 || Math.abs(v - xs[i]! / 0.75) < 1e-6, `element ${i}: ${v} vs ${xs[i]! / 0.75}`));
      drop.eval();
      assert.deepEqual(drop.forward(x).toArray(), xs);
    });
    assert.throws(() => new Dropout(1.5), /'p' must be a probability in \[0, 1\], got 1\.5/);
    drop.dispose();
  });
});
