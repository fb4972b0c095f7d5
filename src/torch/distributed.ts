// Data-parallel communication over libtorch's c10d: a TCPStore for the rendezvous and a gloo
// process group for the collectives (native/binding/distributed.cc). Validation, the join
// protocol and the wording of errors live here; the binding is a thin pass-through.
//
// Joining (initProcessGroup), torchrun's contract: rank 0 hosts the store on MASTER_ADDR:MASTER_PORT,
// every rank connects to it, announces itself under "gcrl/join/<rank>" ({worldSize, pid, host}) and
// waits until all WORLD_SIZE ranks have, so that a rank that never arrives, two processes with the
// same RANK, or ranks that disagree on WORLD_SIZE are reported by name within the timeout. Gloo's
// own rendezvous (addresses exchanged through the same store) follows.
//
// Every collective blocks until done or `timeoutMs`; a timeout, a closed socket or a vanished peer
// throws a DistributedError naming this rank and, for peers on this host, which ranks have exited.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { native, type GlooDeviceSpec, type GroupHandle, type StoreHandle } from "./native.ts";
import { Tensor } from "./tensor.ts";
import { cat } from "./functional.ts";
import { TorchError, argError } from "./errors.ts";

/** Default timeout of joining and of each collective (ms). */
export const DEFAULT_DISTRIBUTED_TIMEOUT_MS = 60_000;

export type ReduceOp = "sum" | "avg" | "product" | "min" | "max";
// c10d::ReduceOp::RedOpType codes; "avg" is a sum divided by the world size here (gloo has no AVG).
const REDUCE_CODES: Record<Exclude<ReduceOp, "avg">, number> = { sum: 0, product: 2, min: 3, max: 4 };

/** A failed join or collective: the message names this rank and, where it can tell, the missing one. */
export class DistributedError extends TorchError {
  constructor(op: string, detail: string) {
    super(op, detail, "");
    this.name = "DistributedError";
  }
}

export interface ProcessGroupOptions {
  /** The store's host (torchrun's MASTER_ADDR). */
  masterAddr: string;
  /** The store's port (MASTER_PORT), 1–65535. */
  masterPort: number;
  /** This process's rank, 0 ≤ rank < worldSize (RANK). */
  rank: number;
  /** Number of processes (WORLD_SIZE). */
  worldSize: number;
  /** Bound on joining and on each collective, in ms (default 60 s). */
  timeoutMs?: number;
  /**
   * The network device gloo binds. Default: 127.0.0.1 when masterAddr is a loopback address,
   * else the interface in $GLOO_SOCKET_IFNAME when set (torchrun's variable), else libtorch's
   * default (this host's name, resolved).
   */
  device?: GlooDeviceSpec;
}

/** What each rank announces when it joins. */
export interface PeerInfo {
  rank: number;
  worldSize: number;
  pid: number;
  host: string;
}

/** True when the binding was built with gloo (Debian: libgloo-dev present at build time). */
export function distributedAvailable(): boolean {
  return native.distributedAvailable();
}

const isLoopback = (addr: string): boolean => addr === "localhost" || addr === "::1" || /^127\./.test(addr);

function checkOptions(o: ProcessGroupOptions): Required<ProcessGroupOptions> {
  const op = "initProcessGroup";
  if (typeof o.masterAddr !== "string" || o.masterAddr.length === 0) argError(op, "masterAddr", "a host name or address", o.masterAddr);
  if (!Number.isInteger(o.masterPort) || o.masterPort < 1 || o.masterPort > 65535) argError(op, "masterPort", "an integer port 1–65535", o.masterPort);
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1) argError(op, "worldSize", "a positive integer", o.worldSize);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) argError(op, "rank", `an integer from 0 to ${o.worldSize - 1} (worldSize ${o.worldSize})`, o.rank);
  const timeoutMs = o.timeoutMs ?? DEFAULT_DISTRIBUTED_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) argError(op, "timeoutMs", "a positive integer (ms)", timeoutMs);
  const ifname = process.env.GLOO_SOCKET_IFNAME;
  const device: GlooDeviceSpec = o.device ?? (isLoopback(o.masterAddr) ? { hostname: "127.0.0.1" } : ifname ? { interface: ifname } : {});
  return { ...o, timeoutMs, device };
}

/** Sleeps the thread (the join loop is synchronous, like every collective). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const seconds = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).trim().split("\n")[0]!;

/**
 * Joins (or, as rank 0, hosts) a process group of `worldSize` processes: see the file header.
 * Throws DistributedError for a port in use, an unreachable master, a rank that does not arrive
 * within the timeout, a RANK claimed twice, and ranks that disagree on WORLD_SIZE.
 */
