// Image folders on PNG/JPEG fixtures written with sharp: per-class and flat, channels, resize, errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { DatasetError, loadImageFolder } from "../../../src/data/datasets/index.ts";
import { disposeSet } from "../../../src/data/image-set.ts";

const root = mkdtempSync(join(tmpdir(), "gcrl-folder-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** HWC bytes of an h×w image with `channels` channels: value = (seed + 17y + 5x + 80c) % 256. */
function pattern(h: number, w: number, channels: number, seed: number): Uint8Array {
  const out = new Uint8Array(h * w * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) out[(y * w + x) * channels + c] = (seed + 17 * y + 5 * x + 80 * c) % 256;
  return out;
}

async function writeImage(path: string, data: Uint8Array, h: number, w: number, channels: 1 | 2 | 3 | 4): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true });
  let img = sharp(Buffer.from(data), { raw: { width: w, height: h, channels } });
  if (channels === 1) img = img.toColourspace("b-w"); // a true grayscale file (sharp would write RGB)
  await (path.endsWith(".png") ? img.png() : img.jpeg({ quality: 95 })).toFile(path);
}

async function rejectsWith(promise: Promise<unknown>, path: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.equal(err.path, path);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test("per class: labels from sorted sub-folder names, files sorted, PNG pixels exact", async () => {
  const dir = join(root, "classes");
  // Written out of order on purpose; "Zebra" sorts before "apple" (code-unit order).
  await writeImage(join(dir, "apple", "b.png"), pattern(4, 6, 3, 2), 4, 6, 3);
  await writeImage(join(dir, "apple", "a.png"), pattern(4, 6, 3, 1), 4, 6, 3);
  await writeImage(join(dir, "Zebra", "z.png"), pattern(4, 6, 3, 3), 4, 6, 3);
  writeFileSync(join(dir, "apple", "notes.txt"), "not an image");
  writeFileSync(join(dir, ".hidden.png"), "ignored");
  const set = await loadImageFolder(dir);
  assert.deepEqual(set.classes, ["Zebra", "apple"]);
  assert.deepEqual(set.labels!.toArray(), [0, 1, 1]);
  assert.deepEqual(set.images.shape, [3, 4, 6, 3]);
  assert.deepEqual(Array.from(set.images.toTypedArray<"uint8">()), [...pattern(4, 6, 3, 3), ...pattern(4, 6, 3, 1), ...pattern(4, 6, 3, 2)]);
  assert.equal(set.source, `folder ${dir}`);
  disposeSet(set);
});

test("flat: no labels; grayscale PNGs give 1 channel, or 3 replicated on request; alpha dropped", async () => {
  const dir = join(root, "flat-gray");
  await writeImage(join(dir, "1.png"), pattern(5, 3, 1, 10), 5, 3, 1);
  await writeImage(join(dir, "2.png"), pattern(5, 3, 1, 20), 5, 3, 1);
  const gray = await loadImageFolder(dir);
  assert.equal(gray.labels, null);
  assert.equal(gray.classes, null);
  assert.deepEqual(gray.images.shape, [2, 5, 3, 1]);
  assert.deepEqual(Array.from(gray.images.toTypedArray<"uint8">()), [...pattern(5, 3, 1, 10), ...pattern(5, 3, 1, 20)]);
  const rgb = await loadImageFolder(dir, { channels: 3 });
  assert.deepEqual(rgb.images.shape, [2, 5, 3, 3]);
  const replicated = Array.from(pattern(5, 3, 1, 10)).flatMap((v) => [v, v, v]);
  assert.deepEqual(Array.from(rgb.images.toTypedArray<"uint8">()).slice(0, 45), replicated);
  [gray, rgb].forEach(disposeSet);

  const rgba = join(root, "flat-rgba");
  const withAlpha = pattern(2, 2, 4, 7);
  await writeImage(join(rgba, "a.png"), withAlpha, 2, 2, 4);
  const set = await loadImageFolder(rgba);
  assert.deepEqual(set.images.shape, [1, 2, 2, 3]);
  assert.deepEqual(Array.from(set.images.toTypedArray<"uint8">()), Array.from(withAlpha).filter((_, i) => i % 4 !== 3));
  disposeSet(set);
});

test("RGB to grayscale with channels: 1", async () => {
  const dir = join(root, "to-gray");
  // Pure red, green, blue and white pixels.
  const px = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  await writeImage(join(dir, "a.png"), px, 1, 4, 3);
  const set = await loadImageFolder(dir, { channels: 1 });
  assert.deepEqual(set.images.shape, [1, 1, 4, 1]);
  const [r, g, b, w] = Array.from(set.images.toTypedArray<"uint8">());
  assert.equal(w, 255);
  assert.ok(g! > r! && r! > b! && b! > 0, `luma of red ${r}, green ${g}, blue ${b}`); // green brightest, blue darkest
  disposeSet(set);
});

test("JPEG decodes close to the original", async () => {
  const dir = join(root, "jpeg");
  const flat = new Uint8Array(16 * 16 * 3).fill(0).map((_, i) => [200, 100, 50][i % 3]!);
  await writeImage(join(dir, "cls", "a.jpg"), flat, 16, 16, 3);
  await writeImage(join(dir, "cls", "b.JPEG"), flat, 16, 16, 3);
  const set = await loadImageFolder(dir);
  assert.deepEqual(set.images.shape, [2, 16, 16, 3]);
  const got = set.images.toTypedArray<"uint8">();
  let worst = 0;
  got.forEach((v, i) => (worst = Math.max(worst, Math.abs(Number(v) - flat[i % flat.length]!))));
  assert.ok(worst <= 3, `largest JPEG error ${worst}`);
  disposeSet(set);
});

test("size: cover then centre crop", async () => {
  const dir = join(root, "resize");
  // 4 high × 8 wide: columns 0-3 black, 4-7 white. Covering 4×4 needs no scaling (scale 1), and the
  // centre crop keeps columns 2..5: black, black, white, white.
  const img = new Uint8Array(4 * 8).map((_, i) => ((i % 8) < 4 ? 0 : 255));
  await writeImage(join(dir, "wide.png"), img, 4, 8, 1);
  // 2×2 constant gray upscaled to 4×4 stays constant.
  await writeImage(join(dir, "small.png"), new Uint8Array(4).fill(90), 2, 2, 1);
  const set = await loadImageFolder(dir, { size: [4, 4] });
  assert.deepEqual(set.images.shape, [2, 4, 4, 1]);
  const data = Array.from(set.images.toTypedArray<"uint8">());
  assert.deepEqual(data.slice(0, 16), new Array(16).fill(90)); // small.png sorts first
  assert.deepEqual(data.slice(16), [0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255]);
  disposeSet(set);
  await assert.rejects(loadImageFolder(dir, { size: [0, 4] }), /size must be \[height, width\]/);
});

test("mixed sizes without a size: both files named with their sizes", async () => {
  const dir = join(root, "mixed");
  await writeImage(join(dir, "a.png"), pattern(4, 4, 3, 0), 4, 4, 3);
  await writeImage(join(dir, "b.png"), pattern(4, 4, 3, 0), 4, 4, 3);
  await writeImage(join(dir, "c.png"), pattern(5, 7, 3, 0), 5, 7, 3);
  await rejectsWith(loadImageFolder(dir), dir, new RegExp(`${join(dir, "a.png")} is 4×4 and ${join(dir, "c.png")} is 7×5 \\(width×height\\)`), /resize them to one size first .*size \[H, W\]/);
});

test("corrupt or truncated image: the file is named", async () => {
  const dir = join(root, "corrupt");
  await writeImage(join(dir, "good.png"), pattern(4, 4, 3, 0), 4, 4, 3);
  writeFileSync(join(dir, "garbage.png"), "this is not a PNG");
  await rejectsWith(loadImageFolder(dir), join(dir, "garbage.png"), /unreadable or corrupt image/);

  const dir2 = join(root, "truncated");
  await writeImage(join(dir2, "good.png"), pattern(4, 4, 3, 0), 4, 4, 3);
  const full = await sharp(Buffer.from(pattern(64, 64, 3, 9)), { raw: { width: 64, height: 64, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
  writeFileSync(join(dir2, "cut.png"), full.subarray(0, Math.floor(full.length / 2)));
  await rejectsWith(loadImageFolder(dir2, { size: [4, 4] }), join(dir2, "cut.png"), /unreadable or corrupt image/);
});

test("empty folder, no images, missing folder, images beside class folders, empty class", async () => {
  const empty = join(root, "empty");
  mkdirSync(empty);
  await rejectsWith(loadImageFolder(empty), empty, /empty folder, no images/);
  const noImages = join(root, "no-images");
  mkdirSync(noImages);
  writeFileSync(join(noImages, "readme.txt"), "x");
  await rejectsWith(loadImageFolder(noImages), noImages, /no images \(\.png, \.jpg, \.jpeg\) among its 1 entries, e\.g\. readme\.txt/);
  await rejectsWith(loadImageFolder(join(root, "nope")), join(root, "nope"), /no such file or folder/);
  const both = join(root, "both");
  await writeImage(join(both, "x.png"), pattern(2, 2, 3, 0), 2, 2, 3);
  await writeImage(join(both, "cls", "y.png"), pattern(2, 2, 3, 0), 2, 2, 3);
  await rejectsWith(loadImageFolder(both), both, /has both images \(e\.g\. x\.png\) and sub-folders \(e\.g\. cls\)/);
  const emptyClass = join(root, "empty-class");
  await writeImage(join(emptyClass, "a", "y.png"), pattern(2, 2, 3, 0), 2, 2, 3);
  mkdirSync(join(emptyClass, "b"));
  await rejectsWith(loadImageFolder(emptyClass), join(emptyClass, "b"), /class folder: empty folder/);
});
