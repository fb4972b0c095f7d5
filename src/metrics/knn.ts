// Weighted k-nearest-neighbour classification of representations (Wu et al. 2018, "Unsupervised
// feature learning via non-parametric instance discrimination"; the kNN monitor of solo-learn and
// lightly): features are L2-normalised, s = cosine similarity, the k most similar training
// features vote for their labels with weight exp(s / T), and the class with the largest total wins
// (ties: the lowest label). Defaults k = 20, T = 0.07.
//
// In src/metrics, the layer just above torch, because both training (its periodic kNN monitor,
// train/evaluate.ts) and evaluation (eval/run-evaluation.ts) compute it and train sits below eval.
import { Tensor, normalize, noGrad, tidy, zeros } from "../torch/index.ts";

export interface KnnOptions {
  /** Neighbours that vote (default 20; fewer when there are fewer training features). */
  k?: number;
  /** Vote weight exp(similarity / temperature) (default 0.07). */
  temperature?: number;
  /** Number of classes C (labels are 0..C−1); default: 1 + the largest training label. */
  numClasses?: number;
  /** Queries per similarity block: the block is (chunk, N) floats (default 256). */
  chunk?: number;
}

export const KNN_DEFAULTS = Object.freeze({ k: 20, temperature: 0.07, chunk: 256 });

function check(name: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok) throw new RangeError(`knn: ${name} must be ${expected}, got ${typeof got === "object" && got instanceof Tensor ? got.toString() : String(got)}`);
}

/**
 * Predicted labels (M,) for queryFeatures (M, d) from trainFeatures (N, d) with int64 trainLabels
 * (N,). Runs under noGrad in blocks of `chunk` queries.
 */
export function knnPredict(trainFeatures: Tensor, trainLabels: Tensor, queryFeatures: Tensor, options: KnnOptions = {}): Int32Array {
  const k = options.k ?? KNN_DEFAULTS.k;
  const temperature = options.temperature ?? KNN_DEFAULTS.temperature;
  const chunk = options.chunk ?? KNN_DEFAULTS.chunk;
  check("trainFeatures", trainFeatures.ndim === 2 && trainFeatures.size(0) >= 1, "a non-empty (N, d) tensor", trainFeatures);
  const [n, d] = trainFeatures.shape as [number, number];
  check("queryFeatures", queryFeatures.ndim === 2 && queryFeatures.size(1) === d, `an (M, ${d}) tensor`, queryFeatures);
  check("trainLabels", trainLabels.ndim === 1 && trainLabels.size(0) === n && trainLabels.dtype === "int64", `int64 (${n},)`, trainLabels);
  check("k", Number.isInteger(k) && k >= 1, "a positive integer", k);
  check("temperature", temperature > 0 && Number.isFinite(temperature), "a positive number", temperature);
  check("chunk", Number.isInteger(chunk) && chunk >= 1, "a positive integer", chunk);
  const labels = trainLabels.toArray();
  const maxLabel = labels.reduce((a, b) => Math.max(a, b), 0);
  if (labels.some((l) => l < 0)) throw new RangeError("knn: trainLabels must be >= 0");
  const numClasses = options.numClasses ?? maxLabel + 1;
  check("numClasses", Number.isInteger(numClasses) && numClasses > maxLabel, `an integer > the largest label (${maxLabel})`, numClasses);
  const m = queryFeatures.size(0);
  const kk = Math.min(k, n);
  const out = new Int32Array(m);
  noGrad(() =>
    tidy(() => {
      const keys = normalize(trainFeatures.float(), 2, 1).transpose(0, 1); // (d, N)
      const trainLabels64 = trainLabels.toDevice(keys.device);
      for (let start = 0; start < m; start += chunk) {
        const rows = Math.min(chunk, m - start);
        const predicted = tidy(() => {
          const q = normalize(queryFeatures.narrow(0, start, rows).float().toDevice(keys.device), 2, 1); // (rows, d)
          const { values, indices } = q.matmul(keys).topk(kk, 1); // (rows, kk) similarities and train indices
          const neighbourLabels = trainLabels64.indexSelect(0, indices.reshape([-1])).reshape([rows, kk]);
          const votes = zeros([rows, numClasses], { device: keys.device }).scatterAdd(1, neighbourLabels, values.div(temperature).exp()); // (rows, C)
          return votes.argmax(1).toArray(); // argmax: the first (lowest) label on ties
        });
        out.set(predicted, start);
      }
    }),
  );
  return out;
}

/** Fraction of queries whose kNN prediction equals queryLabels (int64 (M,)). */
export function knnAccuracy(trainFeatures: Tensor, trainLabels: Tensor, queryFeatures: Tensor, queryLabels: Tensor, options: KnnOptions = {}): number {
  const m = queryFeatures.size(0);
  check("queryLabels", queryLabels.ndim === 1 && queryLabels.size(0) === m, `a (${m},) tensor`, queryLabels);
  if (m === 0) return NaN;
  const predicted = knnPredict(trainFeatures, trainLabels, queryFeatures, options);
  const truth = queryLabels.toArray();
  let correct = 0;
  for (let i = 0; i < m; i++) if (predicted[i] === truth[i]) correct++;
  return correct / m;
}
