// Compute options held by the model (issue 16, item 2): GCRLModel's matmul precision and kernel
// path are its own value (Module.compute, set at construction or with setCompute), reaching every
// block, attention and Linear, with no process-wide setting. Two models with the same weights and
// different precision, used alternately in one process, each compute in their own precision.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_COMPUTE, manualSeed, randint, resolveCompute, tidy, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/gcrl-model.ts";

const SIZE = { height: 6, width: 5, vocabSize: 8, d: 16, heads: 2, encoderLayers: 2, decoderLayers: 1, projectionDim: 8 } as const;

/** max |a − b| / max |b|. */
function relDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-30));
}

/** A copy of `model`'s weights in a new model built with `compute`. */
function twin(model: GCRLModel, compute: Parameters<typeof resolveCompute>[0]): GCRLModel {
  const m = new GCRLModel(model.config, compute);
  m.loadStateDict(new Map(model.namedParameters().map(([k, p]) => [k, p.detach()])));
  return m.eval();
}

/** Representation r(x) and logits of tokens, detached. */
function outputs(model: GCRLModel, tokens: Tensor): [Tensor, Tensor] {
  return tidy(() => {
    const r = model.forward(tokens, { needProjection: false });
    return [r.representation.detach(), r.logits!.detach()];
  });
}

test("a model computes in fp32 on the fast kernels unless built or set otherwise, and setCompute reaches every module", () => {
  manualSeed(1);
  const m = new GCRLModel(SIZE);
  try {
    assert.equal(m.compute, DEFAULT_COMPUTE);
    assert.deepEqual({ ...m.compute }, { precision: "fp32", kernels: "fast" });
    m.setCompute({ precision: "bf16" });
    assert.deepEqual({ ...m.compute }, { precision: "bf16", kernels: "fast" }, "fields not given are kept");
    for (const [name, sub] of m.namedModules()) assert.equal(sub.compute.precision, "bf16", `module "${name}"`);
    m.setCompute({ kernels: "reference" });
    assert.deepEqual({ ...m.compute }, { precision: "bf16", kernels: "reference" });
    assert.throws(() => m.setCompute({ precision: "fp16" as "fp32" }), /resolveCompute.*precision/s);
    assert.throws(() => resolveCompute({ kernels: "slow" as "fast" }), /resolveCompute.*kernels/s);
    const built = new GCRLModel(SIZE, { precision: "bf16" });
    assert.deepEqual({ ...built.compute }, { precision: "bf16", kernels: "fast" });
    assert.ok(built.namedModules().every(([, sub]) => sub.compute === built.compute), "built with it: every module holds it");
    built.dispose();
  } finally {
    m.dispose();
  }
});

test("two models of different precision used alternately each compute in their own precision", () => {
  manualSeed(2);
  const base = new GCRLModel(SIZE).eval();
  const fp32 = twin(base, {});
  const bf16 = twin(base, { precision: "bf16" });
  const reference = twin(base, { kernels: "reference" });
  try {
    tidy(() => {
      const tokens = randint(0, SIZE.vocabSize, [4, SIZE.height, SIZE.width]);
      const [r32, l32] = outputs(fp32, tokens);
      const [r16, l16] = outputs(bf16, tokens);
      const [r32b, l32b] = outputs(fp32, tokens);
      const [r16b, l16b] = outputs(bf16, tokens);
      const [rRef, lRef] = outputs(reference, tokens);
      // Each model gives the same output every time, whichever model ran in between.
      assert.equal(relDiff(r32b, r32), 0);
      assert.equal(relDiff(l32b, l32), 0);
      assert.equal(relDiff(r16b, r16), 0);
      assert.equal(relDiff(l16b, l16), 0);
      // bf16 (8 significant bits) is off fp32 by a bf16-sized amount, not by float32 rounding.
      for (const [what, a, b] of [["r(x)", r16, r32], ["logits", l16, l32]] as const) {
        const d = relDiff(a, b);
        assert.ok(d > 1e-4 && d < 5e-2, `${what}: bf16 vs fp32 relative difference ${d}`);
      }
      // The fp32 model on the reference kernels agrees with the fast kernels to float32 rounding.
      assert.ok(relDiff(rRef, r32) < 1e-5 && relDiff(lRef, l32) < 1e-5, "reference kernels = fast kernels in fp32");
      // base was built without compute options: still fp32, untouched by the others.
      const [rBase] = outputs(base, tokens);
      assert.equal(relDiff(rBase, r32), 0);
    });
  } finally {
    for (const m of [base, fp32, bf16, reference]) m.dispose();
  }
});
