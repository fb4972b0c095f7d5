// The typed tensor engine over libtorch: tensors, autograd, memory scopes, modules, optimizers, files.
export { Tensor, atenOp as op, type Scalar, type TensorOrScalar, type ValuesIndices } from "./tensor.ts";
export { DTYPES, type DType, type Device, type TypedArrayFor, type AnyTypedArray } from "./dtype.ts";
export * from "./create.ts";
export * from "./functional.ts";
export * as linalg from "./linalg.ts";
export { noGrad, enableGrad, isGradEnabled, backward } from "./autograd.ts";
export { tidy, keep, dispose } from "./scope.ts";
export { TorchError } from "./errors.ts";
export { opSchema } from "./dispatch.ts";
export * from "./runtime.ts";
export { DEFAULT_COMPUTE, resolveCompute, bf16Supported, linearKernel, linearChunked, attentionFused, attentionVariant, fusedAttentionApplies, matmulKernel, widenBf16, LINEAR_CHUNK_ROWS, setCpuCache, cpuCacheStats, withCpuCache, withCpuCacheSync, blasThreads, setBlasThreads, setFp32Gemm, fp32GemmReport, fp32Mm, CPU_CACHE_BYTES, type CpuCacheStats, type LinearChunkedOptions, type Fp32GemmMode, type Fp32GemmRoute, type Fp32GemmChoice, type Fp32GemmReport, type KernelPath, type MatmulPrecision, type ComputeOptions } from "./kernels.ts";
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, readSafetensorsHeader, SafetensorsError, MAX_HEADER_BYTES, type SafetensorsContents, type SafetensorsDType, type SafetensorsEntry, type SafetensorsHeader, type LoadSafetensorsOptions, type TensorCollection } from "./safetensors.ts";
export * as jit from "./jit.ts";
export * from "./nn/index.ts";
export * from "./optim/index.ts";
export { initProcessGroup, allGatherWithGrad, distributedAvailable, ProcessGroup, DistributedError, DEFAULT_DISTRIBUTED_TIMEOUT_MS, type ProcessGroupOptions, type PeerInfo, type ReduceOp } from "./distributed.ts";
