// Concatenation of image sets with the same image shape and classes (e.g. a dataset's train and test
// splits as one "all" split).
import { cat, tidy } from "../../torch/index.ts";
import { imageSet, imageShape, type ImageSet } from "../image-set.ts";

/** One set holding the images of `sets` in order; the inputs are left as they are. */
export function concatSets(sets: readonly ImageSet[], source: string): ImageSet {
  if (sets.length === 0) throw new RangeError("concatSets: no sets to concatenate");
  const first = sets[0]!;
  const shape = imageShape(first).join("×");
  const classes = JSON.stringify(first.classes);
  for (const s of sets.slice(1)) {
    if (imageShape(s).join("×") !== shape) throw new RangeError(`concatSets: ${s.source} has images of ${imageShape(s).join("×")}, ${first.source} of ${shape}`);
    if ((s.labels === null) !== (first.labels === null)) throw new RangeError(`concatSets: ${s.source} and ${first.source} differ in having labels`);
    if (JSON.stringify(s.classes) !== classes) throw new RangeError(`concatSets: ${s.source} and ${first.source} have different classes`);
  }
  const { images, labels } = tidy(() => ({
    images: cat(sets.map((s) => s.images)),
    labels: first.labels === null ? null : cat(sets.map((s) => s.labels!)),
  }));
  return imageSet(images, labels, first.classes, source);
}
