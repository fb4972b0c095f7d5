// The gcrl package. The tensor engine is exported as a namespace (`import { torch } from "gcrl"`)
// and also at the top level for convenience.
export * as torch from "./torch/index.ts";
// The GCRL model (docs/model.md) and its objectives.
export * from "./model/index.ts";
export { generativeLoss, natsToBitsPerDim, ntXentLoss, hybridLoss, OBJECTIVE_DEFAULTS, type NtXentResult, type ObjectiveMode, type ObjectiveConfig, type HybridLossResult } from "./train/objectives.ts";
