// Bicubic resizing as PIL's Image.resize(size, BICUBIC) computes it (what clean-fid's "clean" mode
// uses before Inception-v3), on float images: libtorch's antialiased bicubic kernel
// (`aten::_upsample_bicubic2d_aa`, behind torch's interpolate(mode="bicubic", antialias=True)), which
// was written to reproduce PIL:
//   * Keys cubic kernel with a = −0.5 (PIL) — plain `upsample_bicubic2d` uses a = −0.75;
//   * when shrinking, the kernel is stretched by the scale factor (antialiasing: every input pixel
//     contributes), as PIL does — plain bicubic samples only the 4×4 nearest pixels;
//   * at the borders the kernel is cut at the image edge and its weights renormalised (PIL), where
//     plain bicubic repeats the edge pixel.
// Output pixel centres follow align_corners = false (PIL's convention). Measured against PIL 9.4's
// mode "F" resize to 299×299 (test/fixtures/make_inception_fixture.py): max |difference| 6e-4 gray
// levels (0..255) from 28×28 and 4.8e-3 from 400×350, float32 rounding; plain bicubic differs by up
// to 23 gray levels (28×28 → 299×299, mean 4).
//
// The operator is a private ATen one (its name starts with "_"), which gcrl's public `op` refuses
// because private operators may skip input checks; torch's resizeBicubicAntialias checks its inputs
// before the call, and the checks here keep this function's own messages.
import { Tensor, resizeBicubicAntialias, tidy } from "../torch/index.ts";

/** Resizes float images (N, C, H, W) to (N, C, height, width) with PIL's bicubic filter. Values are not clamped. */
export function resizeBicubicPil(images: Tensor, size: readonly [number, number]): Tensor {
  if (!(images instanceof Tensor) || images.isDisposed || images.ndim !== 4 || (images.dtype !== "float32" && images.dtype !== "float64")) {
    throw new TypeError(`resizeBicubicPil: images must be a float32 or float64 tensor (N, C, H, W), got ${String(images)}`);
  }
  if (images.shape.some((s) => s < 1)) throw new RangeError(`resizeBicubicPil: images must not be empty, got ${images.toString()}`);
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s >= 1 && s <= 16384)) {
    throw new RangeError(`resizeBicubicPil: size must be [height, width] with integers in 1..16384, got ${JSON.stringify(size)}`);
  }
  return tidy(() => resizeBicubicAntialias(images, [size[0], size[1]]));
}
