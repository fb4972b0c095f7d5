// AdamW and SGD against two independent references: a plain-JS float64 implementation of the
// PyTorch update rules written out below, and PyTorch itself (constants printed by
// test/fixtures/make_optim_reference.py with torch 1.13; Python is not run here). Also the state
// dict: an optimizer restored mid-run continues bit-identically to one that was never stopped.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, dispose, noGrad, Tensor, type DType } from "../../src/torch/index.ts";
import { AdamW, SGD, clipGradNorm, weightDecayGroups, type Optimizer, type GroupOptions } from "../../src/torch/optim/index.ts";
import { Sequential, Linear, LayerNorm, Embedding, Conv2d } from "../../src/torch/nn/index.ts";
import * as torch from "../../src/torch/index.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

// ---- the problem: two parameters, loss Σ a(p − t)² + 0.1p⁴, gradient 2a(p − t) + 0.4p³ ----------

const W0 = [0.5, -1.2, 0.3, 2.0, -0.7, 1.1]; // (2, 3)
const B0 = [0.1, -0.2, 0.4];
const WT = [1.0, 0.0, -1.0, 0.5, 0.25, -0.5];
const WA = [1.0, 2.0, 0.5, 1.5, 1.0, 3.0];
const BT = [0.0, 1.0, -1.0];
const BA = [1.0, 1.0, 2.0];

interface Problem {
  w: Tensor;
  b: Tensor;
  /** zeroGrad + loss + backward, as a training step does before optimizer.step(). */
  computeGrads(opt: { zeroGrad(): void }): void;
  dispose(): void;
}

function problem(dtype: DType = "float64"): Problem {
  const w = tensor(W0, { dtype, shape: [2, 3], requiresGrad: true });
  const b = tensor(B0, { dtype, requiresGrad: true });
  const consts = [WT, WA, BT, BA].map((v) => tensor(v, { dtype: "float64" }).to(dtype));
  const [wt, wa, bt, ba] = consts as [Tensor, Tensor, Tensor, Tensor];
  return {
    w,
    b,
    computeGrads(opt) {
      opt.zeroGrad();
      tidy(() => {
        const lw = wa.reshape([2, 3]).mul(w.sub(wt.reshape([2, 3])).square()).add(w.pow(4).mul(0.1)).sum();
        const lb = ba.mul(b.sub(bt).square()).add(b.pow(4).mul(0.1)).sum();
        lw.add(lb).backward();
      });
    },
    dispose() {
      dispose([w, b, ...consts]);
    },
  };
}

/** Runs `steps` optimizer steps on a fresh problem; returns the final parameters. */
function runTorchLike(makeOpt: (w: Tensor, b: Tensor) => Optimizer<GroupOptions>, steps: number, dtype: DType = "float64"): { w: number[]; b: number[] } {
  const pr = problem(dtype);
  const opt = makeOpt(pr.w, pr.b);
  for (let i = 0; i < steps; i++) {
    pr.computeGrads(opt);
    opt.step();
  }
  const out = { w: pr.w.toArray(), b: pr.b.toArray() };
  opt.dispose();
  pr.dispose();
  return out;
}

// ---- independent plain-JS references ----------------------------------------------------------

const gradOf = (p: number[], t: number[], a: number[]): number[] => p.map((x, i) => 2 * a[i]! * (x - t[i]!) + 0.4 * x ** 3);

interface RefGroup {
  params: ("w" | "b")[];
  lr: number;
  weightDecay: number;
}

/** AdamW as in the paper with PyTorch's eps placement (after the bias-corrected √v). */
function adamwReference(groups: RefGroup[], betas: [number, number], eps: number, amsgrad: boolean, steps: number): { w: number[]; b: number[] } {
  const p = { w: [...W0], b: [...B0] };
  const m = { w: W0.map(() => 0), b: B0.map(() => 0) };
  const v = { w: W0.map(() => 0), b: B0.map(() => 0) };
  const vmax = { w: W0.map(() => 0), b: B0.map(() => 0) };
  const [b1, b2] = betas;
  for (let t = 1; t <= steps; t++) {
    const g = { w: gradOf(p.w, WT, WA), b: gradOf(p.b, BT, BA) };
    for (const group of groups) {
      for (const k of group.params) {
        for (let i = 0; i < p[k].length; i++) {
          p[k][i]! *= 1 - group.lr * group.weightDecay;
          m[k][i] = b1 * m[k][i]! + (1 - b1) * g[k][i]!;
          v[k][i] = b2 * v[k][i]! + (1 - b2) * g[k][i]! ** 2;
          vmax[k][i] = Math.max(vmax[k][i]!, v[k][i]!);
          const mHat = m[k][i]! / (1 - b1 ** t);
          const vHat = (amsgrad ? vmax[k][i]! : v[k][i]!) / (1 - b2 ** t);
          p[k][i]! -= (group.lr * mHat) / (Math.sqrt(vHat) + eps);
        }
      }
    }
  }
  return p;
}

