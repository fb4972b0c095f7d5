// Augmentations: known answers with the randomness fixed (hand-computed, and PyTorch/torchvision
// numbers generated offline by test/fixtures/augment-reference.py and pasted here), determinism
// under a seed, the sampled parameters' ranges, shapes and dtypes, and every config error.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, randint, type Tensor } from "../../src/torch/index.ts";
import { Rng } from "../../src/data/rng.ts";
import * as A from "../../src/data/augment/index.ts";
import type { ColorJitterSample, StrongParams, WeakParams } from "../../src/data/augment/index.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

/** Runs a test body inside tidy() so every tensor it makes is freed. */
const tt = (name: string, body: () => void): void => {
  test(name, () => tidy(body));
};

/** uint8 images (B, H, W, C) from a flat list of values. */
const u8 = (values: number[], shape: [number, number, number, number]): Tensor => tensor(Uint8Array.from(values), { shape });
const f32 = (values: number[], shape: number[]): Tensor => tensor(Float32Array.from(values), { shape });
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** 4×4 gray image with the distinct values 1..16, row by row. */
const IMG_4X4 = range(16, 1);

const jitter = (j: Partial<ColorJitterSample> & { order: ColorJitterSample["order"] }): ColorJitterSample => ({
  brightness: 1,
  contrast: 1,
  saturation: 1,
  hue: 0,
  ...j,
});

/** Identity strong parameters with sample 0 changed. */
function strongWith(batch: number, h: number, w: number, change: Partial<A.StrongSample>): StrongParams {
  const p = A.identityStrongParams(batch, h, w);
  p.samples[0] = { ...p.samples[0]!, ...change };
  return p;
}

/** The hue-shifted uint8 image (adjustHue on the float image, rounded): computed even for a shift of 0. */
const hueU8 = (img: Tensor, shift: number): Tensor => A.adjustHue(img.float(), new Array<number>(img.size(0)).fill(shift)).round().to("uint8");

const weakWith = (pad: number, padMode: A.PadMode, samples: WeakParams["samples"]): WeakParams => ({ pad, padMode, samples });

// ---- weak view ------------------------------------------------------------------------------------

describe("weak view", () => {
  tt("zero padding 1, crop at (top 0, left 2): a hand-computed translation", () => {
    const out = A.applyWeak(u8(IMG_4X4, [1, 4, 4, 1]), weakWith(1, "zero", [{ top: 0, left: 2, flip: false }]));
    // Padded row y−1 / column x+1 of the original: shifted down by one and left by one, zeros entering.
    assert.deepEqual(out.toArray(), [0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0]);
  });

  tt("zero padding 1, crop at (top 2, left 0) then flip: hand-computed", () => {
    const out = A.applyWeak(u8(IMG_4X4, [1, 4, 4, 1]), weakWith(1, "zero", [{ top: 2, left: 0, flip: true }]));
    // Before the flip: rows 1..3 then zeros, columns [zero, 0, 1, 2]; the flip mirrors each row.
    assert.deepEqual(out.toArray(), [7, 6, 5, 0, 11, 10, 9, 0, 15, 14, 13, 0, 0, 0, 0, 0]);
  });

  tt("reflect padding 1, crop at (0, 0): rows and columns [1, 0, 1, 2] of the original", () => {
    const out = A.applyWeak(u8(IMG_4X4, [1, 4, 4, 1]), weakWith(1, "reflect", [{ top: 0, left: 0, flip: false }]));
    assert.deepEqual(out.toArray(), [6, 5, 6, 7, 2, 1, 2, 3, 6, 5, 6, 7, 10, 9, 10, 11]);
  });

  tt("the centre crop without flip is the identity; pad 0 with flip mirrors", () => {
    const img = u8(IMG_4X4, [1, 4, 4, 1]);
    assert.deepEqual(A.applyWeak(img, weakWith(2, "zero", [{ top: 2, left: 2, flip: false }])).toArray(), IMG_4X4);
    assert.deepEqual(A.applyWeak(img, weakWith(0, "zero", [{ top: 0, left: 0, flip: true }])).toArray(), [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13]);
  });

  tt("RGB: a pixel's three channels move together", () => {
    // 2×3 image, pixel (y, x) channel c = 100·c + 10·y + x.
    const values = range(2 * 3 * 3).map((i) => 100 * (i % 3) + 10 * Math.floor(i / 9) + (Math.floor(i / 3) % 3));
    const out = A.applyWeak(u8(values, [1, 2, 3, 3]), weakWith(1, "zero", [{ top: 1, left: 2, flip: false }]));
    const px = (y: number, x: number): number[] => [0, 1, 2].map((c) => 100 * c + 10 * y + x);
    assert.deepEqual(out.toArray(), [...px(0, 1), ...px(0, 2), 0, 0, 0, ...px(1, 1), ...px(1, 2), 0, 0, 0]);
  });

  tt("each sample of a batch gets its own parameters", () => {
    const img = u8([...IMG_4X4, ...IMG_4X4.map((v) => v + 100)], [2, 4, 4, 1]);
    const samples = [
      { top: 0, left: 2, flip: false },
      { top: 2, left: 0, flip: true },
    ];
    const batch = A.applyWeak(img, weakWith(1, "zero", samples)).toArray();
    const one = (i: number): number[] => A.applyWeak(img.narrow(0, i, 1), weakWith(1, "zero", [samples[i]!])).toArray();
    assert.deepEqual(batch, [...one(0), ...one(1)]);
  });

  test("sampled offsets cover [0, 2·pad], flips happen half the time and never when off", () => {
    const p = A.sampleWeakParams(4000, 28, 28, { pad: 3 }, new Rng(7));
    const tops = new Set(p.samples.map((s) => s.top));
    const lefts = new Set(p.samples.map((s) => s.left));
    assert.deepEqual([...tops].sort((a, b) => a - b), range(7));
    assert.deepEqual([...lefts].sort((a, b) => a - b), range(7));
    const flips = p.samples.filter((s) => s.flip).length / 4000;
    assert.ok(flips > 0.46 && flips < 0.54, `flip rate ${flips}`);
    assert.ok(A.sampleWeakParams(500, 28, 28, { flip: false }, new Rng(7)).samples.every((s) => !s.flip));
    assert.deepEqual(p.pad, 3);
    assert.deepEqual(p.padMode, "zero");
  });

  tt("bad parameters and images are refused with clear errors", () => {
    const img = u8(IMG_4X4, [1, 4, 4, 1]);
    assert.throws(() => A.sampleWeakParams(1, 4, 4, { pad: 4, padMode: "reflect" }, new Rng(0)), {
      message: "weak.pad: reflect padding needs pad < image size, got pad 4 for 4×4 images",
    });
    assert.throws(() => A.applyWeak(img, weakWith(1, "zero", [])), { message: "applyWeak: parameters for 0 samples, but the batch has 1 images" });
    assert.throws(() => A.applyWeak(img, weakWith(1, "zero", [{ top: 3, left: 0, flip: false }])), {
      message: "applyWeak: sample 0: top/left must be integers in [0, 2], got 3/0",
    });
    assert.throws(() => A.applyWeak(img.float(), weakWith(1, "zero", [{ top: 0, left: 0, flip: false }])), /applyWeak: images must be a uint8 tensor \(B, H, W, C\) with C = 1 or 3, got .*float32\[1, 4, 4, 1\]/);
    assert.throws(() => A.applyWeak(u8(range(8), [1, 2, 2, 2]), weakWith(0, "zero", [{ top: 0, left: 0, flip: false }])), /C = 1 or 3/);
  });
});

