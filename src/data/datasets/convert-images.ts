// Size and channel conversion of a loaded set, for built-in datasets given a --size or --channels
// that differs from their own (e.g. Fashion-MNIST 28×28×1 next to CIFAR-10 32×32×3 as OOD). Image
// folders resize while decoding (sharp) instead.
//
// Resize: scale so the image covers H×W (bilinear, no antialiasing — meant for modest changes such
// as 28 → 32), then centre-crop. Channels: 1 → 3 replicates the gray value; 3 → 1 is the Rec. 601
// luma round(0.299 R + 0.587 G + 0.114 B). Work goes in chunks of images to bound float memory.
import { Tensor, cat, interpolate, tensor, tidy, zeros } from "../../torch/index.ts";
import { imageSet, imageShape, type ImageSet } from "../image-set.ts";

const CHUNK = 4096;

export interface ConvertOptions {
  /** [H, W] to cover and centre-crop to. */
  size?: [number, number];
  channels?: 1 | 3;
}

/** `set` itself when nothing changes; otherwise a new set (the input is left as it is). */
export function convertImages(set: ImageSet, options: ConvertOptions): ImageSet {
  const [h, w, c] = imageShape(set);
  const [outH, outW] = options.size ?? [h, w];
  const outC = options.channels ?? c;
  if (outH === h && outW === w && outC === c) return set;
  const n = set.images.size(0);
  const chunks: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      chunks.push(tidy(() => convertChunk(set.images.narrow(0, start, len), outH, outW, outC)));
    }
  } catch (err) {
    for (const t of chunks) t.dispose();
    throw err;
  }
  let images = chunks[0] ?? zeros([0, outH, outW, outC], { dtype: "uint8" });
  if (chunks.length > 1) {
    images = tidy(() => cat(chunks));
    for (const t of chunks) t.dispose();
  }
  const labels = set.labels === null ? null : tidy(() => set.labels!.clone());
  const what = [options.size && `${outH}×${outW}`, options.channels && `${outC} channel${outC === 1 ? "" : "s"}`].filter(Boolean).join(", ");
  return imageSet(images, labels, set.classes, `${set.source} [as ${what}]`);
}

/** uint8 (n, h, w, c) -> uint8 (n, outH, outW, outC). */
function convertChunk(images: Tensor, outH: number, outW: number, outC: number): Tensor {
  const [, h, w, c] = images.shape as [number, number, number, number];
  let x = images.permute([0, 3, 1, 2]).float(); // (n, c, h, w)
  if (outC === 1 && c === 3) {
    const weights = tensor([0.299, 0.587, 0.114]).reshape([1, 3, 1, 1]);
    x = x.mul(weights).sum(1, true); // (n, 1, h, w)
  }
  if (outH !== h || outW !== w) {
    const scale = Math.max(outH / h, outW / w);
    const coverH = Math.max(outH, Math.round(h * scale));
    const coverW = Math.max(outW, Math.round(w * scale));
    x = interpolate(x, { size: [coverH, coverW], mode: "bilinear" });
    x = x.narrow(2, Math.floor((coverH - outH) / 2), outH).narrow(3, Math.floor((coverW - outW) / 2), outW);
  }
  if (outC === 3 && c === 1) x = x.expand([x.size(0), 3, outH, outW]);
  return x.round().clamp(0, 255).to("uint8").permute([0, 2, 3, 1]).contiguous(); // (n, outH, outW, outC)
}
