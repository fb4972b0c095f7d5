// PaletteQuantizer: known answers on hand-made palettes (ties, 0/255, half-way values), the lookup
// tables against brute force (every one of the 2^24 colors for a tie-heavy palette), k-means on
// well-separated clusters (exact cluster means), determinism, empty-cluster re-seeding, JSON files and
// every load error, and the real Fashion-MNIST training set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Tensor, tensor, tidy, op, getNumThreads, setNumThreads, stack } from "../../src/torch/index.ts";
import { PaletteQuantizer, PaletteFormatError, type PaletteJson } from "../../src/data/palette.ts";
import { colorTable, grayTable, mortonDecode, mortonEncode } from "../../src/data/palette-nearest.ts";
import { distinctValues, lloyd, reseedEmptyClusters } from "../../src/data/palette-kmeans.ts";
import { Rng } from "../../src/data/rng.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

const FASHION_TRAIN = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

/** uint8 (N, H, W, C) from nested numbers. */
function images(values: number[], shape: [number, number, number, number]): Tensor {
  return tensor(Uint8Array.from(values), { shape });
}

/** Independent reference: nearest centroid by a plain loop over all of them, ties to the lower index. */
function bruteNearest(centroids: number[][], color: number[]): number {
  let best = 0;
  let bestD = Infinity;
  centroids.forEach((c, j) => {
    let d = 0;
    for (let ch = 0; ch < c.length; ch++) d += (color[ch]! - c[ch]!) ** 2;
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  });
  return best;
}

test("gray known answers: nearest centroid, ties to the lower index, 0 and 255, hand-made order kept", () => {
  //                          0     1    2     3     4    5    6
  const q = new PaletteQuantizer([[10.5], [0], [255], [9.5], [100], [30], [20]]);
  assert.equal(q.k, 7);
  assert.equal(q.channels, 1);
  const values = [0, 5, 9, 10, 11, 15, 16, 25, 64, 65, 66, 177, 178, 255];
  // 10: 0.5 from both 10.5 (#0) and 9.5 (#3) → #0; 25: 5 from 30 (#5) and 20 (#6) → #5; 65: 35 from 30 and 100 → #4.
  const expected = [1, 3, 3, 0, 0, 0, 6, 5, 5, 4, 4, 4, 2, 2];
  const tokens = q.quantize(images(values, [2, 1, 7, 1]));
  assert.equal(tokens.dtype, "int64");
  assert.deepEqual(tokens.shape, [2, 1, 7]);
  assert.deepEqual(tokens.toArray(), expected);
  // Every gray level against the brute-force reference.
  const all = q.quantize(images(Array.from({ length: 256 }, (_, v) => v), [1, 16, 16, 1])).toArray();
  assert.deepEqual(all, Array.from({ length: 256 }, (_, v) => bruteNearest(q.centroids, [v])));
  assert.deepEqual(Array.from(grayTable(Float64Array.from([10.5, 0, 255, 9.5, 100, 30, 20]))), all);
  // Dequantize paints rounded centroids (10.5 → 11 and 9.5 → 10: halves up).
  assert.deepEqual(q.colors, [[11], [0], [255], [10], [100], [30], [20]]);
  const back = q.dequantize(tokens);
  assert.equal(back.dtype, "uint8");
  assert.deepEqual(back.shape, [2, 1, 7, 1]);
  assert.deepEqual(back.toArray(), [0, 10, 10, 11, 11, 11, 20, 30, 30, 100, 100, 100, 255, 255]);
});