// ---- strong view: random resized crop -------------------------------------------------------------

// PyTorch 1.13: F.interpolate(img[1:4, 2:6], size=(5, 6), mode="bilinear", align_corners=False).
const IMG_5X6 = [10, 20, 30, 40, 50, 60, 15, 25, 35, 45, 55, 65, 80, 70, 60, 50, 40, 30, 0, 255, 0, 255, 0, 255, 5, 100, 200, 150, 50, 250];
const REF_RESIZED_CROP = [
  35, 40, 46.666667, 53.333333, 60, 65, 45, 46, 47.333333, 48.666667, 50, 51, 60, 55, 48.333333, 41.666667, 35, 30, 24, 98.5, 146.833333, 42.166667, 90.5,
  165, 0, 127.5, 212.5, 42.5, 127.5, 255,
];
const REF_RESIZED_CROP_FLIPPED = [
  65, 60, 53.333333, 46.666667, 40, 35, 51, 50, 48.666667, 47.333333, 46, 45, 30, 35, 41.666667, 48.333333, 55, 60, 165, 90.5, 42.166667, 146.833333, 98.5,
  24, 255, 127.5, 42.5, 212.5, 127.5, 0,
];

describe("strong view: random resized crop", () => {
  tt("scale 1, the image's aspect ratio, no flip, no jitter/grayscale is the identity (gray and RGB)", () => {
    for (const shape of [[3, 28, 28, 1], [2, 32, 32, 3], [2, 20, 24, 3]] as [number, number, number, number][]) {
      const aspect = shape[2] / shape[1]; // the image's own aspect ratio (w/h)
      const config = { scale: [1, 1] as const, ratio: [aspect, aspect] as const, flip: false, jitterProbability: 0, grayscaleProbability: 0 };
      const img = randint(0, 256, shape, { dtype: "uint8" });
      const p = A.sampleStrongParams(shape[0], shape[1], shape[2], shape[3] as 1 | 3, config, new Rng(1));
      assert.ok(p.samples.every((s) => s.crop.top === 0 && s.crop.left === 0 && s.crop.height === shape[1] && s.crop.width === shape[2]));
      assert.deepEqual(A.applyStrong(img, p).toArray(), img.toArray());
      assert.deepEqual(A.applyStrong(img, A.identityStrongParams(shape[0], shape[1], shape[2])).toArray(), img.toArray());
    }
  });

  tt("a 2×2 box resized to 4×4: hand-computed bilinear weights (1, 0), (¾, ¼), (¼, ¾), (0, 1)", () => {
    const img = u8([9, 9, 9, 9, 0, 64, 9, 9, 128, 192, 9, 9, 9, 9, 9, 9], [1, 4, 4, 1]);
    const out = A.applyStrong(img, strongWith(1, 4, 4, { crop: { top: 1, left: 0, height: 2, width: 2 } }));
    // Rows: [0, 64], [32, 96], [96, 160], [128, 192]; then each row [a, b] -> [a, ¾a + ¼b, ¼a + ¾b, b].
    assert.deepEqual(out.toArray(), [0, 16, 48, 64, 32, 48, 80, 96, 96, 112, 144, 160, 128, 144, 176, 192]);
    const flipped = A.applyStrong(img, strongWith(1, 4, 4, { crop: { top: 1, left: 0, height: 2, width: 2 }, flip: true }));
    assert.deepEqual(flipped.toArray(), [64, 48, 16, 0, 96, 80, 48, 32, 160, 144, 112, 96, 192, 176, 144, 128]);
  });

  tt("box (top 1, left 2, 3×4) of a 5×6 image matches PyTorch's crop + interpolate (and flipped)", () => {
    const box = { top: 1, left: 2, height: 3, width: 4 };
    const img = u8(IMG_5X6, [1, 5, 6, 1]);
    assertClose(A.resizedCropFlip(img, [box], [false]), REF_RESIZED_CROP, 1e-5, "resized crop");
    assertClose(A.resizedCropFlip(img, [box], [true]), REF_RESIZED_CROP_FLIPPED, 1e-5, "resized crop, flipped");
    // The uint8 view is the rounded float (ties such as 98.5 may go either way after float32 rounding).
    const rounded = A.applyStrong(img, strongWith(1, 5, 6, { crop: box })).toArray();
    rounded.forEach((v, i) => assert.ok(Math.abs(v - REF_RESIZED_CROP[i]!) <= 0.5 + 1e-4, `pixel ${i}: ${v} vs ${REF_RESIZED_CROP[i]}`));
  });

  tt("RGB channels are resized alike, and each sample of a batch with its own box", () => {
    // Channels v, 255 − v, v/2 (exact in uint8 for even v): bilinear weights sum to 1, so they map the same way.
    const even = IMG_5X6.map((v) => v - (v % 2));
    const rgb = even.flatMap((v) => [v, 255 - v, v / 2]);
    const img = u8([...rgb, ...rgb], [2, 5, 6, 3]);
    const box = { top: 1, left: 2, height: 3, width: 4 };
    const out = A.resizedCropFlip(img, [box, { top: 0, left: 0, height: 5, width: 6 }], [false, true]).toArray();
    const ref = A.resizedCropFlip(u8(even, [1, 5, 6, 1]), [box], [false]).toArray();
    assertClose(out.slice(0, 90), ref.flatMap((v) => [v, 255 - v, v / 2]), 1e-5, "RGB sample 0");
    const mirrored = range(30).flatMap((i) => {
      const y = Math.floor(i / 6);
      const x = 5 - (i % 6);
      return rgb.slice((y * 6 + x) * 3, (y * 6 + x) * 3 + 3);
    });
    assert.deepEqual(out.slice(90), mirrored);
  });

  test("sampled boxes: inside the image, area and aspect within the configured ranges", () => {
    const rng = new Rng(3);
    for (const [H, W, scale, ratio] of [
      [224, 224, [0.2, 1], [3 / 4, 4 / 3]],
      [224, 160, [0.08, 1], [3 / 4, 4 / 3]],
      [28, 28, [0.2, 1], [3 / 4, 4 / 3]],
      [32, 32, [0.5, 0.6], [1, 2]],
    ] as [number, number, [number, number], [number, number]][]) {
      let minArea = Infinity;
      let maxArea = 0;
      for (let i = 0; i < 3000; i++) {
        const { top, left, height: h, width: w } = A.sampleCropBox(H, W, scale, ratio, rng);
        assert.ok(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= H && left + w <= W, `box ${top},${left},${h},${w} in ${H}×${W}`);
        // w and h are rounded: the unrounded area and aspect lie within half a pixel.
        const areaLo = (Math.max(w - 0.5, 0) * Math.max(h - 0.5, 0)) / (H * W);
        const areaHi = ((w + 0.5) * (h + 0.5)) / (H * W);
        assert.ok(areaLo <= scale[1] && areaHi >= scale[0], `area of ${w}×${h} in ${H}×${W} outside ${scale}`);
        assert.ok((w - 0.5) / (h + 0.5) <= ratio[1] && (w + 0.5) / (h - 0.5) >= ratio[0], `aspect ${w}/${h} outside ${ratio}`);
        minArea = Math.min(minArea, (w * h) / (H * W));
        maxArea = Math.max(maxArea, (w * h) / (H * W));
      }
      // The whole range is used.
      assert.ok(minArea < scale[0] + 0.05 * (scale[1] - scale[0]) + 0.02, `smallest area ${minArea} for ${scale}`);
      assert.ok(maxArea > scale[1] - 0.05 * (scale[1] - scale[0]) - 0.02, `largest area ${maxArea} for ${scale}`);
    }
  });

  test("no box fits in 10 attempts: torchvision's central fallback at the nearest allowed aspect ratio", () => {
    assert.deepEqual(A.sampleCropBox(28, 28, [1, 1], [2, 3], new Rng(0)), { top: 7, left: 0, height: 14, width: 28 });
    assert.deepEqual(A.sampleCropBox(20, 30, [1, 1], [0.5, 1], new Rng(0)), { top: 0, left: 5, height: 20, width: 20 });
  });

  test("Python's round(): halves to even", () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 7].map(A.roundHalfEven), [0, 2, 2, 4, 2, 3, 7]);
  });
});

