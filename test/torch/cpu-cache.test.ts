// The caching CPU allocator (native/kernels/allocator.cc): large blocks come back for the same size,
// small ones bypass it, the byte cap holds, switching off frees everything, tensors stay correct,
// and a model computes bit-identical results with and without it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { setCpuCache, cpuCacheStats, withCpuCache, withCpuCacheSync, tidy } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { hybridLoss } from "../../src/train/objectives.ts";

const MiB = 1024 * 1024;

test("large blocks are reused for the same size; small ones bypass the cache; off frees all", () => {
  try {
    setCpuCache(64 * MiB);
    const s0 = cpuCacheStats();
    const a = T.full([MiB], 3); // 4 MiB of float32
    const s1 = cpuCacheStats();
    assert.equal(s1.misses, s0.misses + 1);
    assert.equal(s1.blocksInUse, s0.blocksInUse + 1);
    a.dispose();
    const s2 = cpuCacheStats();
    assert.equal(s2.cachedBytes, s0.cachedBytes + 4 * MiB);
    assert.equal(s2.blocksInUse, s0.blocksInUse);
    const b = T.full([MiB], 5);
    const s3 = cpuCacheStats();
    assert.equal(s3.hits, s2.hits + 1, "the same size comes from the cache");
    assert.equal(s3.cachedBytes, s0.cachedBytes);
    assert.equal(b.sum().item(), 5 * MiB, "a reused block holds the new tensor's values");
    b.dispose();
    T.zeros([1000]).dispose(); // 4 KB: the default allocator
    assert.equal(cpuCacheStats().misses, s3.misses);
    // Over the cap: a freed 80 MiB block goes back to the system.
    const big = T.zeros([20 * MiB]);
    big.dispose();
    assert.equal(cpuCacheStats().cachedBytes, 4 * MiB + s0.cachedBytes);
  } finally {
    setCpuCache(0);
  }
  assert.equal(cpuCacheStats().cachedBytes, 0);
});

test("tensors allocated with the cache on stay valid after it is switched off", () => {
  setCpuCache(16 * MiB);
  const t = T.full([2 * MiB], 1.5);
  setCpuCache(0);
  assert.equal(t.sum().item(), 3 * MiB);
  t.dispose();
  assert.equal(cpuCacheStats().cachedBytes, 0, "freed after switching off: not cached");
});

test("a training loss and its gradients are bit-identical with and without the cache", async () => {
  const config = { height: 8, width: 8, vocabSize: 8, d: 32, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 16 };
  T.manualSeed(9);
  const model = new GCRLModel(config);
  const weak = T.randint(0, 8, [64, 8, 8]);
  const strong = T.randint(0, 8, [64, 8, 8]);
  const step = (): number[] =>
    tidy(() => {
      model.zeroGrad();
      const r = hybridLoss({ mode: "gcrl", alpha: 1, beta: 1, tau: 0.1 }, model, weak, strong);
      r.loss.backward();
      return [r.loss.item(), ...model.parameters().map((p) => p.grad!.abs().sum().item())];
    });
  const plain = step();
  const cached = await withCpuCache(() => [step(), step()]);
  assert.deepEqual(cached[0], plain);
  assert.deepEqual(cached[1], plain);
  assert.equal(cpuCacheStats().cachedBytes, 0);
  assert.throws(() => setCpuCache(-1), /setCpuCache.*maxBytes/s);
});

test("withCpuCache and withCpuCacheSync nest: only the outermost call switches the cache off", async () => {
  const block = (): void => T.full([MiB], 1).dispose(); // 4 MiB, cached when freed with the cache on
  await withCpuCache(async () => {
    block();
    assert.ok(cpuCacheStats().cachedBytes >= 4 * MiB, "the outer call caches");
    withCpuCacheSync(() => block(), 16 * MiB);
    assert.ok(cpuCacheStats().cachedBytes >= 4 * MiB, "still cached after an inner sync call");
    await withCpuCache(async () => block());
    assert.ok(cpuCacheStats().cachedBytes >= 4 * MiB, "still cached after an inner async call");
    assert.throws(() => withCpuCacheSync(() => { throw new Error("inner failure"); }), /inner failure/);
    assert.ok(cpuCacheStats().cachedBytes >= 4 * MiB, "an inner call that throws leaves the outer cache on");
  }, 64 * MiB);
  assert.equal(cpuCacheStats().cachedBytes, 0, "switched off and freed by the outermost call");
  assert.equal(withCpuCacheSync(() => 7), 7);
  assert.equal(cpuCacheStats().cachedBytes, 0);
});

test("an outermost withCpuCache of 0 bytes leaves the default allocator in place, for the calls nested in it too", () => {
  withCpuCacheSync(() => withCpuCacheSync(() => T.full([MiB], 1).dispose()), 0);
  assert.equal(cpuCacheStats().cachedBytes, 0);
  assert.throws(() => withCpuCacheSync(() => 1, -1), /withCpuCache.*maxBytes/s);
});
