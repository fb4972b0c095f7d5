// `gcrl train` in data-parallel form (docs/distributed.md, "Data-parallel training"):
//
//   gcrl train --nproc N …     the launcher: picks a free MASTER_PORT on 127.0.0.1 and starts N
//                              worker processes of the same command, ranks 0..N−1, each with
//                              1/N of the threads; waits for them; stops the others when one fails
//   RANK=r WORLD_SIZE=N MASTER_ADDR=… MASTER_PORT=… gcrl train …
//                              a worker: joins the group (torchrun's environment contract, so
//                              torchrun, SLURM or Kubernetes can start the ranks, on several hosts)
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { freePort } from "../util/free-port.ts";
import { UsageError } from "./args.ts";

/** torchrun's variables for this process (LOCAL_WORLD_SIZE: the ranks on this host, which share its threads). */
export interface TorchrunEnv {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
}

/** Seconds a worker waits for its peers (join and each collective) unless --dist-timeout says otherwise. */
export const DEFAULT_DIST_TIMEOUT_SECONDS = 60;

/**
 * The torchrun variables of `env`, checked (one line naming the variable), or null when neither
 * RANK nor WORLD_SIZE is set (a plain or launcher run).
 */
export function torchrunEnv(env: NodeJS.ProcessEnv = process.env): TorchrunEnv | null {
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return null;
  const int = (name: string, min: number, max: number, fallback?: number): number => {
    const text = env[name];
    if (text === undefined || text === "") {
      if (fallback !== undefined) return fallback;
      throw new UsageError(`environment variable ${name} is not set: a data-parallel worker needs MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (torchrun's variables)`);
    }
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`environment variable ${name}: expected an integer in [${min}, ${max}], got '${text}'`);
    return n;
  };
  const worldSize = int("WORLD_SIZE", 1, 65536);
  const rank = int("RANK", 0, worldSize - 1);
  const masterAddr = env.MASTER_ADDR ?? "";
  if (masterAddr === "") throw new UsageError("environment variable MASTER_ADDR is not set: the address of rank 0's host (127.0.0.1 on one machine)");
  const localWorldSize = int("LOCAL_WORLD_SIZE", 1, worldSize, 1);
  return { masterAddr, masterPort: int("MASTER_PORT", 1, 65535), rank, worldSize, localRank: int("LOCAL_RANK", 0, localWorldSize - 1, 0), localWorldSize };
}

/** This process's thread count in a data-parallel run: the host's (train.threads, or one per core) split between its ranks. */
export function threadsPerRank(configThreads: number | null, localWorldSize: number): number {
  return Math.max(1, Math.floor((configThreads ?? availableParallelism()) / localWorldSize));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

/**
 * Starts `nproc` workers of `gcrl train <argv> <extraArgs>` on 127.0.0.1 and waits for them. When
 * one fails, the others get `graceSeconds` (their peer timeout and some) to stop on their own, then
 * SIGKILL. SIGINT/SIGTERM are passed on to every worker (a first one: finish the step, checkpoint).
 * Returns the exit code: 0, the interrupted code (130/143), 2 for a usage or input error, else 1.
 */
export async function launchWorkers(nproc: number, argv: string[], extraArgs: string[], threads: number, graceSeconds: number, log: (line: string) => void): Promise<number> {
  const port = await freePort("127.0.0.1");
  const script = process.argv[1];
  if (script === undefined) throw new Error("launchWorkers: no script path in process.argv");
  const children: ChildProcess[] = [];
  const exits: ({ code: number | null; signal: NodeJS.Signals | null } | null)[] = Array.from({ length: nproc }, () => null);
  let firstFailure: { rank: number; pid: number; how: string; code: number | null } | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const forward = (signal: NodeJS.Signals): void => {
    for (const [r, child] of children.entries()) if (exits[r] === null) child.kill(signal);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const done = new Promise<void>((resolve) => {
      for (let rank = 0; rank < nproc; rank++) {
        const env = {
          ...process.env,
          MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(nproc),
          LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(nproc), GCRL_LAUNCHER_PID: String(process.pid), GCRL_NUM_THREADS: String(threads),
        };
        // Own process groups (detached): a Ctrl-C reaches the launcher only, which passes it on once.
        const child = spawn(process.execPath, [...process.execArgv, script, "train", ...argv, ...extraArgs], { env, stdio: ["ignore", "inherit", "inherit"], detached: true });
        children.push(child);
        child.on("exit", (code, signal) => {
          exits[rank] = { code, signal };
          if ((code !== 0 || signal !== null) && firstFailure === null) {
            firstFailure = { rank, pid: child.pid ?? -1, how: describeExit(code, signal), code };
            killTimer = setTimeout(() => forward("SIGKILL"), graceSeconds * 1000);
          }
          if (exits.every((e) => e !== null)) resolve();
        });
      }
    });
    await done;
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
    if (killTimer !== null) clearTimeout(killTimer);
  }
  const failure = firstFailure as { rank: number; pid: number; how: string; code: number | null } | null;
  if (failure === null) return 0;
  if (failure.code === 130 || failure.code === 143) return failure.code;
  const others = exits.flatMap((e, r) => (r === failure.rank || e === null ? [] : [`rank ${r} ${describeExit(e.code, e.signal)}`]));
  log(`gcrl train: rank ${failure.rank} of ${nproc} (pid ${failure.pid}) ${failure.how}${others.length > 0 ? `; ${others.join(", ")}` : ""}`);
  return failure.code === 2 ? 2 : 1;
}

/**
 * A launched worker stops (as on SIGTERM: finish the step, checkpoint) when its launcher is gone,
 * so no worker outlives a killed launcher. Returns a function that stops watching.
 */
export function watchLauncher(): () => void {
  const launcher = Number(process.env.GCRL_LAUNCHER_PID ?? "");
  if (!Number.isInteger(launcher) || launcher <= 0) return () => {};
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(timer);
      process.kill(process.pid, "SIGTERM");
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