// ---- strong view: color ---------------------------------------------------------------------------

// 12 RGB pixels, as a (1, 3, 4, 3) image; torchvision's results from augment-reference.py.
const PIXELS = [
  255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50, 30, 180, 90, 120, 120, 40, 77, 77, 77, 10, 200, 200, 250, 5, 128, 0, 0, 0, 60, 20, 240, 255, 255, 254,
];
const REF_HUE: Record<string, number[]> = {
  "0.1": [255, 153, 0, 0, 255, 153, 153, 0, 255, 200, 190, 50, 30, 180, 180, 72, 120, 40, 77, 77, 77, 10, 86, 200, 250, 29, 5, 0, 0, 0, 192, 20, 240, 254.4, 255, 254],
  "-0.25": [127.5, 0, 255, 255, 127.5, 0, 0, 255, 127.5, 175, 50, 200, 180, 165, 30, 120, 40, 80, 77, 77, 77, 105, 200, 10, 5, 5.5, 250, 0, 0, 0, 20, 240, 170, 255, 254, 254.5],
  "0.5": [0, 255, 255, 255, 0, 255, 255, 255, 0, 50, 150, 200, 180, 30, 120, 40, 40, 120, 77, 77, 77, 200, 10, 10, 5, 250, 127, 0, 0, 0, 200, 240, 20, 254, 254, 255],
  "0.3": [51, 255, 0, 0, 51, 255, 255, 0, 51, 50, 200, 70, 60, 30, 180, 40, 120, 104, 77, 77, 77, 162, 10, 200, 177, 250, 5, 0, 0, 0, 240, 20, 24, 254, 255, 254.8],
};
const REF_CONTRAST_1_7 = [
  255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 97.703825, 12.703825, 0, 233.703825, 80.703825, 131.703825, 131.703825, 0, 58.603825, 58.603825, 58.603825, 0, 255, 255,
  255, 0, 145.303825, 0, 0, 0, 29.703825, 0, 255, 255, 255, 255,
];
const REF_SATURATION: Record<string, number[]> = {
  "0.3": [
    129.8715, 53.3715, 53.3715, 104.7795, 181.2795, 104.7795, 20.349, 20.349, 96.849, 146.94, 116.94, 101.94, 96.423, 141.423, 114.423, 113.616, 113.616, 89.616, 77, 77,
    77, 103.233, 160.233, 160.233, 139.5939, 66.0939, 102.9939, 0, 0, 0, 57.928, 45.928, 111.928, 254.9202, 254.9202, 254.6202,
  ],
  "1.8": [
    255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 80.64, 0, 0, 224.088, 62.088, 127.296, 127.296, 0, 77, 77, 77, 0, 245.448, 245.448, 255, 0, 156.5784, 0, 0, 0, 62.368, 0, 255,
    255, 255, 253.2912,
  ],
};
const BLUR_IMG = [0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 50, 50, 50, 200, 200, 200];
const REF_BLUR: Record<string, number[]> = {
  "3/0.8": [
    58.260624, 63.626451, 29.130312, 0, 0, 0, 63.626451, 69.486473, 31.813226, 5.711826, 12.475775, 11.423652, 29.130312, 31.813226, 14.565156, 12.475775, 27.249597,
    24.95155, 11.949713, 11.949713, 20.517452, 44.94294, 60.274628, 59.222505, 26.100573, 26.100573, 44.814236, 85.688632, 104.402294, 104.402294,
  ],
  "5/1.5": [
    55.794212, 49.162121, 30.78087, 19.939657, 9.898304, 11.233609, 49.162121, 43.318367, 27.389463, 18.090358, 9.639632, 10.940042, 33.901025, 32.747803, 29.835169,
    31.632906, 33.891297, 37.678136, 26.01689, 28.526979, 34.081501, 43.505336, 52.203179, 57.716193, 14.604086, 19.864991, 32.995599, 48.525399, 63.053742, 69.649953,
  ],
};

