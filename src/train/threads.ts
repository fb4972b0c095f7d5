// train.threads (--threads) against the machine's cores (docs/training.md, "Threads"). libtorch's
// intra-op pool starts exactly that many threads; a training step is CPU-bound, so threads beyond
// the cores only take turns on them. Measured on a 2-core machine (d = 32, 2 + 1 layers, batch 32,
// steps of about 0.8 s at 1-2 threads): 8 threads, first step 2.8 s, later ones unchanged; 32
// threads, first step 9 s; 128 threads, first step 60 s and every later one 2× slower; 1,000
// threads, 2 steps in 4 min 49 s, and SIGTERM waited minutes for the step to end. So: a warning
// above the cores, a refusal above MAX_THREADS_PER_CORE × cores (room for a machine whose
// availableParallelism() reads low, not for a typo).
import { availableParallelism } from "node:os";
import { RunConfigError } from "./run-config-validate.ts";

export const MAX_THREADS_PER_CORE = 4;

/** Throws a RunConfigError (exit 2) for a thread count that is absurd on `cores` cores. */
export function checkThreads(threads: number | null, cores: number = availableParallelism()): void {
  if (threads === null) return;
  const max = MAX_THREADS_PER_CORE * cores;
  if (!Number.isInteger(threads) || threads < 1 || threads > max) {
    throw new RunConfigError("train.threads (--threads)", [
      `expected an integer in [1, ${max}] (${MAX_THREADS_PER_CORE} × the ${cores} cores of os.availableParallelism()), got ${threads}: ` +
        `threads beyond the cores only take turns on them, and so many make every step slower and delay Ctrl-C; leave it unset for one per core`,
    ]);
  }
}

/** The warning for more threads than cores, or null. */
export function threadsWarning(threads: number | null, cores: number = availableParallelism()): string | null {
  if (threads === null || threads <= cores) return null;
  return `warning: train.threads ${threads} is more than the ${cores} cores (os.availableParallelism()): the extra threads only take turns on them, so steps get slower, not faster`;
}
