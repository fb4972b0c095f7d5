// Tensor basics: data in and out for every dtype, metadata, factories, random draws and seeding,
// zero-copy views, in-place ops, autograd flags, process-wide settings.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { tensor, type DType } from "../../src/torch/index.ts";
import { assertClose } from "../helpers/assert-close.ts";

/** Runs a test body inside tidy() so every tensor it makes is freed. */
const tt = (name: string, body: () => void): void => {
  test(name, () => T.tidy(body));
};

describe("data in and out", () => {
  const roundTrips: [DType, T.AnyTypedArray][] = [
    ["float32", new Float32Array([1.5, -2.25, 0, 3e38, -1e-30])],
    ["float64", new Float64Array([Math.PI, -1e-300, 1e300, 0, -0])],
    ["int64", new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n])],
    ["int32", new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 42])],
    ["int16", new Int16Array([0, -1, 32767, -32768, 7])],
    ["int8", new Int8Array([0, -1, 127, -128, 7])],
    ["uint8", new Uint8Array([0, 1, 255, 128, 7])],
  ];
  for (const [dtype, data] of roundTrips) {
    tt(`${dtype}: TypedArray in, same TypedArray out`, () => {
      const t = tensor(data);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [5]);
      const out = t.toTypedArray();
      assert.equal(out.constructor, data.constructor);
      assert.deepEqual([...(out as Iterable<unknown>)], [...(data as Iterable<unknown>)]);
    });
  }

  tt("bfloat16: raw bit patterns round-trip exactly; toArray decodes them", () => {
    // 0x3f80 = 1, 0xc000 = -2, 0x7f80 = +inf, 0x3e20 = 0.15625, 0x0001 = smallest subnormal.
    const bits = new Uint16Array([0x3f80, 0xc000, 0x7f80, 0x3e20, 0x0001]);
    const t = tensor(bits, { dtype: "bfloat16" });
    assert.equal(t.dtype, "bfloat16");
    assert.deepEqual(Array.from(t.toTypedArray<"bfloat16">()), Array.from(bits));
    assert.deepEqual(t.toArray().slice(0, 4), [1, -2, Infinity, 0.15625]);
    assert.equal(t.toArray()[4], 2 ** -133);
    // From float32 data: bfloat16 is the top half of the float32 bits (exact for these values).
    assert.deepEqual(Array.from(tensor(new Float32Array([1, -2, 0.5]), { dtype: "bfloat16" }).toTypedArray<"bfloat16">()), [0x3f80, 0xc000, 0x3f00]);
    assert.deepEqual(Array.from(tensor([1, -2, 0.5], { dtype: "bfloat16" }).toTypedArray<"bfloat16">()), [0x3f80, 0xc000, 0x3f00]);
    // Rounded to 8 significant bits: 1.1 → 1.1015625.
    assert.deepEqual(tensor([1.1]).to("bfloat16").toArray(), [1.1015625]);
  });

  tt("float16: raw bit patterns round-trip exactly; toArray decodes them", () => {
    // 0x3c00 = 1, 0xc000 = -2, 0x7c00 = +inf, 0x3555 ≈ 1/3, 0x7bff = 65504 (max).
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x3555, 0x7bff]);
    const t = tensor(bits, { dtype: "float16" });
    assert.equal(t.dtype, "float16");
    assert.deepEqual(Array.from(t.toTypedArray<"float16">()), Array.from(bits));
    assert.deepEqual(t.toArray(), [1, -2, Infinity, 0.333251953125, 65504]);
    assert.deepEqual(tensor([1.5, 2], { dtype: "float16" }).toArray(), [1.5, 2]);
  });

  tt("bool: from booleans, one byte per element out", () => {
    const t = tensor([[true, false], [false, true]]);
    assert.equal(t.dtype, "bool");
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(Array.from(t.toTypedArray<"bool">()), [1, 0, 0, 1]);
    assert.deepEqual(t.toArray(), [1, 0, 0, 1]);
    assert.deepEqual(tensor(new Uint8Array([0, 1, 1]), { dtype: "bool" }).toArray(), [0, 1, 1]);
    assert.equal(tensor([true]).item(), 1);
  });

  tt("nested arrays give the inferred shape, float32 by default", () => {
    const t = tensor([[[1, 2, 3]], [[4, 5, 6]]]);
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.shape, [2, 1, 3]);
    assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6]);
    for (const dtype of ["float64", "int64", "int32", "int16", "int8", "uint8", "bfloat16", "float16"] as const) {
      const u = tensor([[1, 2], [3, 4]], { dtype });
      assert.equal(u.dtype, dtype);
      assert.deepEqual(u.toArray(), [1, 2, 3, 4], dtype);
    }
    assert.deepEqual(tensor(5).shape, []);
    assert.equal(tensor(5).item(), 5);
    assert.deepEqual(tensor([]).shape, [0]);
    assert.deepEqual(tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }).shape, [2, 3]);
    assert.deepEqual(tensor(new Float64Array(6), { shape: [3, 2] }).shape, [3, 2]);
  });

  tt("bad data is rejected with a clear error", () => {
    assert.throws(() => tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => tensor(new Uint16Array([1])), /Uint16Array/);
    assert.throws(() => tensor(new Uint16Array([1]), { dtype: "float32" }), /bfloat16.*float16/);
    assert.throws(() => tensor([1.5], { dtype: "int64" }), /integers/);
    assert.throws(() => tensor(new Float32Array(5), { shape: [2, 3] }), /tensor.*shape/);
    assert.throws(() => tensor([1, 2], { dtype: "complex64" as never }), /unknown dtype/);
  });

  tt("int64 values beyond 2^53 survive as BigInt; toArray rounds to numbers", () => {
    const t = tensor(new BigInt64Array([2n ** 62n + 1n, -5n]));
    assert.equal(t.toTypedArray<"int64">()[0], 2n ** 62n + 1n);
    assert.deepEqual(t.toArray(), [2 ** 62, -5]);
    assert.equal(tensor([7], { dtype: "int64" }).item(), 7);
  });

  tt("item, toArray and toString", () => {
    assert.equal(tensor([[2.5]]).item(), 2.5);
    assert.throws(() => tensor([1, 2]).item(), /item.*one element.*\[2\]/);
    assert.deepEqual(tensor([[1, 2], [3, 4]]).mT.toArray(), [1, 3, 2, 4]); // non-contiguous: row-major copy
    assert.equal(String(T.zeros([2, 3], { requiresGrad: true })), "Tensor(float32[2, 3], requiresGrad)");
    assert.equal(String(T.zeros([], { dtype: "int64" })), "Tensor(int64[])");
  });
});