/** SGD with momentum/dampening/Nesterov and L2 weight decay (torch.optim.SGD's documented rule). */
function sgdReference(lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, steps: number): { w: number[]; b: number[] } {
  const p = { w: [...W0], b: [...B0] };
  const buf: { w: number[] | null; b: number[] | null } = { w: null, b: null };
  for (let t = 1; t <= steps; t++) {
    const g = { w: gradOf(p.w, WT, WA), b: gradOf(p.b, BT, BA) };
    for (const k of ["w", "b"] as const) {
      let d = g[k].map((x, i) => x + weightDecay * p[k][i]!);
      if (momentum !== 0) {
        const prev = buf[k];
        const next = prev === null ? [...d] : prev.map((x, i) => momentum * x + (1 - dampening) * d[i]!);
        buf[k] = next;
        d = nesterov ? d.map((x, i) => x + momentum * next[i]!) : next;
      }
      p[k] = p[k].map((x, i) => x - lr * d[i]!);
    }
  }
  return p;
}

// ---- PyTorch's numbers (make_optim_reference.py, torch 1.13.0a0) -------------------------------

const TORCH = {
  adamw: { w: [0.9232208770314249, -0.6593849559517251, -0.19946478783864474, 1.4202945815135968, -0.18609463054950368, 0.5609220053240667], b: [-0.008914024256081128, 0.29414824304075077, -0.10493427218969861] },
  adamw_groups: { w: [0.8955594822995984, -0.614289464653344, -0.20344731759503248, 1.3383385958243612, -0.16425327604394147, 0.5197710556523497], b: [-0.05856785806414482, 0.04881650587692122, 0.15099905211337186] },
  adamw_amsgrad: { w: [0.9972955473701274, -0.6076791494155738, -0.29053722983786484, 1.4018577172870634, -0.1152869077788029, 0.5030530177070869], b: [0.02574938468062427, 0.3889298724286558, -0.19227682869749096] },
  adamw_float32: { w: [0.9232208728790283, -0.659385085105896, -0.1994647979736328, 1.4202946424484253, -0.18609461188316345, 0.5609219074249268], b: [-0.008914023637771606, 0.2941482663154602, -0.10493429005146027] },
  sgd_plain: { w: [0.6872588170463084, -0.36121243844751033, 0.005129885572298134, 0.9425069201800611, -0.2988317029135985, -0.23904658204278975], b: [0.05900405786657353, 0.29129595903321825, -0.5398535260117578] },
  sgd_momentum: { w: [0.9372092205111057, 0.7284547411959986, -0.415387419901438, -0.5165457757254682, 0.262730034069026, -1.6712014571298477], b: [0.0018221072343465026, 0.964725835540906, -1.682164258895374] },
  sgd_nesterov: { w: [0.9050410195234826, 0.3391895397279744, -0.461868546997929, 0.018950096023443164, 0.22943465188570086, -0.8418673960677001], b: [0.0036709771711386403, 0.9237114814542656, -1.2605307369402965] },
};

/** Largest relative difference |a − b| / max(|b|, 1e-3) over both parameters. */
function maxRelDiff(got: { w: number[]; b: number[] }, want: { w: number[]; b: number[] }): number {
  let worst = 0;
  for (const k of ["w", "b"] as const) {
    assert.equal(got[k].length, want[k].length);
    got[k].forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[k][i]!) / Math.max(Math.abs(want[k][i]!), 1e-3))));
  }
  return worst;
}

function assertClose(name: string, got: { w: number[]; b: number[] }, want: { w: number[]; b: number[] }, tol: number, t: { diagnostic(s: string): void }): void {
  const d = maxRelDiff(got, want);
  t.diagnostic(`${name}: max rel diff ${d.toExponential(2)}`);
  assert.ok(d < tol, `${name}: max relative difference ${d} >= ${tol}\n got  ${JSON.stringify(got)}\n want ${JSON.stringify(want)}`);
}

