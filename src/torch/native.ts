// Loads the native binding (native/build/Release/gcrl_native.node) and declares its raw surface.
// Everything here deals in opaque handles; src/torch/tensor.ts is the safe, typed face.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** An opaque native tensor reference (a tagged N-API External). */
export type Handle = { readonly __handle: unique symbol };
/** An opaque TorchScript module reference. */
export type ModuleHandle = { readonly __module: unique symbol };

/** An opaque c10d TCPStore reference (distributed.ts). */
export type StoreHandle = { readonly __store: unique symbol };
/** An opaque c10d gloo process-group reference (distributed.ts). */
export type GroupHandle = { readonly __group: unique symbol };
/** Which network device gloo binds: an address or hostname, a network interface, or libtorch's default. */
export type GlooDeviceSpec = { hostname: string } | { interface: string } | Record<string, never>;

/** What an operator call may return: handles, numbers, booleans, strings, null, or arrays of them. */
export type NativeValue = Handle | number | boolean | string | null | NativeValue[] | { [key: string]: NativeValue };

export interface NativeBinding {
  resolve(name: string, overload: string): number;
  schema(id: number): string;
  call(id: number, args: unknown[], discard?: boolean): NativeValue | undefined;
  fromBytes(bytes: Uint8Array, shape: number[], dtype: number): Handle;
  toBytes(h: Handle): ArrayBuffer;
  sharedBytes(h: Handle): ArrayBuffer;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  /** [dtype code, shape, device, requiresGrad] */
  meta(h: Handle): [number, number[], string, boolean];
  shape(h: Handle): number[];
  dtype(h: Handle): number;
  setRequiresGrad(h: Handle, on: boolean): void;
  isLeaf(h: Handle): boolean;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  retainGrad(h: Handle): void;
  backward(outputs: Handle[], grads: Handle[] | null, retainGraph: boolean, createGraph: boolean): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number | bigint): void;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  buildInfo(): { version: string; config: string; parallel: string; mkldnn: boolean; mkldnnBf16: boolean };
  jitLoad(path: string, device?: string): ModuleHandle;
  jitForward(m: ModuleHandle, args: unknown[]): NativeValue;
  jitSetTraining(m: ModuleHandle, training: boolean): void;
  jitParameters(m: ModuleHandle): [string, Handle][];
  jitDispose(m: ModuleHandle): void;
  // c10d (native/binding/distributed.cc). Timeouts in milliseconds; every call blocks until done or timed out.
  /** False when the binding was built without gloo's headers. */
  distributedAvailable(): boolean;
  storeCreate(host: string, port: number, isMaster: boolean, worldSize: number, timeoutMs: number): StoreHandle;
  storePort(s: StoreHandle): number;
  storeSet(s: StoreHandle, key: string, value: string): void;
  storeGet(s: StoreHandle, key: string, timeoutMs: number): string;
  storeAdd(s: StoreHandle, key: string, delta: number): number;
  storeCheck(s: StoreHandle, keys: string[]): boolean;
  storeClose(s: StoreHandle): void;
  groupCreate(s: StoreHandle, rank: number, worldSize: number, timeoutMs: number, device: GlooDeviceSpec): GroupHandle;
  groupDestroy(g: GroupHandle): void;
  /** In place; op: c10d::ReduceOp code (0 sum, 2 product, 3 min, 4 max). */
  allReduce(g: GroupHandle, tensors: Handle[], op: number, timeoutMs: number): void;
  broadcast(g: GroupHandle, tensors: Handle[], root: number, timeoutMs: number): void;
  allGather(g: GroupHandle, t: Handle, timeoutMs: number): Handle[];
  barrier(g: GroupHandle, timeoutMs: number): void;
}

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [
  join(here, "..", "..", "native", "build", "Release", "gcrl_native.node"),
  join(here, "..", "..", "..", "native", "build", "Release", "gcrl_native.node"),
];

function load(): NativeBinding {
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      "gcrl: the native binding is not built (native/build/Release/gcrl_native.node is missing).\n" +
        "  Build it with:  npm run build:native\n" +
        "  It needs libtorch: on Debian `sudo apt-get install -y libtorch-dev libopenblas0-pthread`,\n" +
        "  or LIBTORCH=/path/to/unpacked/libtorch for an upstream (e.g. CUDA) build.",
    );
  }
  // OpenMP threads that spin while waiting make small ops 10-30x slower as soon as another
  // process wants a core (measured on 2 cores); sleeping waiters cost little on large ops.
  // libgomp reads this when the binding loads it, so it must be set before require().
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  // libtorch's c10d logs its errors through glog on stderr as well as throwing them; gcrl reports
  // each error once, in its own words (src/torch/distributed.ts). GLOG_minloglevel=0 shows them.
  process.env.GLOG_minloglevel ??= "3";
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeBinding;
  } catch (err) {
    throw new Error(
      `gcrl: could not load the native binding ${path}: ${(err as Error).message}\n` +
        "  If libtorch was moved or upgraded, rebuild with:  node scripts/build-native.mjs --force",
    );
  }
}

export const native: NativeBinding = load();

// libtorch's default thread count is 1 in some set-ups here: start with one thread per core
// unless GCRL_NUM_THREADS says otherwise.
const requestedThreads = Number(process.env.GCRL_NUM_THREADS ?? "");
native.setNumThreads(Number.isInteger(requestedThreads) && requestedThreads > 0 ? requestedThreads : availableParallelism());
