// A training run's view of its data-parallel process group (docs/distributed.md, "Data-parallel
// training"): N processes, one shard of every global batch each (PairLoader's shard option), the
// same model on all of them. What each step exchanges:
//
//   start     rank 0's palette (JSON through the store) and initial parameters (broadcast)
//   forward   the projections of the global batch for NT-Xent (allGatherWithGrad)
//   backward  the gradients, summed in one flat bucket and divided by N (averageGradients): the
//             one-process gradient of the global batch's mean loss (objectives.ts gradientLoss)
//   values    the step's loss values, averaged over the ranks (equal shards: the global means)
//   control   whether to stop (an abort on any rank, rank 0's clock for a minutes budget) and rank 0's
//             schedule length, so every rank takes the same steps with the same learning rate
//
// Only rank 0 (the leader) writes the run folder and prints; the others wait for it at
// leaderDone() after its evaluations and checkpoints, with a longer timeout (LEADER_WORK_TIMEOUT_MS).
import { Tensor, allGatherWithGrad, cat, noGrad, tensor, tidy, type ProcessGroup } from "../torch/index.ts";
import type { GlobalBatch } from "./objectives.ts";

/** How long the other ranks wait for rank 0's evaluation or checkpoint (a vanished rank 0 is noticed at once). */
export const LEADER_WORK_TIMEOUT_MS = 60 * 60_000;

export class DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  readonly isLeader: boolean;
  readonly global: GlobalBatch;

  constructor(readonly group: ProcessGroup) {
    this.rank = group.rank;
    this.worldSize = group.worldSize;
    this.isLeader = group.rank === 0;
    this.global = { gather: (z: Tensor) => allGatherWithGrad(group, z), worldSize: group.worldSize };
  }

  /** Every rank's parameters become rank 0's (in place, outside autograd). */
  broadcastParameters(params: Tensor[]): void {
    noGrad(() => this.group.broadcast(params, 0));
  }

  /**
   * Replaces each parameter's gradient by the mean over the ranks: one flat bucket of every gradient
   * (in the first parameter's dtype; a parameter without a gradient counts as zeros), summed by one
   * all-reduce, divided by N.
   */
  averageGradients(params: Tensor[]): void {
    if (this.worldSize === 1 || params.length === 0) return;
    tidy(() => {
      const dtype = params[0]!.dtype;
      const grads = params.map((p) => p.grad);
      const bucket = cat(grads.map((g, i) => (g === null ? params[i]!.detach().flatten().mul(0) : g.detach().flatten()).to(dtype)), 0);
      this.group.allReduce([bucket], "sum");
      bucket.div_(this.worldSize);
      let offset = 0;
      for (const [i, p] of params.entries()) {
        const n = p.numel;
        const mean = bucket.narrow(0, offset, n).reshape(p.shape).to(p.dtype);
        offset += n;
        const g = grads[i];
        if (g === null || g === undefined) p.grad = mean.clone();
        else noGrad(() => g.copy_(mean));
      }
    });
  }

  /** Each value's mean over the ranks (in float64, so the sums add no rounding of their own). */
  averageValues(values: number[]): number[] {
    return tidy(() => {
      const t = tensor(values, { dtype: "float64" });
      this.group.allReduce([t], "sum");
      return Array.from(t.toArray() as number[], (v) => v / this.worldSize);
    });
  }

  /**
   * The step's control, agreed by all ranks before each step: an abort on any rank (SIGINT/SIGTERM),
   * rank 0's clock ending a minutes budget, rank 0's schedule length (null: not estimated yet).
   */
  agree(aborted: boolean, leaderTimeUp: boolean, leaderScheduleSteps: number | null): { aborted: boolean; timeUp: boolean; scheduleSteps: number | null } {
    const leader = this.isLeader;
    const [aborts, timeUp, schedule] = tidy(() => {
      const t = tensor([aborted ? 1 : 0, leader && leaderTimeUp ? 1 : 0, leader ? (leaderScheduleSteps ?? -1) : 0], { dtype: "float64" });
      this.group.allReduce([t], "sum");
      return t.toArray() as number[];
    }) as [number, number, number];
    return { aborted: aborts > 0, timeUp: timeUp > 0, scheduleSteps: schedule < 0 ? null : schedule };
  }

  /** The other ranks wait here while rank 0 evaluates or writes a checkpoint. */
  leaderDone(): void {
    this.group.barrier(Math.max(LEADER_WORK_TIMEOUT_MS, this.group.timeoutMs));
  }
}
