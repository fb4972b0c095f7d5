// InceptionFeatures with a stand-in TorchScript module that has the call convention of clean-fid's
// inception-2015-12-05.pt (test/fixtures/make_inception_fixture.py): the features match what
// clean-fid's "clean" pipeline (PIL bicubic to 299×299, clip, forward(x, return_features=True))
// computes in Python for gray, RGB and already-299×299 images; batching does not change them; bad
// files and inputs give clear errors. The real network is not available offline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor, tensor, tidy } from "../../src/torch/index.ts";
import { INCEPTION_FEATURE_DIM, InceptionFeatures } from "../../src/eval/inception.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const MODEL = join(fixtures, "inception_fixture.pt");
interface Summary {
  shape: number[];
  first: number[][];
  last: number[][];
  sum: number[];
  sumSquares: number[];
}
const expected = JSON.parse(readFileSync(join(fixtures, "inception_fixture.expected.json"), "utf8")) as {
  gray: { images: number[]; shape: number[]; features: Summary };
  rgb: { images: number[]; shape: number[]; features: Summary };
  full: { shape: number[]; features: Summary };
};
// Features are tanh outputs in (−1, 1); the resize differs from PIL by < 1e-4 gray levels here.
const TOLERANCE = 2e-4;

function images(set: { images: number[]; shape: number[] }): Tensor {
  return tensor(Uint8Array.from(set.images), { shape: set.shape });
}

function fullImage(): Tensor {
  const data = new Uint8Array(299 * 299 * 3);
  for (let y = 0; y < 299; y++) for (let x = 0; x < 299; x++) for (let c = 0; c < 3; c++) data[(y * 299 + x) * 3 + c] = (7 * y + 13 * x + 50 * c) % 256;
  return tensor(data, { shape: [1, 299, 299, 3] });
}

function check(label: string, got: Tensor, want: Summary): void {
  assert.equal(got.dtype, "float32", label);
  assert.equal(got.device, "cpu", label);
  assert.deepEqual(got.shape, want.shape, label);
  const n = want.shape[0]!;
  const v = got.toArray();
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    const row = v.slice(i * INCEPTION_FEATURE_DIM, (i + 1) * INCEPTION_FEATURE_DIM);
    const diffs = [
      ...want.first[i]!.map((e, k) => Math.abs(row[k]! - e)),
      ...want.last[i]!.map((e, k) => Math.abs(row[INCEPTION_FEATURE_DIM - 16 + k]! - e)),
      Math.abs(row.reduce((s, x) => s + x, 0) - want.sum[i]!) / INCEPTION_FEATURE_DIM,
      Math.abs(row.reduce((s, x) => s + x * x, 0) - want.sumSquares[i]!) / INCEPTION_FEATURE_DIM,
    ];
    maxDiff = Math.max(maxDiff, ...diffs);
  }
  console.log(`${label}: max |gcrl − clean-fid pipeline| = ${maxDiff.toExponential(2)} (tolerance ${TOLERANCE})`);
  assert.ok(maxDiff <= TOLERANCE, `${label}: max difference ${maxDiff}`);
}

test("features match clean-fid's clean-mode pipeline for gray, RGB and 299×299 images", () => {
  const net = InceptionFeatures.load(MODEL);
  assert.equal(net.device, "cpu");
  for (const [label, make, want] of [
    ["gray 9×11", () => images(expected.gray), expected.gray.features],
    ["RGB 12×10", () => images(expected.rgb), expected.rgb.features],
    ["RGB 299×299 (no resize)", fullImage, expected.full.features],
  ] as const) {
    const x = make();
    const f = net.features(x);
    check(label, f, want);
    f.dispose();
    x.dispose();
  }
  net.dispose();
});

test("batching does not change the features; empty input gives (0, 2048)", () => {
  const net = InceptionFeatures.load(MODEL);
  const x = images(expected.gray);
  tidy(() => {
    const whole = net.features(x, 32).toArray();
    const ones = net.features(x, 1).toArray();
    const twos = net.features(x, 2).toArray();
    assert.deepEqual(ones, whole);
    assert.deepEqual(twos, whole);
    const empty = net.features(x.narrow(0, 0, 0));
    assert.deepEqual(empty.shape, [0, INCEPTION_FEATURE_DIM]);
  });
  x.dispose();
  net.dispose();
});

test("errors: missing file, not TorchScript, wrong output shape, bad images, disposed", () => {
  assert.throws(() => InceptionFeatures.load(join(fixtures, "no_such_inception.pt")), /InceptionFeatures: .*no such file: .*no_such_inception\.pt.*inception-2015-12-05\.pt/);
  assert.throws(() => InceptionFeatures.load(join(fixtures, "state_dict.pt")), /InceptionFeatures: .*cannot load .*state_dict\.pt as a TorchScript module/);
  assert.throws(() => InceptionFeatures.load(join(fixtures, "inception_fixture.expected.json")), /InceptionFeatures: .*not|InceptionFeatures: .*cannot load/);
  const x = images(expected.rgb);
  const wrong = InceptionFeatures.load(join(fixtures, "inception_wrong_shape.pt"));
  assert.throws(() => wrong.features(x), /returned shape \[2, 1000\] for 2 images, expected \[2, 2048\] — is this clean-fid's inception-2015-12-05\.pt\?/);
  wrong.dispose();
  const net = InceptionFeatures.load(MODEL);
  const floats = tensor(new Float32Array(2 * 8 * 8 * 3), { shape: [2, 8, 8, 3] });
  const fourChannels = tensor(new Uint8Array(2 * 8 * 8 * 4), { shape: [2, 8, 8, 4] });
  assert.throws(() => net.features(floats), /images must be uint8 \(N, H, W, C\) with C = 1 or 3, got Tensor\(float32\[2, 8, 8, 3\]\)/);
  assert.throws(() => net.features(fourChannels), /images must be uint8 \(N, H, W, C\) with C = 1 or 3/);
  assert.throws(() => net.features(x, 0), /batchSize must be a positive integer, got 0/);
  assert.throws(() => InceptionFeatures.load(MODEL, { device: "tpu" }), /device must be "cpu", "cuda" or "cuda:N"/);
  net.dispose();
  net.dispose(); // idempotent
  assert.throws(() => net.features(x), /was disposed/);
  for (const t of [x, floats, fourChannels]) t.dispose();
});
