// The data-parallel gradient of test/torch/distributed.test.ts in float64, one rank's or one
// process's: W (p, d) maps two views x, y (B, d) of B "images" to projections; the loss is a
// shard-mean "generative" term mean((xWᵀ)²) plus NT-Xent over the global batch. With a group,
// this rank takes rows [r·B/N, (r+1)·B/N), back-propagates gen + N·L_c over the gathered
// projections and averages the gradient over the ranks (DataParallel), as the trainer does.
import { arange, tidy, type ProcessGroup } from "../../src/torch/index.ts";
import { ntXentLoss } from "../../src/train/objectives.ts";
import { DataParallel } from "../../src/train/data-parallel.ts";

export const B = 8;
const D = 5;
const P = 3;

export function globalBatchGradient(group: ProcessGroup | null): { loss: number; grad: number[] } {
  return tidy(() => {
    const x = arange(0, B * D, 1, { dtype: "float64" }).mul(0.37).sin().reshape([B, D]);
    const y = arange(0, B * D, 1, { dtype: "float64" }).mul(0.91).cos().reshape([B, D]);
    const w = arange(0, P * D, 1, { dtype: "float64" }).mul(1.3).sin().reshape([P, D]).requiresGrad_();
    const n = group?.worldSize ?? 1;
    const b = B / n;
    const start = (group?.rank ?? 0) * b;
    const z1 = x.narrow(0, start, b).matmul(w.transpose(0, 1));
    const z2 = y.narrow(0, start, b).matmul(w.transpose(0, 1));
    const gen = z1.square().mean();
    const dp = group === null ? null : new DataParallel(group);
    const nt = dp === null ? ntXentLoss(z1, z2, 0.5) : ntXentLoss(dp.global.gather(z1), dp.global.gather(z2), 0.5);
    gen.add(nt.loss.mul(n)).backward();
    dp?.averageGradients([w]);
    const loss = gen.add(nt.loss).item();
    return { loss: dp === null ? loss : dp.averageValues([loss])[0]!, grad: Array.from(w.grad!.toArray() as number[]) };
  });
}
