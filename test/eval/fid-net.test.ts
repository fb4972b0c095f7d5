// FidNet: shapes and modes, batching, gray/RGB and odd sizes, deterministic training that learns a
// separable synthetic task (and leaves the global generator alone), save/load round trip, and the
// errors for bad configs, inputs and files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualSeed, rand, tensor, tidy, type Tensor } from "../../src/torch/index.ts";
import { imageSet, disposeSet, type ImageSet } from "../../src/data/image-set.ts";
import { Rng } from "../../src/data/rng.ts";
import { FidNet, FidNetError, fidNetAccuracy, loadFidNet, saveFidNet, trainFidNet, FID_NET_FILES } from "../../src/eval/fid-net.ts";

/** n images (H, W, C) of 3 classes: a bright top band, a bright bottom band, or a bright left band, plus noise. */
function synthetic(n: number, seed: number, h = 8, w = 8, c = 1): ImageSet {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * h * w * c);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    labels.push(label);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const on = label === 0 ? y < h / 3 : label === 1 ? y >= (2 * h) / 3 : x < w / 3;
        for (let k = 0; k < c; k++) data[((i * h + y) * w + x) * c + k] = Math.min(255, (on ? 170 : 30) + rng.int(0, 80));
      }
    }
  }
  return imageSet(tensor(data, { shape: [n, h, w, c] }), tensor(labels, { dtype: "int64" }), ["top", "bottom", "left"], `synthetic ${seed}`);
}

function uint8Images(n: number, h: number, w: number, c: number, seed: number): Tensor {
  const rng = new Rng(seed);
  return tensor(Uint8Array.from({ length: n * h * w * c }, () => rng.int(0, 256)), { shape: [n, h, w, c] });
}

test("shapes: logits, 128-d features on the CPU in float32, eval mode only while extracting", () => {
  const net = new FidNet({ height: 28, width: 28, channels: 1, numClasses: 10 });
  assert.equal(net.config.featureDim, 128);
  // conv1 32·1·9+32, conv2 64·32·9+64, fc 64·7·7·128+128, head 128·10+10
  assert.equal(net.numParameters(), 320 + 18496 + 401536 + 1290);
  const images = uint8Images(5, 28, 28, 1, 1);
  tidy(() => {
    assert.deepEqual(net.logits(net.preprocess(images)).shape, [5, 10]);
    assert.ok(net.training);
    const f = net.features(images);
    assert.ok(net.training, "features() restores the training mode");
    assert.deepEqual(f.shape, [5, 128]);
    assert.equal(f.dtype, "float32");
    assert.equal(f.device, "cpu");
    assert.equal(f.requiresGrad, false);
    assert.ok(f.min().item() >= 0, "features come after a ReLU");
    const batched = net.features(images, 2).toArray();
    const whole = f.toArray();
    const maxDiff = Math.max(...whole.map((v, i) => Math.abs(v - batched[i]!)));
    assert.ok(maxDiff < 1e-5, `batching changed features by ${maxDiff}`);
    assert.deepEqual(net.features(images.narrow(0, 0, 0)).shape, [0, 128]);
  });
  images.dispose();
  net.dispose();
});

test("RGB and odd sizes (9×13×3, featureDim 16)", () => {
  const net = new FidNet({ height: 9, width: 13, channels: 3, numClasses: 4, featureDim: 16 });
  const images = uint8Images(3, 9, 13, 3, 2);
  tidy(() => {
    assert.deepEqual(net.features(images).shape, [3, 16]);
    assert.deepEqual(net.logits(net.preprocess(images)).shape, [3, 4]);
  });
  images.dispose();
  net.dispose();
});

test("training: learns a separable task, deterministic under a seed, global generator untouched", () => {
  const train = synthetic(300, 1);
  const test = synthetic(90, 2);
  manualSeed(123);
  const before = tidy(() => rand([3]).toArray());
  manualSeed(123);
  const messages: string[] = [];
  const a = trainFidNet(train, test, { epochs: 3, batchSize: 32, lr: 3e-3, seed: 5, onProgress: (m) => messages.push(m) });
  const after = tidy(() => rand([3]).toArray());
  assert.deepEqual(after, before, "trainFidNet restores the global random generator");
  console.log(`synthetic 3-class task: test accuracy ${a.testAccuracy}, ${a.trainSeconds.toFixed(2)} s`);
  assert.ok(a.testAccuracy >= 0.95, `accuracy ${a.testAccuracy}`);
  assert.equal(a.epochs, 3);
  assert.equal(a.net.training, false);
  assert.ok(messages.some((m) => /epoch 3\/3 done .* test accuracy/.test(m)), messages.join("\n"));
  assert.equal(fidNetAccuracy(a.net, test), a.testAccuracy);
  const b = trainFidNet(train, test, { epochs: 3, batchSize: 32, lr: 3e-3, seed: 5 });
  const c = trainFidNet(train, test, { epochs: 1, batchSize: 32, lr: 3e-3, seed: 6 });
  tidy(() => {
    assert.deepEqual(a.net.features(test.images).toArray(), b.net.features(test.images).toArray(), "same seed, same net");
    assert.notDeepEqual(a.net.fc.weight.toArray(), c.net.fc.weight.toArray());
  });
  for (const r of [a, b, c]) r.net.dispose();
  disposeSet(train);
  disposeSet(test);
});

