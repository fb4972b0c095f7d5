// The GCRL model: config, blocks and the encoder–decoder network.
export { MODEL_DEFAULTS, ModelConfigError, resolveModelConfig, validateModelConfig, type ModelConfig, type AttentionKind, type GeluApproximate } from "./config.ts";
export { multiHeadAttention, causalMask, type AttentionOptions } from "./attention.ts";
export { TransformerBlock, type BlockAxis } from "./block.ts";
export { ProjectionHead, Relu } from "./projection-head.ts";
export { shiftRight, shiftDown, shiftRaster } from "./shift.ts";
export { GCRLModel, type EncodeResult, type ForwardOptions, type ForwardResult } from "./gcrl-model.ts";
export { KVCache } from "./kv-cache.ts";
export { IncrementalDecoder } from "./incremental.ts";