export function initProcessGroup(options: ProcessGroupOptions): ProcessGroup {
  if (!native.distributedAvailable()) {
    throw new DistributedError("initProcessGroup", "this native binding was built without gloo (Debian: apt-get install -y libgloo-dev, then node scripts/build-native.mjs --force)");
  }
  const o = checkOptions(options);
  const where = storeAddress(o);
  let store: StoreHandle;
  try {
    store = native.storeCreate(o.masterAddr, o.masterPort, o.rank === 0, o.worldSize, o.timeoutMs);
  } catch (err) {
    const m = message(err);
    if (o.rank === 0) {
      const inUse = /in use|EADDRINUSE|failed to listen|bind/i.test(m);
      throw new DistributedError("initProcessGroup", `rank 0 could not host the store on ${where}${inUse ? ": the port is in use (choose another MASTER_PORT)" : ""} (${m})`);
    }
    throw new DistributedError("initProcessGroup", `rank ${o.rank} could not reach the master (rank 0) at ${where} within ${seconds(o.timeoutMs)} (${m})`);
  }
  try {
    const peers = join(store, o);
    const group = native.groupCreate(store, o.rank, o.worldSize, o.timeoutMs, o.device);
    return new ProcessGroup(store, group, o, peers);
  } catch (err) {
    native.storeClose(store);
    if (err instanceof DistributedError) throw err;
    throw new DistributedError("initProcessGroup", `rank ${o.rank}: gloo's rendezvous through ${where} failed (${message(err)})`);
  }
}

/** The join check (file header): returns every rank's announcement, in rank order. */
function join(store: StoreHandle, o: Required<ProcessGroupOptions>): PeerInfo[] {
  const op = "initProcessGroup";
  const claims = native.storeAdd(store, `gcrl/claim/${o.rank}`, 1);
  if (claims > 1) throw new DistributedError(op, `RANK ${o.rank} was claimed by ${claims} processes: each process needs its own RANK in 0..${o.worldSize - 1}`);
  const me: PeerInfo = { rank: o.rank, worldSize: o.worldSize, pid: process.pid, host: hostname() };
  native.storeSet(store, `gcrl/join/${o.rank}`, JSON.stringify(me));
  const peers: (PeerInfo | null)[] = Array.from({ length: o.worldSize }, (_, r) => (r === o.rank ? me : null));
  const deadline = Date.now() + o.timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    // Any announcement with another WORLD_SIZE stops the join at once (rank 0 announces first thing).
    for (let r = 0; r < o.worldSize; r++) {
      const key = `gcrl/join/${r}`;
      if (peers[r] !== null || !native.storeCheck(store, [key])) continue;
      const p = JSON.parse(native.storeGet(store, key, o.timeoutMs)) as PeerInfo;
      if (p.worldSize !== o.worldSize) {
        throw new DistributedError(op, `rank ${o.rank} has WORLD_SIZE=${o.worldSize} but rank ${r} (pid ${p.pid} on ${p.host}) has WORLD_SIZE=${p.worldSize}: every process must be started with the same WORLD_SIZE`);
      }
      peers[r] = p;
    }
    const missing = peers.flatMap((p, r) => (p === null ? [r] : []));
    if (missing.length === 0) break;
    if (Date.now() >= deadline) {
      throw new DistributedError(op, `rank ${o.rank}: ${missing.length === 1 ? "rank" : "ranks"} ${missing.join(", ")} of WORLD_SIZE=${o.worldSize} did not join ${storeAddress(o)} within ${seconds(o.timeoutMs)}`);
    }
    sleepMs(wait);
  }
  return peers as PeerInfo[];
}

const storeAddress = (o: Required<ProcessGroupOptions>): string => `${o.masterAddr}:${o.masterPort}`;

