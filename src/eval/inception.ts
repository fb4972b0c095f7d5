// Inception-v3 pool features (2048-d) as clean-fid computes them in its default "clean" mode, from
// clean-fid's TorchScript file inception-2015-12-05.pt (the TF-slim FID Inception network, also
// used by StyleGAN2-ADA/3's metrics). gcrl cannot download it; point `InceptionFeatures.load` (or
// `gcrl eval --inception FILE`) at a copy.
//
// The TorchScript module's forward(img, return_features: bool = False, use_fp16 = False,
// no_output_bias = False) takes float32 NCHW RGB in [0, 255], resizes to 299×299 internally
// (affine_grid + bilinear grid_sample), normalises (x − 128) / 128 and, with return_features = True,
// returns the (N, 2048) pool features. clean-fid's clean mode first resizes every uint8 image to
// 299×299 with PIL's bicubic filter on float values (mode "F", per channel), clips to [0, 255] and
// only then calls the network, whose internal resize of a 299×299 input is then the identity. Here:
//
//   uint8 (N, H, W, C) → float32 NCHW → resize to 299×299 with PIL's bicubic (pil-resize.ts;
//   max 6e-4 gray levels from PIL) → clamp [0, 255] → gray: repeat to 3 channels → forward(x, true)
//
// (clean-fid converts gray images to RGB before resizing; resizing one channel and repeating it is
// the same thing, once instead of three times.) Remaining differences from clean-fid: float32
// rounding in the resize (above), and clean-fid reads images from files (PNG/JPEG decoding is
// theirs); inputs already 299×299 skip the resize, as PIL's resize to the same size is a copy.
import { Tensor, cat, jit, noGrad, tensor, tidy } from "../torch/index.ts";
import { resizeBicubicPil } from "./pil-resize.ts";

/** The side of Inception-v3's input. */
export const INCEPTION_SIZE = 299;
/** The dimension of its pool features. */
export const INCEPTION_FEATURE_DIM = 2048;

export interface InceptionLoadOptions {
  /** "cpu" (default), "cuda" or "cuda:N": where the network runs (features come back on the CPU). */
  device?: string;
}

export class InceptionFeatures {
  #module: jit.ScriptModule | null;

  private constructor(
    module: jit.ScriptModule,
    /** The TorchScript file. */
    readonly path: string,
    /** Where the network runs. */
    readonly device: string,
  ) {
    this.#module = module;
  }

  /** Loads clean-fid's inception-2015-12-05.pt (or any TorchScript module with its forward signature). */
  static load(path: string, options: InceptionLoadOptions = {}): InceptionFeatures {
    const device = options.device ?? "cpu";
    try {
      return new InceptionFeatures(jit.load(path, { device }), path, device);
    } catch (err) {
      throw new Error(`InceptionFeatures: ${(err as Error).message} — expected clean-fid's TorchScript inception-2015-12-05.pt`);
    }
  }

  /**
   * Pool features of uint8 images (N, H, W, C), C = 1 or 3: float32 (N, 2048) on the CPU, computed
   * batchSize images at a time (default 32, as clean-fid) without gradients.
   */
  features(images: Tensor, batchSize = 32): Tensor {
    const module = this.#module;
    if (module === null) throw new Error(`InceptionFeatures: the network loaded from ${this.path} was disposed`);
    const s = images instanceof Tensor && !images.isDisposed ? images.shape : null;
    if (s === null || images.dtype !== "uint8" || s.length !== 4 || (s[3] !== 1 && s[3] !== 3) || s[1]! < 1 || s[2]! < 1) {
      throw new TypeError(`InceptionFeatures.features: images must be uint8 (N, H, W, C) with C = 1 or 3, got ${String(images)}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`InceptionFeatures.features: batchSize must be a positive integer, got ${String(batchSize)}`);
    }
    const n = s[0]!;
    if (n === 0) return tensor(new Float32Array(0), { shape: [0, INCEPTION_FEATURE_DIM] });
    return noGrad(() =>
      tidy(() => {
        const parts: Tensor[] = [];
        for (let start = 0; start < n; start += batchSize) {
          const count = Math.min(batchSize, n - start);
          parts.push(tidy(() => this.#forward(module, images.narrow(0, start, count))));
        }
        return parts.length === 1 ? parts[0]! : cat(parts, 0);
      }),
    );
  }

  /** One batch: uint8 (B, H, W, C) → float32 (B, 2048) on the CPU. */
  #forward(module: jit.ScriptModule, batch: Tensor): Tensor {
    const [b, h, w, c] = batch.shape as [number, number, number, number];
    let x = batch.toDevice(this.device).permute([0, 3, 1, 2]).float(); // (B, C, H, W) in [0, 255]
    if (h !== INCEPTION_SIZE || w !== INCEPTION_SIZE) x = resizeBicubicPil(x, [INCEPTION_SIZE, INCEPTION_SIZE]).clamp(0, 255);
    if (c === 1) x = x.repeat([1, 3, 1, 1]); // (B, 3, 299, 299)
    const out = module.forward(x.contiguous(), true);
    if (!(out instanceof Tensor)) {
      throw new Error(`InceptionFeatures: ${this.path}: forward(x, return_features=True) returned ${Array.isArray(out) ? `an array of ${out.length}` : typeof out}, expected a (N, ${INCEPTION_FEATURE_DIM}) tensor — is this clean-fid's inception-2015-12-05.pt?`);
    }
    const shape = out.shape;
    if (shape.length !== 2 || shape[0] !== b || shape[1] !== INCEPTION_FEATURE_DIM) {
      throw new Error(`InceptionFeatures: ${this.path}: forward(x, return_features=True) returned shape [${shape.join(", ")}] for ${b} images, expected [${b}, ${INCEPTION_FEATURE_DIM}] — is this clean-fid's inception-2015-12-05.pt?`);
    }
    return out.float().cpu();
  }

  /** Frees the network (idempotent). */
  dispose(): void {
    this.#module?.dispose();
    this.#module = null;
  }
}