describe("strong view: color", () => {
  tt("brightness 1.5 on known pixels: clamp(round(1.5·x)), ties to even", () => {
    const img = u8([0, 10, 99, 101, 170, 200, 255, 1], [1, 2, 4, 1]);
    const out = A.applyStrong(img, strongWith(1, 2, 4, { jitter: jitter({ order: ["brightness"], brightness: 1.5 }) }));
    // 1.5·99 = 148.5 -> 148 and 1.5·101 = 151.5 -> 152 (round half to even, as torch.round); 1.5 -> 2.
    assert.deepEqual(out.toArray(), [0, 15, 148, 152, 255, 255, 255, 2]);
  });

  tt("contrast blends with the mean of the grayscale image", () => {
    const gray = A.applyStrong(u8([0, 100, 200, 100], [1, 2, 2, 1]), strongWith(1, 2, 2, { jitter: jitter({ order: ["contrast"], contrast: 0.5 }) }));
    assert.deepEqual(gray.toArray(), [50, 100, 150, 100]); // mean 100: 0.5·x + 50
    // RGB: red and blue pixels, factor 0: every value becomes the gray mean (0.299·255 + 0.114·255)/2 = 52.66 -> 53
    // (not the plain channel mean 85).
    const rgb = A.applyStrong(u8([255, 0, 0, 0, 0, 255], [1, 1, 2, 3]), strongWith(1, 1, 2, { jitter: jitter({ order: ["contrast"], contrast: 0 }) }));
    assert.deepEqual(rgb.toArray(), [53, 53, 53, 53, 53, 53]);
    assertClose(A.adjustContrast(f32(PIXELS, [1, 3, 4, 3]), [1.7]), REF_CONTRAST_1_7, 1e-5, "contrast 1.7 vs torchvision");
  });

  tt("saturation blends with the grayscale image (torchvision), and does nothing to gray images", () => {
    for (const [f, ref] of Object.entries(REF_SATURATION)) assertClose(A.adjustSaturation(f32(PIXELS, [1, 3, 4, 3]), [Number(f)]), ref, 1e-5, `saturation ${f}`);
    const img = u8([5, 50, 250, 0], [1, 2, 2, 1]);
    assert.deepEqual(A.applyStrong(img, strongWith(1, 2, 2, { jitter: jitter({ order: ["saturation"], saturation: 0 }) })).toArray(), [5, 50, 250, 0]);
  });

  tt("hue: a shift of 0 is the identity; 1/3 turns red -> green -> blue -> red", () => {
    const img = randint(0, 256, [2, 16, 16, 3], { dtype: "uint8" });
    const p = A.identityStrongParams(2, 16, 16);
    p.samples.forEach((s) => (s.jitter = jitter({ order: ["hue"], hue: 0 })));
    assert.deepEqual(A.applyStrong(img, p).toArray(), img.toArray());
    assert.deepEqual(hueU8(img, 0).toArray(), img.toArray());
    const primaries = u8([255, 0, 0, 0, 255, 0, 0, 0, 255, 90, 90, 90], [1, 1, 4, 3]);
    assert.deepEqual(hueU8(primaries, 1 / 3).toArray(), [0, 255, 0, 0, 0, 255, 255, 0, 0, 90, 90, 90]);
    assert.deepEqual(hueU8(primaries, -1 / 3).toArray(), [0, 0, 255, 255, 0, 0, 0, 255, 0, 90, 90, 90]);
    assert.deepEqual(hueU8(primaries, 0.5).toArray(), [0, 255, 255, 255, 0, 255, 255, 255, 0, 90, 90, 90]);
  });

  tt("hue shifts match torchvision's RGB -> HSV -> RGB on 12 pixels (ties, grays, black, near-white)", () => {
    for (const [shift, ref] of Object.entries(REF_HUE)) assertClose(A.adjustHue(f32(PIXELS, [1, 3, 4, 3]), [Number(shift)]), ref, 2e-5, `hue ${shift}`);
    // Gray images: hue does nothing.
    const gray = u8([3, 30, 200, 255], [1, 2, 2, 1]);
    assert.deepEqual(A.applyStrong(gray, strongWith(1, 2, 2, { jitter: jitter({ order: ["hue"], hue: 0.3 }) })).toArray(), [3, 30, 200, 255]);
  });

  tt("grayscale uses ITU-R 601 weights (0.299, 0.587, 0.114) and keeps 3 equal channels", () => {
    assert.deepEqual(A.GRAY_WEIGHTS, [0.299, 0.587, 0.114]);
    const img = u8([255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100], [1, 1, 4, 3]);
    const out = A.applyStrong(img, strongWith(1, 1, 4, { grayscale: true }));
    // 76.245 -> 76, 149.685 -> 150, 29.07 -> 29.
    assert.deepEqual(out.toArray(), [76, 76, 76, 150, 150, 150, 29, 29, 29, 100, 100, 100]);
  });

  tt("the jitter order matters and is followed: brightness 2 then contrast 0, and the reverse", () => {
    const img = u8([100, 200], [1, 1, 2, 1]);
    const run = (order: ColorJitterSample["order"]): number[] =>
      A.applyStrong(img, strongWith(1, 1, 2, { jitter: jitter({ order, brightness: 2, contrast: 0 }) })).toArray();
    assert.deepEqual(run(["brightness", "contrast"]), [228, 228]); // [200, 255 (clamped)] -> mean 227.5 -> 228 (even)
    assert.deepEqual(run(["contrast", "brightness"]), [255, 255]); // [150, 150] -> 300 -> 255
  });

  tt("a batch with a different jitter order per sample equals each sample augmented alone", () => {
    const B = 24;
    const img = randint(0, 256, [B, 12, 10, 3], { dtype: "uint8" });
    const p = A.sampleStrongParams(B, 12, 10, 3, { jitterProbability: 0.9, grayscaleProbability: 0.3, blur: true, blurKernelSize: 3 }, new Rng(11));
    const orders = new Set(p.samples.map((s) => s.jitter?.order.join(",")));
    assert.ok(orders.size >= 10, `only ${orders.size} distinct orders`);
    const batch = A.applyStrong(img, p).toArray();
    const alone = range(B).flatMap((i) => A.applyStrong(img.narrow(0, i, 1), { blurKernelSize: 3, samples: [p.samples[i]!] }).toArray());
    const diffs = batch.map((v, i) => Math.abs(v - alone[i]!));
    assert.ok(Math.max(...diffs) <= 1, `largest difference ${Math.max(...diffs)}`);
    assert.ok(diffs.filter((d) => d > 0).length <= batch.length / 1000, `${diffs.filter((d) => d > 0).length} values differ by 1 (float summation order)`);
  });

  tt("Gaussian blur matches torchvision's gaussian_blur (reflect padding), kernel 3 and 5", () => {
    for (const [key, ref] of Object.entries(REF_BLUR)) {
      const [k, sigma] = key.split("/").map(Number) as [number, number];
      assertClose(A.gaussianBlur(f32(BLUR_IMG, [1, 5, 6, 1]), [sigma], k), ref, 1e-5, `blur ${key}`);
    }
    assertClose(A.gaussianKernel1d(5, 1.5).reduce((a, b) => a + b, 0), 1, 1e-12, "kernel sum");
    assert.deepEqual([224, 28, 32, 19, 20].map(A.simclrBlurKernelSize), [23, 3, 3, 1, 3]);
    // Through applyStrong: the rounded blur of sample 0 only.
    const img = u8([...BLUR_IMG, ...BLUR_IMG], [2, 5, 6, 1]);
    const p = strongWith(2, 5, 6, { blurSigma: 0.8 });
    p.blurKernelSize = 3;
    const out = A.applyStrong(img, p).toArray();
    out.slice(0, 30).forEach((v, i) => assert.ok(Math.abs(v - REF_BLUR["3/0.8"]![i]!) <= 0.5 + 1e-4, `blurred pixel ${i}`));
    assert.deepEqual(out.slice(30), BLUR_IMG);
  });

  test("sampled jitter, grayscale and blur parameters stay in their ranges, at their rates", () => {
    const n = 4000;
    const p = A.sampleStrongParams(n, 32, 32, 3, { blur: true }, new Rng(5));
    const jittered = p.samples.filter((s) => s.jitter !== null);
    const rate = (k: number): number => k / n;
    assert.ok(Math.abs(rate(jittered.length) - 0.8) < 0.03, `jitter rate ${rate(jittered.length)}`);
    assert.ok(Math.abs(rate(p.samples.filter((s) => s.grayscale).length) - 0.2) < 0.03, "grayscale rate");
    assert.ok(Math.abs(rate(p.samples.filter((s) => s.flip).length) - 0.5) < 0.03, "flip rate");
    const blurred = p.samples.filter((s) => s.blurSigma !== null);
    assert.ok(Math.abs(rate(blurred.length) - 0.5) < 0.03, "blur rate");
    assert.ok(blurred.every((s) => s.blurSigma! >= 0.1 && s.blurSigma! < 2.0));
    assert.equal(p.blurKernelSize, 3);
    for (const key of ["brightness", "contrast", "saturation"] as const) {
      const v = jittered.map((s) => s.jitter![key]);
      assert.ok(Math.min(...v) >= 0.6 && Math.max(...v) < 1.4, `${key} in [0.6, 1.4)`);
      assert.ok(Math.min(...v) < 0.62 && Math.max(...v) > 1.38, `${key} covers its range`);
    }
    const hues = jittered.map((s) => s.jitter!.hue);
    assert.ok(Math.min(...hues) >= -0.1 && Math.max(...hues) < 0.1 && Math.min(...hues) < -0.095 && Math.max(...hues) > 0.095, "hue in [-0.1, 0.1)");
    const orders = new Set(jittered.map((s) => s.jitter!.order.join(",")));
    assert.equal(orders.size, 24, "every order of the four operations occurs");
    assert.ok(jittered.every((s) => [...s.jitter!.order].sort().join() === "brightness,contrast,hue,saturation"));
    // Fixed order; strength 1 (SimCLR ImageNet): brightness in [0.2, 1.8), hue in [-0.2, 0.2).
    const fixed = A.sampleStrongParams(500, 32, 32, 3, { jitterOrder: "fixed", jitterStrength: 1, jitterProbability: 1 }, new Rng(5));
    assert.ok(fixed.samples.every((s) => s.jitter!.order.join() === "brightness,contrast,saturation,hue"));
    assert.ok(fixed.samples.some((s) => s.jitter!.brightness < 0.3) && fixed.samples.some((s) => Math.abs(s.jitter!.hue) > 0.18));
    // Gray images: only brightness and contrast, never grayscale.
    const gray = A.sampleStrongParams(1000, 28, 28, 1, {}, new Rng(5));
    assert.ok(gray.samples.every((s) => !s.grayscale && (s.jitter === null || (s.jitter.saturation === 1 && s.jitter.hue === 0 && s.jitter.order.length === 2))));
    assert.ok(A.sampleStrongParams(200, 28, 28, 1, {}, new Rng(5)).samples.every((s) => s.blurSigma === null), "blur is off by default");
  });

  tt("bad strong parameters are refused with clear errors", () => {
    const img = u8(range(16), [1, 4, 4, 1]);
    assert.throws(() => A.applyStrong(img, strongWith(1, 4, 4, { crop: { top: 2, left: 0, height: 3, width: 4 } })), {
      message: "applyStrong: sample 0: crop box must be integers inside the 4×4 image, got top 2, left 0, height 3, width 4",
    });
    assert.throws(() => A.applyStrong(img, strongWith(1, 4, 4, { blurSigma: 0 })), { message: "applyStrong: sample 0: blurSigma must be a positive number or null, got 0" });
    assert.throws(() => A.applyStrong(img, A.identityStrongParams(2, 4, 4)), { message: "applyStrong: parameters for 2 samples, but the batch has 1 images" });
    assert.throws(() => A.applyStrong(img, strongWith(1, 4, 4, { jitter: jitter({ order: ["contrast"], contrast: -1 }) })), {
      message: `applyStrong: sample 0: jitter factors must be finite numbers >= 0 and the hue shift finite, got {"brightness":1,"contrast":-1,"saturation":1,"hue":0,"order":["contrast"]}`,
    });
    const p = strongWith(1, 4, 4, { blurSigma: 1 });
    p.blurKernelSize = 9;
    assert.throws(() => A.applyStrong(img, p), { message: "strong.blurKernelSize: reflect padding needs kernelSize/2 < image size, got 9 for 4×4 images" });
  });
});