describe("metadata", () => {
  tt("shape, dtype, device, ndim, numel, size", () => {
    const t = T.zeros([2, 3, 4], { dtype: "float64" });
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.equal(t.dtype, "float64");
    assert.equal(t.device, "cpu");
    assert.equal(t.ndim, 3);
    assert.equal(t.numel, 24);
    assert.equal(t.size(1), 3);
    assert.equal(t.size(-1), 4);
    assert.throws(() => t.size(3), /size.*dim/);
    assert.equal(T.scalar(3).ndim, 0);
    assert.equal(T.scalar(3).numel, 1);
  });

  tt("conversions keep values and change dtype", () => {
    const t = tensor([1.7, -2.2, 3]);
    assert.equal(t.double().dtype, "float64");
    assert.deepEqual(t.long().toArray(), [1, -2, 3]); // truncation
    assert.equal(t.to("int32").dtype, "int32");
    assert.equal(t.long().float().dtype, "float32");
    assert.equal(t.cpu().device, "cpu");
    assert.equal(t.toDevice("cpu", "float64").dtype, "float64");
    const c = t.clone();
    c.add_(1);
    assertClose(t, [1.7, -2.2, 3], 1e-6, "clone is a copy");
  });
});

describe("factories", () => {
  tt("zeros, ones, full, empty and the *Like variants", () => {
    assert.deepEqual(T.zeros([2, 2]).toArray(), [0, 0, 0, 0]);
    assert.equal(T.zeros([2]).dtype, "float32");
    assert.deepEqual(T.ones([3], { dtype: "int32" }).toArray(), [1, 1, 1]);
    assert.equal(T.ones([3], { dtype: "int32" }).dtype, "int32");
    assert.deepEqual(T.full([2], 3.5).toArray(), [3.5, 3.5]);
    assert.deepEqual(T.full([2], 7, { dtype: "int64" }).toArray(), [7, 7]);
    assert.deepEqual(T.empty([2, 5]).shape, [2, 5]);
    const base = T.ones([2, 3], { dtype: "float64" });
    assert.equal(T.zerosLike(base).dtype, "float64");
    assert.deepEqual(T.onesLike(base).shape, [2, 3]);
    assert.deepEqual(T.fullLike(base, 2).toArray(), [2, 2, 2, 2, 2, 2]);
    assert.deepEqual(T.scalar(4).shape, []);
    assert.throws(() => T.zeros([2, -1]), /zeros.*shape/);
    assert.throws(() => T.ones([1.5]), /ones.*shape/);
  });

  tt("arange, linspace, eye", () => {
    assert.equal(T.arange(5).dtype, "int64");
    assert.deepEqual(T.arange(5).toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(T.arange(2, 5).toArray(), [2, 3, 4]);
    assert.deepEqual(T.arange(5, 0, -2).toArray(), [5, 3, 1]);
    assert.equal(T.arange(0, 1, 0.25).dtype, "float32");
    assert.deepEqual(T.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.equal(T.arange(3, undefined, 1, { dtype: "float64" }).dtype, "float64");
    assert.throws(() => T.arange(0, 1, 0), /arange.*step/);
    assert.deepEqual(T.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(T.linspace(-1, 1, 1).toArray(), [-1]);
    assert.deepEqual(T.eye(3).toArray(), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.equal(T.eye(2, { dtype: "float64" }).dtype, "float64");
  });
});

describe("random draws", () => {
  tt("manualSeed: the same seed gives the same draws for every generator", () => {
    const draw = (): number[][] => [
      T.randn([5]).toArray(),
      T.rand([5]).toArray(),
      T.randint(0, 100, [5]).toArray(),
      T.randperm(8).toArray(),
      T.multinomial(tensor([0.1, 0.2, 0.7]), 5, true).toArray(),
      T.bernoulli(0.5, [8]).toArray(),
      tensor([1, 1, 1, 1, 1, 1, 1, 1]).dropout(0.5).toArray(),
    ];
    T.manualSeed(42);
    const a = draw();
    T.manualSeed(42);
    const b = draw();
    assert.deepEqual(a, b);
    T.manualSeed(43);
    assert.notDeepEqual(draw()[0], a[0]);
  });

  tt("randn: mean ≈ 0 and variance ≈ 1 over 10k draws", () => {
    T.manualSeed(0);
    const x = T.randn([10000], { dtype: "float64" });
    // Standard errors: mean 0.01, variance ≈ 0.014; allow 5 of them.
    assert.ok(Math.abs(x.mean().item()) < 0.05, `mean ${x.mean().item()}`);
    assert.ok(Math.abs(x.var().item() - 1) < 0.07, `variance ${x.var().item()}`);
    assert.equal(T.randn([2, 3]).dtype, "float32");
    assert.deepEqual(T.randnLike(x).shape, [10000]);
  });

  tt("rand: uniform in [0, 1) with mean ≈ 1/2 and variance ≈ 1/12", () => {
    T.manualSeed(1);
    const x = T.rand([10000], { dtype: "float64" });
    assert.ok(x.min().item() >= 0 && x.max().item() < 1);
    assert.ok(Math.abs(x.mean().item() - 0.5) < 0.015, `mean ${x.mean().item()}`);
    assert.ok(Math.abs(x.var().item() - 1 / 12) < 0.005, `variance ${x.var().item()}`);
  });

  tt("randint covers [low, high) and randperm is a permutation", () => {
    T.manualSeed(2);
    const r = T.randint(3, 7, [2000]);
    assert.equal(r.dtype, "int64");
    assert.deepEqual([...new Set(r.toArray())].sort(), [3, 4, 5, 6]);
    const p = T.randperm(20);
    assert.equal(p.dtype, "int64");
    assert.deepEqual([...p.toArray()].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.throws(() => T.randint(5, 5, [1]), /randint.*low < high/);
  });

  tt("multinomial frequencies follow the probabilities", () => {
    T.manualSeed(3);
    const s = T.multinomial(tensor([0.2, 0.8]), 10000, true).toArray();
    const ones = s.filter((v) => v === 1).length / s.length;
    assert.ok(Math.abs(ones - 0.8) < 0.02, `frequency of class 1: ${ones}`);
    // Rows need not sum to 1; without replacement every class appears once.
    const rows = T.multinomial(tensor([[1, 1, 2], [5, 0, 5]]), 2);
    assert.deepEqual(rows.shape, [2, 2]);
    const r = rows.toArray();
    assert.notEqual(r[0], r[1]);
    assert.ok(!r.slice(2).includes(1), "class with probability 0 is never drawn");
  });

  tt("bernoulli: frequency ≈ p (number and tensor forms)", () => {
    T.manualSeed(4);
    const b = T.bernoulli(0.3, [10000]);
    assert.ok(Math.abs(b.mean().item() - 0.3) < 0.02, `mean ${b.mean().item()}`);
    assert.deepEqual(b.toArray().filter((v) => v !== 0 && v !== 1), []);
    const p = tensor([0, 1, 0.5]).expand([4000, 3]).contiguous();
    const m = T.bernoulli(p).mean(0).toArray();
    assert.equal(m[0], 0);
    assert.equal(m[1], 1);
    assert.ok(Math.abs(m[2]! - 0.5) < 0.04, `mean ${m[2]}`);
    assert.throws(() => T.bernoulli(1.5, [2]), /bernoulli.*probability/);
  });

  tt("getRngState/setRngState replays the same draws", () => {
    T.manualSeed(5);
    T.randn([7]);
    const state = T.getRngState();
    assert.equal(state.dtype, "uint8");
    const a = [T.randn([4]).toArray(), T.rand([3]).toArray(), tensor([1, 1, 1, 1, 1, 1]).dropout(0.5).toArray()];
    T.setRngState(state);
    const b = [T.randn([4]).toArray(), T.rand([3]).toArray(), tensor([1, 1, 1, 1, 1, 1]).dropout(0.5).toArray()];
    assert.deepEqual(a, b);
  });
});

describe("views and in-place ops", () => {
  tt("sharedTypedArray aliases the tensor's memory both ways", () => {
    const t = T.zeros([3]);
    const view = t.sharedTypedArray<"float32">();
    t.add_(2);
    assert.deepEqual(Array.from(view), [2, 2, 2], "the view sees an in-place op");
    view[1] = 7;
    assert.deepEqual(t.toArray(), [2, 7, 2], "the tensor sees a write through the view");
    const copy = t.toTypedArray<"float32">();
    t.zero_();
    assert.deepEqual(Array.from(copy), [2, 7, 2], "toTypedArray is a copy");
    assert.throws(() => T.zeros([2, 3]).mT.sharedTypedArray(), /contiguous/);
  });

  tt("in-place ops change the tensor and return it", () => {
    const t = tensor([1, 2, 3, 4], { dtype: "float64" });
    assert.equal(t.add_(1), t);
    assert.deepEqual(t.toArray(), [2, 3, 4, 5]);
    assert.deepEqual(t.add_(tensor([1, 1, 1, 1], { dtype: "float64" }), 2).toArray(), [4, 5, 6, 7]);
    assert.deepEqual(t.sub_(1).toArray(), [3, 4, 5, 6]);
    assert.deepEqual(t.sub_(tensor([1], { dtype: "float64" }), 3).toArray(), [0, 1, 2, 3]);
    assert.deepEqual(t.mul_(2).toArray(), [0, 2, 4, 6]);
    assert.deepEqual(t.mul_(tensor([1, 2, 1, 2], { dtype: "float64" })).toArray(), [0, 4, 4, 12]);
    assert.deepEqual(t.div_(4).toArray(), [0, 1, 1, 3]);
    assert.deepEqual(t.div_(tensor([1, 1, 2, 3], { dtype: "float64" })).toArray(), [0, 1, 0.5, 1]);
    const two = tensor([2, 2, 2, 2], { dtype: "float64" });
    assert.deepEqual(t.addcmul_(two, two, 0.5).toArray(), [2, 3, 2.5, 3]); // += 0.5·2·2
    assert.deepEqual(t.addcdiv_(two, two, -1).toArray(), [1, 2, 1.5, 2]); // += -1·2/2
    assert.deepEqual(t.lerp_(tensor([3, 2, 3.5, 0], { dtype: "float64" }), 0.5).toArray(), [2, 2, 2.5, 1]);
    assert.deepEqual(t.clamp_(1.5, 2.2).toArray(), [2, 2, 2.2, 1.5]);
    assert.deepEqual(t.fill_(4).sqrt_().toArray(), [2, 2, 2, 2]);
    assert.deepEqual(t.maskedFill_(tensor([true, false, false, true]), -1).toArray(), [-1, 2, 2, -1]);
    assert.deepEqual(t.copy_(tensor([9, 8, 7, 6])).toArray(), [9, 8, 7, 6]); // converts float32 → float64
    assert.equal(t.dtype, "float64");
    assert.deepEqual(t.zero_().toArray(), [0, 0, 0, 0]);
  });

  tt("round_, abs_, clampMin_ and clampMax_ (number or tensor bound) change the tensor and return it", () => {
    const t = tensor([-2.5, -0.4, 0.5, 1.5, 2.6], { dtype: "float64" });
    assert.equal(t.round_(), t);
    assert.deepEqual(t.toArray(), [-2, -0, 0, 2, 3], "round half to even");
    assert.equal(t.abs_(), t);
    assert.deepEqual(t.toArray(), [2, 0, 0, 2, 3]);
    assert.equal(t.clampMin_(1), t);
    assert.deepEqual(t.toArray(), [2, 1, 1, 2, 3]);
    assert.equal(t.clampMax_(2.5), t);
    assert.deepEqual(t.toArray(), [2, 1, 1, 2, 2.5]);
    const bound = tensor([3, 0, 2, 1, 2], { dtype: "float64" });
    assert.deepEqual(t.clampMin_(bound).toArray(), [3, 1, 2, 2, 2.5], "elementwise max with a tensor");
    assert.deepEqual(t.clampMax_(bound).toArray(), [3, 0, 2, 1, 2], "elementwise min with a tensor");
    // A (n, 1) bound broadcasts along the columns, as adjustHue_ uses it on (…, 1) channels.
    const m = tensor([[1, 5], [7, 2]]);
    assert.deepEqual(m.clampMin_(tensor([[3], [4]])).toArray(), [3, 5, 7, 4]);
  });

  tt("indexCopy puts source's slices at the indices along dim, out of place (the inverse of indexSelect)", () => {
    const base = T.zeros([3, 2]);
    const rows = base.indexCopy(0, tensor([2, 0], { dtype: "int64" }), tensor([[1, 2], [3, 4]]));
    assert.deepEqual(rows.toArray(), [3, 4, 0, 0, 1, 2]);
    assert.deepEqual(base.toArray(), [0, 0, 0, 0, 0, 0], "base unchanged");
    const cols = T.full([2, 3], -Infinity).indexCopy(1, tensor([1], { dtype: "int64" }), tensor([[5], [6]]));
    assert.deepEqual(cols.toArray(), [-Infinity, 5, -Infinity, -Infinity, 6, -Infinity]);
    const x = tensor([[1, 1], [2, 2], [3, 3]]);
    const idx = tensor([0, 2], { dtype: "int64" });
    assert.deepEqual(x.indexCopy(0, idx, x.indexSelect(0, idx).mul(10)).toArray(), [10, 10, 2, 2, 30, 30]);
    assert.throws(() => base.indexCopy(2, idx, x), /indexCopy/);
  });

  tt("views share memory with their base", () => {
    const t = T.zeros([2, 3]);
    t.narrow(1, 1, 1).fill_(5);
    t.select(0, 1).add_(1);
    assert.deepEqual(t.toArray(), [0, 5, 0, 1, 6, 1]);
    t.view([6]).mul_(2);
    assert.deepEqual(t.toArray(), [0, 10, 0, 2, 12, 2]);
  });
});

describe("autograd flags", () => {
  tt("requiresGrad, grad, backward, isLeaf", () => {
    const x = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    assert.equal(x.requiresGrad, true);
    assert.equal(x.isLeaf, true);
    assert.equal(x.grad, null);
    const y = x.mul(x).sum(); // d/dx Σx² = 2x
    assert.equal(y.requiresGrad, true);
    assert.equal(y.isLeaf, false);
    y.backward();
    assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
    // Gradients accumulate until cleared.
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [5, 7, 9]);
    x.grad = null;
    assert.equal(x.grad, null);
    // requiresGrad_ is chainable; only floating-point tensors may require gradients.
    const z = T.ones([2]).requiresGrad_();
    assert.equal(z.requiresGrad, true);
    z.requiresGrad = false;
    assert.equal(z.requiresGrad, false);
    assert.throws(() => T.zeros([2], { dtype: "int64", requiresGrad: true }), /requiresGrad.*floating-point.*int64/);
  });

  tt("backward with an explicit gradient, retainGraph, retainGrad, multi-output backward", () => {
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const h = x.mul(2).retainGrad();
    const y = h.square(); // y = 4x², dy/dx = 8x, dy/dh = 2h
    y.backward(tensor([1, 0.5], { dtype: "float64" }), { retainGraph: true });
    assert.deepEqual(x.grad!.toArray(), [8, 8]);
    assert.deepEqual(h.grad!.toArray(), [4, 4]);
    y.sum().backward(); // possible again thanks to retainGraph
    assert.deepEqual(x.grad!.toArray(), [16, 24]);
    const a = tensor([3], { dtype: "float64", requiresGrad: true });
    T.backward([a.mul(2).sum(), a.square().sum()]);
    assert.deepEqual(a.grad!.toArray(), [2 + 6]);
  });

  tt("detach cuts the graph and shares memory", () => {
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const d = x.detach();
    assert.equal(d.requiresGrad, false);
    const y = x.mul(d).sum(); // gradient flows only through the first factor
    y.backward();
    assert.deepEqual(x.grad!.toArray(), [1, 2]);
    d.add_(1);
    assert.deepEqual(x.toArray(), [2, 3], "detach shares memory");
  });

  tt("noGrad records no graph and restores the mode (also after a throw)", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    assert.equal(T.isGradEnabled(), true);
    const y = T.noGrad(() => {
      assert.equal(T.isGradEnabled(), false);
      const inner = x.mul(2).add(1);
      assert.equal(T.enableGrad(() => x.mul(2).requiresGrad), true);
      return inner;
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(y.isLeaf, true);
    assert.equal(T.isGradEnabled(), true);
    assert.throws(() => y.sum().backward(), /backward/);
    assert.throws(() =>
      T.noGrad(() => {
        throw new Error("boom");
      }),
    /boom/);
    assert.equal(T.isGradEnabled(), true);
    assert.throws(() => T.noGrad(async () => 1), /noGrad.*Promise/);
    assert.equal(T.isGradEnabled(), true);
    // Updates inside noGrad on a leaf that requires grad are allowed (optimizer steps).
    T.noGrad(() => x.sub_(1));
    assert.deepEqual(x.toArray(), [0, 1]);
  });
});

describe("process settings", () => {
  test("setNumThreads/getNumThreads", () => {
    const before = T.getNumThreads();
    assert.ok(Number.isInteger(before) && before >= 1);
    try {
      T.setNumThreads(1);
      assert.equal(T.getNumThreads(), 1);
    } finally {
      T.setNumThreads(before);
    }
    assert.equal(T.getNumThreads(), before);
    assert.throws(() => T.setNumThreads(0), /setNumThreads.*between 1 and 1024/);
    assert.throws(() => T.setNumThreads(1.5), /setNumThreads/);
  });

  test("cudaAvailable is a boolean consistent with cudaDeviceCount", () => {
    const available = T.cudaAvailable();
    assert.equal(typeof available, "boolean");
    assert.equal(available, T.cudaDeviceCount() > 0);
    T.cudaSynchronize(); // a no-op without CUDA
  });

  test("buildInfo names the libtorch version", () => {
    assert.match(T.buildInfo().version, /^\d+\.\d+/);
  });
});
