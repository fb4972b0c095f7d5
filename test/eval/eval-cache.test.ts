// EvalCache (src/eval/eval-cache.ts) in a temporary run folder: the second call reads the file
// instead of computing (calls counted), a changed fingerprint or key recomputes and overwrites, a
// corrupt file is recomputed with a warning, an unwritable cache only warns; weightsFingerprint
// changes when model.safetensors is rewritten.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { tensor, tidy, saveSafetensors, type Tensor } from "../../src/torch/index.ts";
import { EvalCache, weightsFingerprint, type CacheKey } from "../../src/eval/eval-cache.ts";

function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-eval-cache-"));
  tidy(() => saveSafetensors(join(dir, "model.safetensors"), { w: tensor([1, 2, 3]) }, { step: "5" }));
  return dir;
}

const key: CacheKey = { kind: "features", dataset: "fashion-mnist", split: "test", count: 3 };

/** A compute function that counts its calls. */
function counter(values: number[], dtype: "float32" | "float64" = "float32"): { compute: () => Tensor; calls: () => number } {
  let calls = 0;
  return {
    compute: () => {
      calls++;
      return tensor(values, { dtype, shape: [values.length / 2, 2] });
    },
    calls: () => calls,
  };
}

test("weightsFingerprint: step, size and mtime of model.safetensors; changes when the weights are rewritten", () => {
  const dir = runDir();
  try {
    const a = weightsFingerprint(dir);
    assert.match(a, /^step=5 size=\d+ mtime=\d+$/);
    assert.equal(weightsFingerprint(dir), a, "stable");
    tidy(() => saveSafetensors(join(dir, "model.safetensors"), { w: tensor([1, 2, 4]) }, { step: "6" }));
    assert.notEqual(weightsFingerprint(dir), a);
    assert.match(weightsFingerprint(dir), /^step=6 /);
    // same step and contents but rewritten later: the mtime differs
    const b = weightsFingerprint(dir);
    utimesSync(join(dir, "model.safetensors"), new Date(), new Date(Date.now() + 5000));
    assert.notEqual(weightsFingerprint(dir), b);
    assert.throws(() => weightsFingerprint(join(dir, "nowhere")), /weightsFingerprint: .*nowhere has no model\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tensor(): the second call reads the cache instead of computing; dtype and values kept", () =>
  tidy(() => {
    const dir = runDir();
    try {
      const cache = new EvalCache(dir, weightsFingerprint(dir));
      for (const dtype of ["float32", "float64"] as const) {
        const k = { ...key, variant: dtype };
        const c = counter([0.5, 1.25, -3, 4, 1e-7, 6], dtype);
        const first = cache.tensor(k, c.compute);
        const second = cache.tensor(k, c.compute);
        assert.equal(c.calls(), 1, "computed once");
        assert.equal(second.dtype, dtype);
        assert.deepEqual(second.shape, [3, 2]);
        assert.deepEqual(second.toArray(), first.toArray());
        // a new cache object over the same folder (a later process) also reads it
        assert.deepEqual(new EvalCache(dir, weightsFingerprint(dir)).tensor(k, c.compute).toArray(), first.toArray());
        assert.equal(c.calls(), 1);
      }
      assert.deepEqual(readdirSync(join(dir, "cache")).sort(), ["features-fashion-mnist-test-3-float32.safetensors", "features-fashion-mnist-test-3-float64.safetensors"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test("a changed fingerprint recomputes and overwrites; other keys are separate entries", () =>
  tidy(() => {
    const dir = runDir();
    try {
      const c = counter([1, 2, 3, 4]);
      new EvalCache(dir, "weights-A").tensor(key, c.compute);
      new EvalCache(dir, "weights-A").tensor(key, c.compute);
      assert.equal(c.calls(), 1);
      const d = counter([9, 9, 9, 9]);
      assert.deepEqual(new EvalCache(dir, "weights-B").tensor(key, d.compute).toArray(), [9, 9, 9, 9]);
      assert.equal(d.calls(), 1, "stale entry recomputed");
      new EvalCache(dir, "weights-B").tensor(key, d.compute);
      assert.equal(d.calls(), 1, "the overwritten entry is current for B");
      new EvalCache(dir, "weights-A").tensor(key, c.compute);
      assert.equal(c.calls(), 2, "and stale for A again");
      // count, split and variant are part of the key
      const cache = new EvalCache(dir, "weights-A");
      for (const other of [{ ...key, count: 4 }, { ...key, split: "train" }, { ...key, variant: "layer2" }]) {
        const e = counter([7, 7]);
        cache.tensor(other, e.compute);
        assert.equal(e.calls(), 1, JSON.stringify(other));
      }
      // two keys with the same file name ("a/b" and "a_b") never return each other's value
      const slash = counter([1, 1]);
      const underscore = counter([2, 2]);
      assert.equal(cache.fileFor({ ...key, dataset: "a/b" }), cache.fileFor({ ...key, dataset: "a_b" }));
      assert.deepEqual(cache.tensor({ ...key, dataset: "a/b" }, slash.compute).toArray(), [1, 1]);
      assert.deepEqual(cache.tensor({ ...key, dataset: "a_b" }, underscore.compute).toArray(), [2, 2]);
      assert.deepEqual(cache.tensor({ ...key, dataset: "a/b" }, slash.compute).toArray(), [1, 1]);
      assert.equal(slash.calls(), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test("a corrupt or foreign cache file is recomputed with a warning, then repaired", () =>
  tidy(() => {
    const dir = runDir();
    try {
      const warnings: string[] = [];
      const cache = new EvalCache(dir, "fp", { warn: (m) => warnings.push(m) });
      const c = counter([1, 2, 3, 4]);
      cache.tensor(key, c.compute);
      const file = cache.fileFor(key);
      const bytes = readFileSync(file);
      for (const broken of [bytes.subarray(0, bytes.length - 3), Buffer.from("not a safetensors file at all"), Buffer.alloc(0)]) {
        writeFileSync(file, broken);
        const before = c.calls();
        assert.deepEqual(cache.tensor(key, c.compute).toArray(), [1, 2, 3, 4]);
        assert.equal(c.calls(), before + 1, "recomputed");
        assert.match(warnings.at(-1)!, /eval cache .*features-fashion-mnist-test-3\.safetensors is unreadable \(.*\); recomputing/);
        cache.tensor(key, c.compute);
        assert.equal(c.calls(), before + 1, "the rewritten file is used again");
      }
      // a valid safetensors file that is not a cache file (e.g. copied over it)
      tidy(() => saveSafetensors(file, { value: tensor([5]) }, { step: "1" }));
      cache.tensor(key, c.compute);
      assert.match(warnings.at(-1)!, /is not a gcrl eval-cache file/);
      assert.equal(warnings.length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test("array(): cached Float64Array, exact round trip; a cache that cannot be written only warns", () =>
  tidy(() => {
    const dir = runDir();
    try {
      let calls = 0;
      const values = Float64Array.from([Math.PI, -1e-300, 2.5, 1 / 3]);
      const compute = (): Float64Array => {
        calls++;
        return values;
      };
      const cache = new EvalCache(dir, "fp");
      const nll = { ...key, kind: "nll", count: 4 };
      assert.equal(cache.array(nll, compute), values);
      const again = cache.array(nll, compute);
      assert.equal(calls, 1);
      assert.ok(again instanceof Float64Array);
      assert.deepEqual(Array.from(again), Array.from(values), "bit-exact");
      // a tensor entry under an array key's file: recomputed with a warning
      const warnings: string[] = [];
      const warned = new EvalCache(dir, "fp", { warn: (m) => warnings.push(m) });
      warned.tensor({ ...nll, kind: "matrix" }, () => tensor([[1, 2]], { dtype: "float64" }));
      // unwritable: <runDir>/cache is a file
      const blocked = mkdtempSync(join(tmpdir(), "gcrl-eval-cache-"));
      writeFileSync(join(blocked, "cache"), "in the way");
      const broken = new EvalCache(blocked, "fp", { warn: (m) => warnings.push(m) });
      assert.deepEqual(Array.from(broken.array(nll, compute)), Array.from(values));
      assert.equal(calls, 2);
      assert.match(warnings.at(-1)!, /cannot write eval cache .*; continuing without it/);
      assert.ok(!existsSync(join(blocked, "cache", "nll-fashion-mnist-test-4.safetensors")));
      rmSync(blocked, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test("bad keys and compute results are errors naming the field", () =>
  tidy(() => {
    const cache = new EvalCache("/nonexistent-run", "fp");
    assert.throws(() => cache.fileFor({ ...key, kind: "" }), /EvalCache: key .*: kind must be a non-empty string/);
    assert.throws(() => cache.fileFor({ ...key, count: -1 }), /count must be an integer >= 0/);
    assert.throws(() => cache.fileFor({ ...key, count: 1.5 }), /count must be an integer >= 0/);
    assert.throws(() => cache.fileFor({ ...key, variant: "" }), /variant must be a non-empty string/);
    assert.throws(() => new EvalCache("", "fp"), /EvalCache: runDir must be a folder path/);
    assert.throws(() => new EvalCache("/x", ""), /EvalCache: fingerprint must be a non-empty string/);
    assert.throws(() => cache.tensor(key, () => [1, 2] as unknown as Tensor), /EvalCache\.tensor: compute\(\) must return a live Tensor/);
    assert.throws(() => cache.array(key, () => [1, 2] as unknown as Float64Array), /EvalCache\.array: compute\(\) must return a Float64Array/);
  }));

test("source: two sets with the same name, split and count never share a file or a value", () =>
  tidy(() => {
    const dir = runDir();
    try {
      const cache = new EvalCache(dir, weightsFingerprint(dir));
      const a = { ...key, source: "fashion-mnist test (/usr/share/datasets/fashion-mnist) #0123456789abcdef" };
      const b = { ...key, source: "fashion-mnist test (/tmp/flipped) #fedcba9876543210" };
      assert.notEqual(cache.fileFor(a), cache.fileFor(b));
      assert.notEqual(cache.fileFor(a), cache.fileFor(key));
      const ca = counter([1, 2, 3, 4, 5, 6]);
      const cb = counter([6, 5, 4, 3, 2, 1]);
      cache.tensor(a, ca.compute);
      assert.deepEqual(cache.tensor(b, cb.compute).toArray(), [6, 5, 4, 3, 2, 1]);
      assert.equal(cb.calls(), 1, "b was computed, not read from a's file");
      // b's value copied under a's file name (a stale or foreign file): a recomputes instead of reading it.
      writeFileSync(cache.fileFor(a), readFileSync(cache.fileFor(b)));
      assert.deepEqual(cache.tensor(a, ca.compute).toArray(), [1, 2, 3, 4, 5, 6]);
      assert.equal(ca.calls(), 2);
      assert.throws(() => cache.fileFor({ ...key, source: "" }), /source must be a non-empty string/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));