/**
 * A joined gloo process group. Collectives work in place on contiguous CPU tensors and block until
 * every rank has taken part (or the timeout). destroy() releases the group and the store.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  /** Every rank's announcement, in rank order. */
  readonly peers: readonly PeerInfo[];
  #store: StoreHandle | null;
  #group: GroupHandle | null;
  readonly #where: string;
  #shared = 0;

  /** Use initProcessGroup(). */
  constructor(store: StoreHandle, group: GroupHandle, o: Required<ProcessGroupOptions>, peers: PeerInfo[]) {
    this.#store = store;
    this.#group = group;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.timeoutMs = o.timeoutMs;
    this.peers = peers;
    this.#where = storeAddress(o);
  }

  get destroyed(): boolean {
    return this.#group === null;
  }

  /** Reduces each tensor over the ranks, in place ("avg": the sum divided by worldSize). */
  allReduce(tensors: Tensor[], op: ReduceOp = "sum"): void {
    const group = this.#live("allReduce");
    if (!(op in REDUCE_CODES) && op !== "avg") argError("allReduce", "op", `one of sum, avg, product, min, max`, op);
    this.#checkTensors("allReduce", tensors);
    this.#run("allReduce", () => native.allReduce(group, tensors.map((t) => t.handle), REDUCE_CODES[op === "avg" ? "sum" : op], this.timeoutMs));
    if (op === "avg") for (const t of tensors) t.div_(this.worldSize);
  }

  /** Every tensor takes rank `root`'s values, in place. */
  broadcast(tensors: Tensor[], root = 0): void {
    const group = this.#live("broadcast");
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) argError("broadcast", "root", `a rank from 0 to ${this.worldSize - 1}`, root);
    this.#checkTensors("broadcast", tensors);
    this.#run("broadcast", () => native.broadcast(group, tensors.map((t) => t.handle), root, this.timeoutMs));
  }

  /** Every rank's `t` (same shape and dtype on all ranks), in rank order; no gradient flows (see allGatherWithGrad). */
  allGather(t: Tensor): Tensor[] {
    const group = this.#live("allGather");
    this.#checkTensors("allGather", [t]);
    const handles = this.#run("allGather", () => native.allGather(group, t.handle, this.timeoutMs));
    return handles.map((h) => Tensor.fromHandle(h));
  }

  /** Returns once every rank has called barrier() (or throws after `timeoutMs`, default the group's). */
  barrier(timeoutMs = this.timeoutMs): void {
    const group = this.#live("barrier");
    this.#run("barrier", () => native.barrier(group, timeoutMs));
  }

  /**
   * Rank `root`'s text on every rank (through the store: small messages such as JSON). Every rank
   * calls it in the same order; root passes the text, the others anything (ignored). Waits up to
   * `timeoutMs` (default the group's) for root.
   */
  shareText(text: string | null, root = 0, timeoutMs = this.timeoutMs): string {
    this.#live("shareText");
    const store = this.#store!;
    const key = `gcrl/text/${this.#shared++}`;
    if (this.rank === root) {
      if (typeof text !== "string") argError("shareText", "text", "a string on the root rank", text);
      this.#run("shareText", () => native.storeSet(store, key, text));
      return text;
    }
    return this.#run("shareText", () => native.storeGet(store, key, timeoutMs));
  }

  /** Releases the group, then this rank's store connection (rank 0's store stops serving). Idempotent. */
  destroy(): void {
    if (this.#group !== null) native.groupDestroy(this.#group);
    if (this.#store !== null) native.storeClose(this.#store);
    this.#group = null;
    this.#store = null;
  }

  /**
   * Ranks on this host whose process has exited (for error messages; other hosts' ranks cannot be
   * told). `graceMs`: a peer's sockets close a moment before its process is gone, so look again for
   * up to this long while none has.
   */
  exitedPeers(graceMs = 0): PeerInfo[] {
    const here = hostname();
    const deadline = Date.now() + graceMs;
    for (;;) {
      const gone = this.peers.filter((p) => p.rank !== this.rank && p.host === here && !processAlive(p.pid));
      if (gone.length > 0 || Date.now() >= deadline) return gone;
      sleepMs(20);
    }
  }

  #live(op: string): GroupHandle {
    if (this.#group === null) throw new DistributedError(op, `rank ${this.rank}: the process group was destroyed`);
    return this.#group;
  }

  #checkTensors(op: string, tensors: Tensor[]): void {
    if (!Array.isArray(tensors)) argError(op, "tensors", "an array of tensors", tensors);
    for (const t of tensors) {
      if (!(t instanceof Tensor)) argError(op, "tensors", "an array of tensors", tensors);
      if (t.device !== "cpu") argError(op, "tensors", "CPU tensors (the gloo group is CPU-only)", t);
    }
  }

  #run<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const gone = this.exitedPeers(Math.min(1000, this.timeoutMs));
      const who = gone.length > 0 ? `; ${gone.map((p) => `rank ${p.rank} (pid ${p.pid})`).join(", ")} ${gone.length === 1 ? "has" : "have"} exited` : "";
      throw new DistributedError(op, `rank ${this.rank} of ${this.worldSize} (store ${this.#where}): ${message(err)}${who}`);
    }
  }
}

/** Whether a local process runs (a zombie, exited but not yet reaped by its parent, does not). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) said it exists
  }
}

/**
 * All-gather with autograd for a loss over the global batch (NT-Xent on every rank's projections):
 * the ranks' `t` ([n, …], same n everywhere) concatenated in rank order, [worldSize·n, …], where
 * only this rank's own slice is `t` itself (gradient flows into it) and the others are detached copies.
 *
 * Why that is enough. Let every rank compute the same loss L(z_0, …, z_{N−1}) from the gathered
 * projections, z_r = f_θ(x_r) being rank r's part. Backward on rank r yields
 *   g_r = (∂L/∂z_r)·(∂z_r/∂θ),
 * only its own part's path. The single-process gradient of L is the total derivative
 *   dL/dθ = Σ_r (∂L/∂z_r)·(∂z_r/∂θ) = Σ_r g_r,
 * the SUM of the ranks' parameter gradients: what torch.distributed.nn.all_gather's backward
 * (all-reduce-sum the incoming gradient, keep one's own slice) gives, then summed by DDP's reduce.
 * A data-parallel step that AVERAGES gradients (as it must for per-shard mean losses: the global
 * mean loss is (1/N)·Σ_r mean_r when shards are equal) must therefore back-propagate N·L on each
 * rank for a gathered-batch loss L: (1/N)·Σ_r N·g_r = dL/dθ (src/train/step-loop.ts does so).
 */
export function allGatherWithGrad(group: ProcessGroup, t: Tensor): Tensor {
  if (group.worldSize === 1) return t;
  const parts = group.allGather(t.detach().contiguous());
  parts[group.rank] = t;
  return cat(parts, 0);
}