// ---- AdamW ------------------------------------------------------------------------------------

describe("AdamW", () => {
  const makeBasic = (w: Tensor, b: Tensor) => new AdamW([w, b], { lr: 0.1, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.1 });
  const makeGroups = (w: Tensor, b: Tensor) => new AdamW([{ params: [w] }, { params: [b], weightDecay: 0, lr: 0.05 }], { lr: 0.1, weightDecay: 0.2 });
  const makeAms = (w: Tensor, b: Tensor) => new AdamW([w, b], { lr: 0.1, amsgrad: true, weightDecay: 0.01 });

  test("5 steps match the plain-JS reference and PyTorch (float64)", (t) => {
    const got = runTorchLike(makeBasic, 5);
    assertClose("vs JS", got, adamwReference([{ params: ["w", "b"], lr: 0.1, weightDecay: 0.1 }], [0.9, 0.99], 1e-8, false, 5), 1e-10, t);
    assertClose("vs PyTorch", got, TORCH.adamw, 1e-12, t);
  });

  test("parameter groups with their own lr and weight decay", (t) => {
    const got = runTorchLike(makeGroups, 5);
    const ref = adamwReference(
      [
        { params: ["w"], lr: 0.1, weightDecay: 0.2 },
        { params: ["b"], lr: 0.05, weightDecay: 0 },
      ],
      [0.9, 0.999],
      1e-8,
      false,
      5,
    );
    assertClose("vs JS", got, ref, 1e-10, t);
    assertClose("vs PyTorch", got, TORCH.adamw_groups, 1e-12, t);
  });

  test("amsgrad", (t) => {
    const got = runTorchLike(makeAms, 6);
    assertClose("vs JS", got, adamwReference([{ params: ["w", "b"], lr: 0.1, weightDecay: 0.01 }], [0.9, 0.999], 1e-8, true, 6), 1e-10, t);
    assertClose("vs PyTorch", got, TORCH.adamw_amsgrad, 1e-12, t);
  });

  test("float32 parameters match PyTorch float32", (t) => {
    assertClose("vs PyTorch", runTorchLike(makeBasic, 5, "float32"), TORCH.adamw_float32, 1e-6, t);
  });

  test("first step size is lr·sign(g) (bias correction), decay is p·(1 − lr·wd)", () => {
    // One scalar parameter, constant gradient 2 (loss 2p): m̂ = 2, √v̂ = 2, so Δ = −lr·2/(2 + eps).
    const p = tensor([3], { dtype: "float64", requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.5, eps: 0 });
    tidy(() => p.mul(2).sum().backward());
    opt.step();
    assert.equal(p.item(), 3 * (1 - 0.01 * 0.5) - 0.01);
    opt.dispose();
    p.dispose();
  });

  test("parameters without a gradient are skipped (no state, no decay)", () => {
    const p = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const q = tensor([5], { dtype: "float64", requiresGrad: true });
    const opt = new AdamW([p, q], { lr: 0.1, weightDecay: 0.5 });
    tidy(() => p.sum().backward());
    opt.step();
    assert.deepEqual(q.toArray(), [5]);
    const sd = opt.stateDict();
    assert.deepEqual(Object.keys(sd.json.state), ["0"]);
    assert.deepEqual([...sd.tensors.keys()], ["state.0.exp_avg", "state.0.exp_avg_sq"]);
    dispose(sd.tensors);
    opt.dispose();
    dispose([p, q]);
  });

  test("rejects bad options naming them", () => {
    const p = tensor([1], { requiresGrad: true });
    assert.throws(() => new AdamW([p], { lr: -1 }), /'options\.lr'.*-1/);
    assert.throws(() => new AdamW([p], { betas: [0.9, 1] }), /'options\.betas'/);
    assert.throws(() => new AdamW([{ params: [p], weightDecay: -0.1 }]), /'options\.weightDecay'/);
    assert.throws(() => new AdamW([{ params: [p] }, { params: [p] }]), /more than once/);
    assert.throws(() => new AdamW([]), /'params'/);
    assert.throws(() => new AdamW([p.mul(2)]), /leaf/);
    p.dispose();
  });
});

// ---- SGD --------------------------------------------------------------------------------------