// ---- pairs, seeds, shapes -------------------------------------------------------------------------

describe("augmentPair", () => {
  tt("the same seed gives identical views; different seeds differ", () => {
    const img = randint(0, 256, [16, 28, 28, 1], { dtype: "uint8" });
    const a = A.augmentPair(img, {}, {}, new Rng(42));
    const b = A.augmentPair(img, {}, {}, new Rng(42));
    const c = A.augmentPair(img, {}, {}, Rng.derive(42, 0, 1));
    assert.deepEqual(a.weak.toArray(), b.weak.toArray());
    assert.deepEqual(a.strong.toArray(), b.strong.toArray());
    assert.notDeepEqual(a.weak.toArray(), c.weak.toArray());
    assert.notDeepEqual(a.strong.toArray(), c.strong.toArray());
  });

  tt("views are uint8 (B, H, W, C) like the input: gray, RGB, non-square, batch of 1", () => {
    for (const shape of [[5, 28, 28, 1], [3, 32, 32, 3], [2, 20, 24, 3], [1, 9, 7, 1]] as [number, number, number, number][]) {
      const img = randint(0, 256, shape, { dtype: "uint8" });
      const { weak, strong } = A.augmentPair(img, { padMode: "reflect" }, { blur: true }, new Rng(1));
      for (const v of [weak, strong]) {
        assert.equal(v.dtype, "uint8");
        assert.deepEqual(v.shape, shape);
      }
    }
  });

  tt("pairAugment (the loader's hook): without the strong view, the weak view is unchanged", () => {
    const img = randint(0, 256, [8, 28, 28, 1], { dtype: "uint8" });
    const augment = A.pairAugment({ flip: false }, { jitterStrength: 1 });
    const both = augment(img, new Rng(9), true);
    const weakOnly = augment(img, new Rng(9), false);
    assert.equal(weakOnly.strong, null);
    assert.deepEqual(weakOnly.weak.toArray(), both.weak.toArray());
    assert.ok(both.strong !== null);
    assert.throws(() => A.pairAugment({ pad: -1 }), { message: "weak.pad: expected an integer >= 0, got -1" });
  });

  test("no tensor outlives a call", () => {
    countLiveTensors();
    const img = randint(0, 256, [32, 32, 32, 3], { dtype: "uint8" });
    const before = liveTensorCount();
    for (let i = 0; i < 3; i++) {
      const { weak, strong } = A.augmentPair(img, {}, { blur: true }, new Rng(i));
      weak.dispose();
      strong.dispose();
    }
    assert.equal(liveTensorCount(), before);
    img.dispose();
  });
});