test("save and load: same features, info recorded; bad files give FidNetError", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-fid-net-"));
  try {
    manualSeed(0);
    const net = new FidNet({ height: 8, width: 10, channels: 3, numClasses: 3, featureDim: 12 });
    const images = uint8Images(4, 8, 10, 3, 3);
    const out = join(dir, "nested", "net");
    saveFidNet(out, net, { dataset: "synthetic", testAccuracy: 0.5, epochs: 1 });
    const { net: loaded, info } = loadFidNet(out);
    assert.equal(info.format, "gcrl.fid-net");
    assert.equal(info.version, 1);
    assert.equal(info.dataset, "synthetic");
    assert.equal(info.testAccuracy, 0.5);
    assert.deepEqual(info.config, { height: 8, width: 10, channels: 3, numClasses: 3, featureDim: 12 });
    assert.ok(!Number.isNaN(Date.parse(info.date)));
    assert.equal(loaded.training, false);
    tidy(() => assert.deepEqual(loaded.features(images).toArray(), net.features(images).toArray()));
    loaded.dispose();

    const infoPath = join(out, FID_NET_FILES.info);
    const good = readFileSync(infoPath, "utf8");
    const rewrite = (edit: (j: Record<string, unknown>) => void): void => {
      const j = JSON.parse(good) as Record<string, unknown>;
      edit(j);
      writeFileSync(infoPath, JSON.stringify(j));
    };
    assert.throws(() => loadFidNet(join(dir, "missing")), (e: unknown) => e instanceof FidNetError && /no fid-net\.json .*gcrl fid-net train --out/.test(e.message));
    writeFileSync(infoPath, "{ not json");
    assert.throws(() => loadFidNet(out), /fid-net\.json is not valid JSON/);
    rewrite((j) => (j.format = "gcrl.model"));
    assert.throws(() => loadFidNet(out), /not a FID net description \(expected "format": "gcrl.fid-net", got "gcrl.model"\)/);
    rewrite((j) => (j.version = 2));
    assert.throws(() => loadFidNet(out), /unsupported version 2/);
    rewrite((j) => ((j.config as Record<string, unknown>).channels = 2));
    assert.throws(() => loadFidNet(out), /config.channels must be 1 or 3, got 2/);
    rewrite((j) => ((j.config as Record<string, unknown>).numClasses = 5));
    assert.throws(() => loadFidNet(out), (e: unknown) => e instanceof FidNetError && /cannot load the weights: .*shape mismatch for "head.weight"/.test(e.message));
    writeFileSync(infoPath, good);
    writeFileSync(join(out, FID_NET_FILES.weights), "garbage");
    assert.throws(() => loadFidNet(out), (e: unknown) => e instanceof FidNetError && /fid-net\.safetensors: cannot load the weights/.test(e.message));
    unlinkSync(join(out, FID_NET_FILES.weights));
    assert.throws(() => loadFidNet(out), /no fid-net\.safetensors next to fid-net\.json/);
    images.dispose();
    net.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("errors: configs, images, training sets and options", () => {
  assert.throws(() => new FidNet({ height: 7, width: 28, channels: 1, numClasses: 10 }), /config.height must be an integer in \[8, 4096\], got 7/);
  assert.throws(() => new FidNet({ height: 28, width: 28, channels: 2 as 1, numClasses: 10 }), /config.channels must be 1 or 3, got 2/);
  assert.throws(() => new FidNet({ height: 28, width: 28, channels: 1, numClasses: 1 }), /config.numClasses must be an integer in \[2, 100000\], got 1/);
  assert.throws(() => new FidNet({ height: 28, width: 28, channels: 1, numClasses: 10, featureDim: 0 }), /config.featureDim/);
  const net = new FidNet({ height: 8, width: 8, channels: 1, numClasses: 3 });
  const wrong = uint8Images(2, 8, 9, 1, 4);
  const floats = tensor(new Float32Array(2 * 64), { shape: [2, 8, 8, 1] });
  assert.throws(() => net.features(wrong), /FidNet.features: images must be uint8 \(N, 8, 8, 1\) for this net, got Tensor\(uint8\[2, 8, 9, 1\]\)/);
  assert.throws(() => net.features(floats), /images must be uint8 \(N, 8, 8, 1\)/);
  assert.throws(() => net.logits(floats), /FidNet: x must be a float tensor \(N, 1, 8, 8\)/);
  const ok = uint8Images(2, 8, 8, 1, 5);
  assert.throws(() => net.features(ok, 0), /batchSize must be a positive integer, got 0/);
  const train = synthetic(6, 1);
  const rgb = synthetic(6, 1, 8, 8, 3);
  const unlabelled = imageSet(uint8Images(4, 8, 8, 1, 6), null, null, "unlabelled");
  assert.throws(() => trainFidNet(train, rgb), /train images are 8×8×1 but test images are 8×8×3/);
  assert.throws(() => trainFidNet(unlabelled, train), /train set \(unlabelled\) has no labels/);
  assert.throws(() => trainFidNet(train, train, { epochs: 0 }), /options.epochs must be a positive integer, got 0/);
  assert.throws(() => trainFidNet(train, train, { batchSize: 1.5 }), /options.batchSize must be a positive integer/);
  assert.throws(() => trainFidNet(train, train, { lr: -1 }), /options.lr must be a positive number/);
  assert.throws(() => trainFidNet(train, train, { seed: 0.5 }), /options.seed must be an integer/);
  assert.throws(() => saveFidNet(join(tmpdir(), "x"), net, { dataset: "d", testAccuracy: 2 }), /testAccuracy in \[0, 1\]/);
  for (const s of [train, rgb, unlabelled]) disposeSet(s);
  for (const t of [wrong, floats, ok]) t.dispose();
  net.dispose();
});