test("RGB known answers: ties, corners, and all 2^24 colors of a tie-heavy palette against brute force", () => {
  //             0          1                2            3            4          5
  const palette = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255], [0, 0, 2], [128, 128, 128]];
  const q = new PaletteQuantizer(palette);
  const cases: [number[], number][] = [
    [[0, 0, 0], 0],
    [[0, 0, 1], 0], // 1 from #0 and #4
    [[0, 0, 3], 4],
    [[255, 255, 255], 1],
    [[255, 0, 0], 2],
    [[0, 0, 255], 3],
    [[1, 191, 0], 0], // 36482 from #0 and #5
    [[0, 128, 65], 4], // 20353 from #4 and #5
    [[65, 65, 65], 5],
    [[191, 191, 191], 5],
    [[192, 192, 192], 1],
    [[160, 0, 0], 2],
    [[0, 0, 128], 4],
  ];
  const tokens = q.quantize(images(cases.flatMap(([c]) => c), [13, 1, 1, 3]));
  assert.deepEqual(tokens.shape, [13, 1, 1]);
  assert.deepEqual(tokens.toArray(), cases.map(([, t]) => t));
  assert.deepEqual(q.dequantize(tokens).toArray(), cases.flatMap(([, t]) => palette[t]!));

  // The whole 2^24-color table: integer centroids make exact ties all over the cube.
  const table = colorTable(Float64Array.from(palette.flat()));
  let mismatches = 0;
  for (let code = 0; code < 1 << 24; code++) {
    const r = code >> 16;
    const g = (code >> 8) & 255;
    const b = code & 255;
    let best = 0;
    let bestD = Infinity;
    for (let j = 0; j < palette.length; j++) {
      const c = palette[j]!;
      const d = (r - c[0]!) ** 2 + (g - c[1]!) ** 2 + (b - c[2]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    if (table[code] !== best) mismatches++;
  }
  assert.equal(mismatches, 0, `${mismatches} of 2^24 colors differ from brute force`);
});

test("RGB table for a random 512-color palette matches a libtorch distance-matrix argmin", () => {
  const rng = new Rng(7);
  const palette = Array.from({ length: 512 }, () => [rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)]);
  const q = new PaletteQuantizer(palette);
  const n = 20_000;
  const colors = new Uint8Array(3 * n);
  for (let i = 0; i < colors.length; i++) colors[i] = rng.int(0, 256);
  colors.set([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 255, 0, 255, 0, 255, 255]); // corners
  const tokens = q.quantize(tensor(colors, { shape: [20, 1000, 1, 3] }));
  const reference = tidy(() => {
    const x = tensor(colors, { shape: [n, 3] }).double(); // (n, 3)
    const c = tensor(palette.flat(), { shape: [512, 3], dtype: "float64" });
    const parts: Tensor[] = [];
    for (let s = 0; s < n; s += 1000) {
      const xs = x.narrow(0, s, 1000);
      // d0² + d1² + d2² in that order, as in palette-nearest.ts: (1000, 512)
      const d = [0, 1, 2].map((ch) => xs.narrow(1, ch, 1).sub(c.select(1, ch).unsqueeze(0)).square());
      parts.push(d[0]!.add(d[1]!).add(d[2]!).argmin(1));
    }
    return stack(parts).reshape([n]);
  });
  const got = tokens.reshape([n]).toArray();
  const want = reference.toArray();
  const differ = got.filter((t, i) => t !== want[i]).length;
  assert.equal(differ, 0, `${differ} of ${n} colors differ from the distance-matrix argmin`);
});

test("Morton codes round-trip and order the octree boxes", () => {
  for (const [r, g, b] of [[0, 0, 0], [255, 255, 255], [1, 2, 3], [128, 0, 255], [37, 200, 91]] as const) {
    assert.deepEqual(mortonDecode(mortonEncode(r, g, b)), [r, g, b]);
  }
  assert.equal(mortonEncode(255, 255, 255), (1 << 24) - 1);
  assert.equal(mortonEncode(128, 0, 0), 4 << 21); // top bit of r is the code's top bit
});

test("dequantize: any token shape; out-of-range tokens and wrong dtypes are refused", () => {
  const q = new PaletteQuantizer([[0], [128], [255]]);
  assert.deepEqual(q.dequantize(tensor([2, 0, 1], { dtype: "int64" })).toArray(), [255, 0, 128]);
  assert.deepEqual(q.dequantize(tensor([[2, 1]], { dtype: "int32" })).shape, [1, 2, 1]);
  assert.deepEqual(q.dequantize(tensor([], { dtype: "int64" })).shape, [0, 1]);
  assert.throws(() => q.dequantize(tensor([0, 3], { dtype: "int64" })), /tokens must lie in \[0, 2\] for this 3-color palette, got values in \[0, 3\]/);
  assert.throws(() => q.dequantize(tensor([-1], { dtype: "int64" })), /got values in \[-1, -1\]/);
  assert.throws(() => q.dequantize(tensor([0.5])), /tokens must be int64 \(or int32\), got .*float32/);
});