// ---- config -----------------------------------------------------------------------------------------

describe("augmentation config", () => {
  test("defaults: GCRL's weak view, SimCLR's strong view at GCRL's strength 0.5", () => {
    assert.deepEqual(A.resolveWeakConfig(), { pad: 2, padMode: "zero", flip: true });
    const s = A.resolveStrongConfig();
    assert.deepEqual(
      { ...s },
      {
        scale: [0.2, 1],
        ratio: [3 / 4, 4 / 3],
        flip: true,
        jitterProbability: 0.8,
        jitterStrength: 0.5,
        brightness: 0.4,
        contrast: 0.4,
        saturation: 0.4,
        hue: 0.1,
        jitterOrder: "random",
        grayscaleProbability: 0.2,
        blur: false,
        blurProbability: 0.5,
        blurSigma: [0.1, 2],
        blurKernelSize: null,
      },
    );
    assert.deepEqual(A.resolveStrongConfig(s), s, "resolving is idempotent");
    assert.deepEqual(A.resolveWeakConfig({ pad: undefined }), A.DEFAULT_WEAK_CONFIG, "undefined means default");
  });

  test("jitterStrength sets the four ranges (SimCLR: 0.8·s, 0.2·s) unless they are given", () => {
    const s = A.resolveStrongConfig({ jitterStrength: 1, brightness: 0.3 });
    assert.deepEqual([s.brightness, s.contrast, s.saturation, s.hue], [0.3, 0.8, 0.8, 0.2]);
    assert.deepEqual(A.simclrColorJitter(0.5), { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 });
  });

  test("every bad value is refused with a message naming the key", () => {
    const weak: [unknown, string][] = [
      [{ pad: 2.5 }, "weak.pad: expected an integer >= 0, got 2.5"],
      [{ pad: -1 }, "weak.pad: expected an integer >= 0, got -1"],
      [{ pad: "2" }, `weak.pad: expected an integer >= 0, got "2"`],
      [{ padMode: "wrap" }, `weak.padMode: expected "zero" or "reflect", got "wrap"`],
      [{ flip: 1 }, "weak.flip: expected true or false, got 1"],
      [{ flp: true }, "weak: unknown key 'flp'; known keys: pad, padMode, flip"],
      [[], "weak: expected an object of options, got []"],
      [3, "weak: expected an object of options, got 3"],
    ];
    for (const [options, message] of weak) assert.throws(() => A.resolveWeakConfig(options as A.WeakAugmentOptions), { name: "AugmentConfigError", message });
    const strong: [unknown, string][] = [
      [{ scale: [0.5, 0.2] }, "strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.5, 0.2]"],
      [{ scale: [0, 1] }, "strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0, 1]"],
      [{ scale: [0.2, 1.5] }, "strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.2, 1.5]"],
      [{ scale: 0.5 }, "strong.scale: expected [min, max] with 0 < min <= max <= 1, got 0.5"],
      [{ scale: [0.2] }, "strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.2]"],
      [{ ratio: [2, 1] }, "strong.ratio: expected [min, max] with 0 < min <= max, got [2, 1]"],
      [{ ratio: [0, 1] }, "strong.ratio: expected [min, max] with 0 < min <= max, got [0, 1]"],
      [{ ratio: [1, Infinity] }, "strong.ratio: expected [min, max] with 0 < min <= max, got [1, Infinity]"],
      [{ flip: "yes" }, `strong.flip: expected true or false, got "yes"`],
      [{ jitterProbability: 1.2 }, "strong.jitterProbability: expected a probability in [0, 1], got 1.2"],
      [{ jitterStrength: -1 }, "strong.jitterStrength: expected a number >= 0, got -1"],
      [{ brightness: -0.1 }, "strong.brightness: expected a number >= 0, got -0.1"],
      [{ contrast: NaN }, "strong.contrast: expected a number >= 0, got NaN"],
      [{ saturation: "0.4" }, `strong.saturation: expected a number >= 0, got "0.4"`],
      [{ hue: 0.6 }, "strong.hue: expected a number in [0, 0.5], got 0.6"],
      [{ hue: -0.1 }, "strong.hue: expected a number in [0, 0.5], got -0.1"],
      [{ jitterStrength: 3 }, "strong.hue: expected a number in [0, 0.5], got 0.6000000000000001"],
      [{ jitterOrder: "shuffled" }, `strong.jitterOrder: expected "random" or "fixed", got "shuffled"`],
      [{ grayscaleProbability: -0.2 }, "strong.grayscaleProbability: expected a probability in [0, 1], got -0.2"],
      [{ blur: "on" }, `strong.blur: expected true or false, got "on"`],
      [{ blurProbability: 2 }, "strong.blurProbability: expected a probability in [0, 1], got 2"],
      [{ blurSigma: [2, 0.1] }, "strong.blurSigma: expected [min, max] with 0 < min <= max, got [2, 0.1]"],
      [{ blurSigma: [0, 1] }, "strong.blurSigma: expected [min, max] with 0 < min <= max, got [0, 1]"],
      [{ blurKernelSize: 4 }, "strong.blurKernelSize: expected an odd integer >= 1, or null for 10% of the image height, got 4"],
      [{ blurKernelSize: 0 }, "strong.blurKernelSize: expected an odd integer >= 1, or null for 10% of the image height, got 0"],
      [{ colour: 1 }, "strong: unknown key 'colour'; known keys: scale, ratio, flip, jitterProbability, jitterStrength, brightness, contrast, saturation, hue, jitterOrder, grayscaleProbability, blur, blurProbability, blurSigma, blurKernelSize"],
    ];
    for (const [options, message] of strong) assert.throws(() => A.resolveStrongConfig(options as A.StrongAugmentOptions), { name: "AugmentConfigError", message });
    // The sampling and pair functions validate too.
    assert.throws(() => A.sampleStrongParams(1, 8, 8, 1, { scale: [0.5, 0.2] }, new Rng(0)), { message: "strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.5, 0.2]" });
    assert.throws(() => A.augmentPair(u8(range(16), [1, 4, 4, 1]), { padMode: "wrap" as A.PadMode }, {}, new Rng(0)), { message: `weak.padMode: expected "zero" or "reflect", got "wrap"` });
  });
});