describe("SGD", () => {
  const cases: [string, { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }, { w: number[]; b: number[] }][] = [
    ["plain", { lr: 0.05 }, TORCH.sgd_plain],
    ["momentum + dampening + weight decay", { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, TORCH.sgd_momentum],
    ["nesterov + weight decay", { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.02 }, TORCH.sgd_nesterov],
  ];
  for (const [name, o, torchRef] of cases) {
    test(`${name}: 5 steps match the plain-JS reference and PyTorch`, (t) => {
      const got = runTorchLike((w, b) => new SGD([w, b], o), 5);
      const ref = sgdReference(o.lr, o.momentum ?? 0, o.dampening ?? 0, o.weightDecay ?? 0, o.nesterov ?? false, 5);
      assertClose("vs JS", got, ref, 1e-10, t);
      assertClose("vs PyTorch", got, torchRef, 1e-12, t);
    });
  }

  test("needs lr; nesterov needs momentum and no dampening", () => {
    const p = tensor([1], { requiresGrad: true });
    assert.throws(() => new SGD([p], {} as { lr: number }), /'options\.lr'/);
    assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /'options\.nesterov'/);
    assert.throws(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /'options\.nesterov'/);
    p.dispose();
  });
});

test("weightDecayGroups: Linear and Conv2d weights decay; biases, norms, embeddings do not", () => {
  const emb = new Embedding(5, 4);
  const model = new Sequential(new Linear(4, 4), new LayerNorm(4), new Linear(4, 2, { bias: false }));
  const conv = new Conv2d(1, 2, 3);
  const both = new Sequential(model, conv);
  const [decay, noDecay] = weightDecayGroups(both, 0.1);
  const names = new Map(both.namedParameters().map(([n, p]) => [p, n]));
  assert.deepEqual(decay.params.map((p) => names.get(p)), ["0.0.weight", "0.2.weight", "1.weight"]);
  assert.deepEqual(noDecay.params.map((p) => names.get(p)), ["0.0.bias", "0.1.weight", "0.1.bias", "1.bias"]);
  assert.deepEqual([decay.weightDecay, noDecay.weightDecay], [0.1, 0]);
  const opt = new AdamW(weightDecayGroups(emb, 0.1));
  assert.deepEqual(opt.paramGroups.map((g) => [g.params.length, g.weightDecay]), [[0, 0.1], [1, 0]]);
  // Also reachable from the package's main index.
  assert.equal(torch.AdamW, AdamW);
  assert.equal(torch.Linear, Linear);
  both.dispose();
  emb.dispose();
});

// ---- memory -----------------------------------------------------------------------------------

test("step(), zeroGrad() and clipGradNorm() outside any tidy scope leave only the optimizer state", () => {
  countLiveTensors();
  const pr = problem();
  const before = liveTensorCount();
  const adam = new AdamW([pr.w, pr.b], { amsgrad: true });
  const sgd = new SGD([pr.w, pr.b], { lr: 0.01, momentum: 0.9 });
  for (let i = 0; i < 3; i++) {
    for (const opt of [adam, sgd]) {
      pr.computeGrads(opt);
      clipGradNorm([pr.w, pr.b], 0.5);
      opt.step();
    }
  }
  // AdamW: exp_avg, exp_avg_sq, max_exp_avg_sq per parameter; SGD: momentum_buffer per parameter.
  assert.equal(liveTensorCount() - before, 2 * 3 + 2 * 1);
  adam.dispose();
  sgd.dispose();
  assert.equal(liveTensorCount(), before);
  pr.dispose();
});

// ---- state dict -------------------------------------------------------------------------------