test("quantize refuses what is not uint8 (N, H, W, C) with the palette's channel count", () => {
  const gray = new PaletteQuantizer([[0], [255]]);
  assert.throws(() => gray.quantize(tensor([1, 2, 3, 4], { shape: [1, 2, 2, 1] })), /images must be uint8 \(N, H, W, C\) with C = 1, got .*float32/);
  assert.throws(() => gray.quantize(images([1, 2, 3], [1, 1, 1, 3])), /with C = 1, got .*\(this palette has 1 channel\)/);
  assert.throws(() => gray.quantize(tensor(Uint8Array.from([1, 2]), { shape: [2, 1, 1] })), /images must be uint8 \(N, H, W, C\)/);
  assert.deepEqual(gray.quantize(images([], [0, 28, 28, 1])).shape, [0, 28, 28]);
  assert.throws(() => new PaletteQuantizer([]), /k must be at least 1/);
  assert.throws(() => new PaletteQuantizer([[1, 2]]), /1 or 3 channels/);
  assert.throws(() => new PaletteQuantizer([[1], [2, 3]]), /centroids\[1\] must have 1 value/);
  assert.throws(() => new PaletteQuantizer([[256]]), /outside \[0, 255\]/);
  assert.throws(() => new PaletteQuantizer([[Number.NaN]]), /must be a finite number, got NaN/);
  assert.throws(() => new PaletteQuantizer([[1]], { seed: 0 } as never), /fit.samplePixels is missing/);
});

test("quantize frees everything it does not return", () => {
  countLiveTensors();
  const q = new PaletteQuantizer([[0, 0, 0], [255, 255, 255]]);
  const x = images(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => (i * 37) % 256), [2, 5, 5, 3]);
  const tokens = tensor([0, 1], { dtype: "int64" });
  q.quantize(x).dispose(); // builds and keeps the lookup tables
  q.dequantize(tokens).dispose();
  const before = liveTensorCount();
  for (let i = 0; i < 5; i++) {
    q.quantize(x).dispose();
    q.dequantize(tokens).dispose();
  }
  assert.equal(liveTensorCount(), before);
  q.dispose(); // the two cached tables
  assert.equal(liveTensorCount(), before - 2);
});

/** Pixels from well-separated clusters: centre ± up to `spread`, `perCluster` pixels each, shuffled. */
function clusteredPixels(centres: number[][], perCluster: number, spread: number, seed: number): { pixels: Uint8Array; means: number[][] } {
  const rng = new Rng(seed);
  const c = centres[0]!.length;
  const rows: { values: number[]; cluster: number }[] = [];
  centres.forEach((centre, j) => {
    for (let i = 0; i < perCluster; i++) rows.push({ values: centre.map((v) => v + rng.int(-spread, spread + 1)), cluster: j });
  });
  const order = rng.permutation(rows.length);
  const pixels = new Uint8Array(rows.length * c);
  order.forEach((from, to) => pixels.set(rows[from]!.values, to * c));
  const means = centres.map((_, j) => {
    const members = rows.filter((r) => r.cluster === j);
    return Array.from({ length: c }, (_, ch) => members.reduce((s, r) => s + r.values[ch]!, 0) / members.length);
  });
  return { pixels, means };
}

test("k-means finds well-separated gray clusters (exact means when every pixel is used)", () => {
  const { pixels, means } = clusteredPixels([[220], [30], [120]], 1000, 5, 1);
  const x = tensor(pixels, { shape: [30, 10, 10, 1] });
  const q = PaletteQuantizer.fit(x, { k: 3 });
  assert.equal(q.fitInfo!.samplePixels, 3000); // fewer pixels than samplePixels: all of them
  assert.ok(q.fitInfo!.converged);
  const expected = [means[1]!, means[2]!, means[0]!]; // sorted by luminance
  q.centroids.forEach((row, j) => assert.ok(Math.abs(row[0]! - expected[j]![0]!) < 1e-12, `centroid ${j}: ${row} vs ${expected[j]}`));
  // Sampled (with replacement) instead of all pixels: still within half a gray level.
  const sampled = PaletteQuantizer.fit(x, { k: 3, samplePixels: 1000, seed: 3 });
  assert.equal(sampled.fitInfo!.samplePixels, 1000);
  sampled.centroids.forEach((row, j) => assert.ok(Math.abs(row[0]! - expected[j]![0]!) < 0.5, `sampled centroid ${j}: ${row}`));
});

