// Optimizers, gradient clipping and learning-rate schedules.
export { Optimizer, type GroupOptions, type ParamGroup, type ParamGroupSpec, type ParamsSpec, type ParamState, type StateLayout, type OptimizerState, type OptimizerStateJson } from "./optimizer.ts";
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions } from "./adamw.ts";
export { SGD, type SGDOptions } from "./sgd.ts";
export { LBFGS, cubicInterpolate, type LBFGSOptions, type LBFGSGroup } from "./lbfgs.ts";
export { clipGradNorm, type ClipGradNormOptions } from "./clip-grad-norm.ts";
export { warmupCosine, type WarmupCosineOptions } from "./schedule.ts";
export { weightDecayGroups, type WeightDecayGroup } from "./weight-decay-groups.ts";
