// contentFingerprint (src/data/image-set.ts): equal for equal images and labels whatever the source
// text, different when one pixel, one label, the order, the shape or the labels' presence differ;
// a known answer computed independently with node:crypto over the same bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { tensor, tidy } from "../../src/torch/index.ts";
import { contentFingerprint, disposeSet, imageSet, subset, type ImageSet } from "../../src/data/image-set.ts";

const PIXELS = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => (i * 29) % 256);

function makeSet(pixels: Uint8Array, labels: number[] | null, source = "a", shape = [3, 2, 2, 1]): ImageSet {
  return tidy(() => imageSet(tensor(pixels, { dtype: "uint8", shape }), labels === null ? null : tensor(labels, { dtype: "int64" }), null, source));
}

test("contentFingerprint: a known answer (SHA-256 of shape line, pixels, labels)", () => {
  const set = makeSet(PIXELS, [0, 1, 2]);
  const labels = new BigInt64Array([0n, 1n, 2n]);
  const expected = createHash("sha256").update("images 3x2x2x1\n").update(PIXELS).update("labels\n").update(new Uint8Array(labels.buffer)).digest("hex").slice(0, 16);
  assert.equal(contentFingerprint(set), expected);
  disposeSet(set);
});

test("contentFingerprint: same content same fingerprint; any change of pixels, labels, order or shape changes it", () => {
  const base = makeSet(PIXELS, [0, 1, 2], "fashion-mnist test (/usr/share/datasets/fashion-mnist)");
  const same = makeSet(PIXELS.slice(), [0, 1, 2], "fashion-mnist test (/tmp/copy)");
  const pixel = PIXELS.slice();
  pixel[5] = pixel[5]! ^ 1;
  const variants = [
    makeSet(pixel, [0, 1, 2]),
    makeSet(PIXELS, [0, 1, 3]),
    makeSet(PIXELS, null),
    makeSet(PIXELS, [0, 1, 2], "a", [3, 4, 1, 1]),
  ];
  const reordered = subset(base, [2, 1, 0]);
  assert.equal(contentFingerprint(same), contentFingerprint(base), "the source text is not content");
  const fingerprints = [base, ...variants, reordered].map(contentFingerprint);
  assert.equal(new Set(fingerprints).size, fingerprints.length, `fingerprints collide: ${fingerprints.join(" ")}`);
  for (const s of [base, same, ...variants, reordered]) disposeSet(s);
});