test("k-means finds well-separated RGB clusters, sorted by luminance", () => {
  const centres = [
    [200, 30, 30], // luminance 80.8
    [30, 200, 30], // 129.8
    [30, 30, 200], // 49.4
    [240, 240, 240],
    [20, 20, 20],
  ];
  const { pixels, means } = clusteredPixels(centres, 800, 6, 2);
  const q = PaletteQuantizer.fit(tensor(pixels, { shape: [40, 10, 10, 3] }), { k: 5, seed: 11 });
  const order = [4, 2, 0, 1, 3];
  q.centroids.forEach((row, j) => {
    row.forEach((v, ch) => assert.ok(Math.abs(v - means[order[j]!]![ch]!) < 1e-12, `centroid ${j}: ${row} vs ${means[order[j]!]}`));
  });
  assert.ok(q.fitInfo!.meanSquaredError < 3 * 6 * 6);
});

test("determinism: same seed → identical JSON (any thread count); another seed is a different sample", () => {
  const rng = new Rng(5);
  const data = Uint8Array.from({ length: 20 * 16 * 16 * 3 }, () => rng.int(0, 256) & 0xf0);
  const x = tensor(data, { shape: [20, 16, 16, 3] });
  const options = { k: 64, samplePixels: 2000, seed: 42 };
  const a = JSON.stringify(PaletteQuantizer.fit(x, options));
  const threads = getNumThreads();
  setNumThreads(1);
  let b: string;
  try {
    b = JSON.stringify(PaletteQuantizer.fit(x, options));
  } finally {
    setNumThreads(threads);
  }
  assert.equal(a, b);
  const other = PaletteQuantizer.fit(x, { ...options, seed: 43 });
  assert.equal(other.fitInfo!.seed, 43);
  assert.notDeepEqual(other.centroids, (JSON.parse(a) as PaletteJson).centroids); // another sample, another local optimum
});

test("empty clusters are re-seeded at the farthest points (directly, and inside Lloyd)", () => {
  const points = distinctValues(Uint8Array.from([0, 1, 2, 10, 11, 11]), 1);
  assert.deepEqual(Array.from(points.values), [0, 1, 2, 10, 11]);
  assert.deepEqual(Array.from(points.weights), [1, 1, 1, 1, 2]);

  // Directly: two empty clusters take the farthest point, then the next; ties go to the lower index.
  const centroids = Float64Array.from([5, -1, -1]);
  const dist = Float64Array.from([25, 16, 9, 25, 36]);
  assert.deepEqual(reseedEmptyClusters(points, centroids, [1, 2], dist), [4, 0]);
  assert.deepEqual(Array.from(centroids), [5, 11, 0]);

  // In Lloyd: #1 duplicates #0 and loses every tie, #2 (200) is nearest to nothing: both start empty.
  const result = lloyd(points, Float64Array.from([0, 0, 200]), { maxIter: 100, tol: 0 });
  assert.equal(result.reseeded, 2);
  assert.deepEqual(Array.from(result.centroids), [1, 11, 10]);
  assert.ok(result.converged);
  assert.equal(result.inertia, 2); // (0-1)² + (2-1)²
});

test("k larger than the distinct sampled values, and bad options, give clear errors", () => {
  const x = images([0, 50, 50, 100, 150, 200, 200, 200], [2, 2, 2, 1]);
  assert.throws(() => PaletteQuantizer.fit(x, { k: 6 }), /k = 6 but the 8 sampled pixels have only 5 distinct gray levels; use k <= 5$/);
  assert.throws(() => PaletteQuantizer.fit(x, { k: 6, samplePixels: 4 }), /use k <= \d or sample more pixels \(samplePixels\)/);
  assert.equal(PaletteQuantizer.fit(x, { k: 5 }).k, 5);
  assert.throws(() => PaletteQuantizer.fit(x, { k: 0 }), /k must be an integer in \[1, 32768\], got 0/);
  assert.throws(() => PaletteQuantizer.fit(x, { k: 2.5 }), /k must be an integer/);
  assert.throws(() => PaletteQuantizer.fit(x, { samplePixels: 0 }), /samplePixels must be a positive integer, got 0/);
  assert.throws(() => PaletteQuantizer.fit(x, { maxIter: 0 }), /maxIter must be a positive integer/);
  assert.throws(() => PaletteQuantizer.fit(x, { tol: -1 }), /tol must be a finite number >= 0, got -1/);
  assert.throws(() => PaletteQuantizer.fit(x, { seed: Number.NaN }), /seed must be a finite number/);
  assert.throws(() => PaletteQuantizer.fit(x, { samples: 10 } as never), /unknown option 'samples'/);
  assert.throws(() => PaletteQuantizer.fit(tensor([1, 2], { shape: [1, 1, 2, 1] })), /images must be uint8 \(N, H, W, C\) with C = 1 or 3/);
  assert.throws(() => PaletteQuantizer.fit(images([], [0, 2, 2, 1])), /have no pixels/);
});

