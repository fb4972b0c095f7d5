// Periodic evaluation during training, on images that are never augmented:
//
//   test NLL   mean per-pixel NLL (nats; bits/dim = nats / ln 2) of the held-out eval images, each
//              decoded with its own encoder output (not in simclr mode: its decoder is untrained)
//   kNN        weighted kNN top-1 accuracy (metrics/knn.ts: cosine, k = 20, T = 0.07) of the eval images'
//              representations r(x) against those of a fixed subset of the training images
//
// Everything runs under noGrad in eval mode (dropout off), in batches; the model's mode is restored.
// The images are quantized once, when the Evaluator is made.
import { Tensor, cat, keep, noGrad, tidy } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import type { ImageSet } from "../data/image-set.ts";
import type { Tokenizer } from "../data/loader.ts";
import type { ObjectiveMode } from "./objectives.ts";
import { generativeLoss, natsToBitsPerDim } from "./objectives.ts";
import { KNN_DEFAULTS, knnAccuracy } from "../metrics/knn.ts";

/** Training images whose representations are the kNN's labelled neighbours (the first ones of the training set). */
export const KNN_TRAIN_IMAGES = 5000;

export interface EvaluatorOptions {
  mode: ObjectiveMode;
  /** Images per forward pass. */
  batchSize: number;
  /** Device of the model. */
  device?: string;
  k?: number;
  temperature?: number;
}

export interface EvaluationResult {
  testNll: number | null;
  testBitsPerDim: number | null;
  knnAccuracy: number | null;
}

export class Evaluator {
  readonly evalTokens: Tensor;
  readonly evalLabels: Tensor | null;
  readonly trainTokens: Tensor | null;
  readonly trainLabels: Tensor | null;
  readonly numClasses: number | null;

  /** `evalSet`: the held-out images; `knnSet`: labelled training images for the kNN (null: no kNN). */
  constructor(
    readonly model: GCRLModel,
    tokenizer: Tokenizer,
    evalSet: ImageSet,
    knnSet: ImageSet | null,
    readonly options: EvaluatorOptions,
  ) {
    const device = options.device ?? "cpu";
    const move = (t: Tensor): Tensor => (device === "cpu" ? t : t.toDevice(device));
    this.evalTokens = keep(tidy(() => move(tokenizer.quantize(evalSet.images))));
    const labelled = knnSet !== null && knnSet.labels !== null && evalSet.labels !== null;
    this.evalLabels = labelled ? keep(evalSet.labels!.clone()) : null;
    this.trainTokens = labelled ? keep(tidy(() => move(tokenizer.quantize(knnSet.images)))) : null;
    this.trainLabels = labelled ? keep(knnSet.labels!.clone()) : null;
    this.numClasses = labelled ? Math.max(knnSet.classes?.length ?? 0, labelCount(knnSet.labels!), labelCount(evalSet.labels!)) : null;
  }

  /** Test NLL and kNN accuracy of the model as it is now. */
  run(): EvaluationResult {
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      return noGrad(() => {
        const withNll = this.options.mode !== "simclr";
        const { nll, features } = this.#pass(this.evalTokens, withNll);
        let knn: number | null = null;
        if (this.trainTokens !== null) {
          const trainFeatures = this.#pass(this.trainTokens, false).features;
          knn = knnAccuracy(trainFeatures, this.trainLabels!, features, this.evalLabels!, {
            k: this.options.k ?? KNN_DEFAULTS.k,
            temperature: this.options.temperature ?? KNN_DEFAULTS.temperature,
            numClasses: this.numClasses!,
          });
          trainFeatures.dispose();
        }
        features.dispose();
        return { testNll: nll, testBitsPerDim: nll === null ? null : natsToBitsPerDim(nll), knnAccuracy: knn };
      });
    } finally {
      this.model.train(wasTraining);
    }
  }

  /** Representations (N, d) of all `tokens` (and their mean NLL when asked), batch by batch. */
  #pass(tokens: Tensor, withNll: boolean): { nll: number | null; features: Tensor } {
    const n = tokens.size(0);
    const b = this.options.batchSize;
    const parts: Tensor[] = [];
    let nllSum = 0;
    for (let start = 0; start < n; start += b) {
      const rows = Math.min(b, n - start);
      const { representation, nll } = tidy(() => {
        const x = tokens.narrow(0, start, rows);
        const { hidden, representation } = this.model.encode(x); // (rows, H, W, d), (rows, d)
        const nll = withNll ? generativeLoss(this.model.decode(x, hidden), x).item() : 0;
        return { representation: representation.toDevice("cpu"), nll };
      });
      parts.push(representation);
      nllSum += nll * rows;
    }
    const features = tidy(() => cat(parts, 0));
    for (const p of parts) p.dispose();
    return { nll: withNll ? nllSum / n : null, features };
  }

  dispose(): void {
    for (const t of [this.evalTokens, this.evalLabels, this.trainTokens, this.trainLabels]) t?.dispose();
  }
}

/** 1 + the largest label. */
function labelCount(labels: Tensor): number {
  return labels.toArray().reduce((a, b) => Math.max(a, b), -1) + 1;
}