describe("optimizer state dict", () => {
  const makers: [string, (w: Tensor, b: Tensor) => Optimizer<GroupOptions>][] = [
    ["AdamW", (w, b) => new AdamW([{ params: [w] }, { params: [b], weightDecay: 0 }], { lr: 0.05, weightDecay: 0.1, amsgrad: true })],
    ["SGD", (w, b) => new SGD([w, b], { lr: 0.02, momentum: 0.9, nesterov: true })],
  ];
  for (const [name, make] of makers) {
    test(`${name}: restored mid-run, continues bit-identically`, () => {
      // Uninterrupted: 7 steps.
      const a = problem();
      const optA = make(a.w, a.b);
      for (let i = 0; i < 7; i++) {
        a.computeGrads(optA);
        optA.step();
      }
      // Interrupted after 3: save (JSON through a string, tensors cloned), rebuild, load, 4 more.
      const b = problem();
      const optB = make(b.w, b.b);
      for (let i = 0; i < 3; i++) {
        b.computeGrads(optB);
        optB.step();
      }
      const saved = optB.stateDict();
      const json = JSON.parse(JSON.stringify(saved.json)) as typeof saved.json;
      const tensors = new Map([...saved.tensors].map(([k, t]) => [k, t.clone()]));
      dispose(saved.tensors);
      const params = { w: b.w.toArray(), b: b.b.toArray() };
      optB.dispose();
      b.dispose();

      const c = problem();
      tidy(() =>
        noGrad(() => {
          c.w.copy_(tensor(params.w, { dtype: "float64", shape: [2, 3] }));
          c.b.copy_(tensor(params.b, { dtype: "float64" }));
        }),
      );
      const optC = make(c.w, c.b);
      optC.loadStateDict({ json, tensors });
      dispose(tensors);
      for (let i = 0; i < 4; i++) {
        c.computeGrads(optC);
        optC.step();
      }
      assert.deepEqual(c.w.toArray(), a.w.toArray());
      assert.deepEqual(c.b.toArray(), a.b.toArray());
      for (const o of [optA, optC]) o.dispose();
      a.dispose();
      c.dispose();
    });
  }

  test("keys, JSON layout, and the hyperparameters are restored", () => {
    const pr = problem();
    const opt = new AdamW([{ params: [pr.w] }, { params: [pr.b], weightDecay: 0 }], { lr: 0.05 });
    pr.computeGrads(opt);
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual([...sd.tensors.keys()], ["state.0.exp_avg", "state.0.exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq"]);
    assert.deepEqual(sd.json.state, { "0": { step: 1 }, "1": { step: 1 } });
    assert.deepEqual(sd.json.paramGroups.map((g) => g.params), [[0], [1]]);
    assert.equal(sd.json.kind, "AdamW");
    const json = JSON.parse(JSON.stringify(sd.json)) as typeof sd.json;
    opt.setLr(0.5);
    opt.loadStateDict({ json, tensors: sd.tensors });
    assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.05, 0.05]);
    assert.deepEqual(opt.paramGroups.map((g) => g.weightDecay), [0.01, 0]);
    // The loaded state is a copy: changing the source does not change the optimizer.
    const before = tidy(() => opt.stateDict().tensors.get("state.0.exp_avg")!.toArray());
    sd.tensors.get("state.0.exp_avg")!.fill_(7);
    assert.deepEqual(tidy(() => opt.stateDict().tensors.get("state.0.exp_avg")!.toArray()), before);
    dispose(sd.tensors);
    opt.dispose();
    pr.dispose();
  });

  test("mismatches are reported with the offending key", () => {
    const pr = problem();
    const opt = new AdamW([pr.w, pr.b]);
    pr.computeGrads(opt);
    opt.step();
    const sd = opt.stateDict();
    const other = new AdamW([pr.w]);
    assert.throws(() => other.loadStateDict(sd), /1 parameter\(s\) here but 2/);
    assert.throws(() => new SGD([pr.w, pr.b], { lr: 1 }).loadStateDict(sd), /AdamW optimizer, this one is SGD/);
    const wrongShape = new Map(sd.tensors);
    wrongShape.set("state.1.exp_avg", tensor([1, 2], { dtype: "float64" }));
    assert.throws(() => opt.loadStateDict({ json: sd.json, tensors: wrongShape }), /"state\.1\.exp_avg" has shape \[2\], its parameter has \[3\]/);
    const missing = new Map(sd.tensors);
    missing.delete("state.0.exp_avg_sq");
    assert.throws(() => opt.loadStateDict({ json: sd.json, tensors: missing }), /state of parameter 0 holds \{exp_avg, step\}, expected \{exp_avg, exp_avg_sq, step\}/);
    const unknown = new Map(sd.tensors);
    unknown.set("state.7.exp_avg", tensor([1]));
    assert.throws(() => opt.loadStateDict({ json: sd.json, tensors: unknown }), /"state\.7\.exp_avg" is not of the form/);
    // The failed loads changed nothing.
    assert.equal(opt.stateDict().json.state["0"]!.step, 1);
    dispose([sd.tensors, wrongShape.get("state.1.exp_avg"), unknown.get("state.7.exp_avg")]);
    opt.dispose();
    other.dispose();
    pr.dispose();
  });
});