test("JSON: toJSON/fromJSON and save/load round trips (fitted and hand-made), atomic write", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-palette-"));
  try {
    const { pixels } = clusteredPixels([[10, 20, 30], [200, 100, 50], [90, 90, 90], [250, 250, 10]], 300, 20, 4);
    const x = tensor(pixels, { shape: [12, 10, 10, 3] });
    const q = PaletteQuantizer.fit(x, { k: 8 });
    const json = q.toJSON();
    assert.equal(json.format, "gcrl.palette");
    assert.equal(json.version, 1);
    assert.equal(json.channels, 3);
    assert.equal(json.k, 8);
    const copy = PaletteQuantizer.fromJSON(JSON.parse(JSON.stringify(json)));
    assert.deepEqual(copy.centroids, q.centroids); // exact: JSON numbers round-trip float64
    assert.deepEqual(copy.fitInfo, q.fitInfo);
    assert.deepEqual(copy.quantize(x).toArray(), q.quantize(x).toArray());

    const path = join(dir, "palette.json");
    q.save(path);
    assert.deepEqual(readdirSync(dir), ["palette.json"]); // no temporary file left
    const text = readFileSync(path, "utf8");
    assert.match(text, /^\{\n {2}"format": "gcrl.palette",\n {2}"version": 1,/);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(json)));
    const loaded = PaletteQuantizer.load(path);
    assert.equal(JSON.stringify(loaded), JSON.stringify(q));

    const hand = new PaletteQuantizer([[0], [127.5], [255]]);
    hand.save(path); // overwrites
    const handLoaded = PaletteQuantizer.load(path);
    assert.equal(handLoaded.fitInfo, null);
    assert.deepEqual(handLoaded.centroids, [[0], [127.5], [255]]);
    assert.throws(() => hand.save(join(dir, "missing", "p.json")), /missing\/p\.json: cannot write: no such file or folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("load: every malformed file gives a PaletteFormatError naming the file and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-palette-"));
  try {
    const good: PaletteJson = new PaletteQuantizer([[0], [255]], {
      seed: 0, samplePixels: 10, distinctValues: 4, iterations: 3, converged: true, inertia: 1.5, meanSquaredError: 0.15, maxIter: 300, tol: 0.001,
    }).toJSON();
    const path = join(dir, "p.json");
    const expectError = (text: string, problem: RegExp): void => {
      writeFileSync(path, text);
      assert.throws(
        () => PaletteQuantizer.load(path),
        (err: unknown) => err instanceof PaletteFormatError && err.message.startsWith(`invalid palette ${path}: `) && problem.test(err.message),
        `expected ${problem} for ${text.slice(0, 80)}`,
      );
    };
    const edit = (change: (j: Record<string, unknown>) => void): string => {
      const j = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      change(j);
      return JSON.stringify(j);
    };
    writeFileSync(path, JSON.stringify(good));
    assert.equal(PaletteQuantizer.load(path).k, 2); // the baseline loads

    expectError("{ not json", /not valid JSON/);
    expectError("[1, 2]", /expected a JSON object, got \[1,2\]/);
    expectError(edit((j) => (j.format = "gcrl.checkpoint")), /format is "gcrl.checkpoint", expected "gcrl.palette"/);
    expectError(edit((j) => delete j.format), /format is undefined/);
    expectError(edit((j) => (j.version = 2)), /version 2 is not supported \(this gcrl reads version 1; the file was written by a newer gcrl\)/);
    expectError(edit((j) => (j.version = "1")), /version "1" is not supported/);
    expectError(edit((j) => (j.channels = 2)), /channels must be 1 or 3, got 2/);
    expectError(edit((j) => delete j.centroids), /centroids must be an array of k rows, got undefined/);
    expectError(edit((j) => (j.centroids = [])), /k must be at least 1/);
    expectError(edit((j) => (j.centroids = [[0], [1, 2]])), /centroids\[1\] must be an array of 1 number\(s\), got \[1,2\]/);
    expectError(edit((j) => (j.centroids = [[0], 5])), /centroids\[1\] must be an array of 1 number/);
    expectError(edit((j) => (j.centroids = [[0], [null]])), /centroids\[1\]\[0\] must be a finite number, got null/);
    expectError(edit((j) => (j.centroids = [[0], ["7"]])), /centroids\[1\]\[0\] must be a finite number, got "7"/);
    expectError(JSON.stringify(good).replace("[255]", "[1e999]"), /centroids\[1\]\[0\] must be a finite number, got Infinity/);
    expectError(edit((j) => (j.centroids = [[0], [256]])), /centroids\[1\]\[0\] = 256 is outside \[0, 255\]/);
    expectError(edit((j) => (j.centroids = [[-0.5], [3]])), /centroids\[0\]\[0\] = -0.5 is outside/);
    expectError(edit((j) => (j.k = 3)), /k is 3 but there are 2 centroids/);
    expectError(edit((j) => (j.colours = [])), /unexpected key 'colours'/);
    expectError(edit((j) => (j.fit = 5)), /fit must be an object or null, got 5/);
    expectError(edit((j) => delete (j.fit as Record<string, unknown>).inertia), /fit.inertia is missing/);
    expectError(edit((j) => ((j.fit as Record<string, unknown>).iterations = -1)), /fit.iterations has an invalid value -1/);
    expectError(edit((j) => ((j.fit as Record<string, unknown>).extra = 1)), /fit: unexpected key 'extra'/);
    assert.throws(() => PaletteQuantizer.load(join(dir, "absent.json")), /invalid palette .*absent\.json: cannot read it: no such file or folder/);
    assert.throws(() => PaletteQuantizer.fromJSON({ format: "x" }), /^PaletteFormatError: invalid palette palette JSON: format is "x"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Fashion-MNIST: a 16-color palette of the 60,000 training images quantizes them with MSE ≈ 11", (t) => {
  const raw = gunzipSync(readFileSync(FASHION_TRAIN));
  assert.equal(raw.readUInt32BE(0), 0x803, "IDX magic of an image file");
  const n = raw.readUInt32BE(4);
  assert.equal(n, 60_000);
  const x = tensor(new Uint8Array(raw.buffer, raw.byteOffset + 16, n * 28 * 28), { shape: [n, 28, 28, 1] });
  const q = PaletteQuantizer.fit(x);
  assert.equal(q.k, 16);
  const levels = q.centroids.map((r) => r[0]!);
  assert.ok(levels.every((v, j) => j === 0 || v > levels[j - 1]!), `sorted: ${levels}`);
  assert.ok(levels[0]! < 1 && levels[15]! > 245, `spans the range: ${levels}`);
  const tokens = q.quantize(x);
  assert.deepEqual(tokens.shape, [n, 28, 28]);
  // Squared error summed over chunks of 10,000 images (float64: exact for these integer sums).
  let squaredError = 0;
  for (let s = 0; s < n; s += 10_000) {
    squaredError += tidy(() => {
      const back = q.dequantize(tokens.narrow(0, s, 10_000)).double();
      return back.sub(x.narrow(0, s, 10_000).double()).square().sum().item();
    });
  }
  const mse = squaredError / (n * 784);
  const used = tidy(() => (op("aten::bincount", tokens.reshape([n * 784]), null, 16) as Tensor).gt(0).sum().item());
  t.diagnostic(`Fashion-MNIST train, K = 16: MSE ${mse.toFixed(3)} (RMSE ${Math.sqrt(mse).toFixed(2)} gray levels); fit MSE on the sample ${q.fitInfo!.meanSquaredError.toFixed(3)}`);
  assert.equal(used, 16, "every token is used");
  assert.ok(mse < 15, `MSE ${mse}`);
  assert.ok(Math.abs(mse - q.fitInfo!.meanSquaredError) < 1, "the sample's error predicts the whole set's");
});
