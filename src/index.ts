// The gcrl package. The tensor engine is exported as a namespace (`import { torch } from "gcrl"`)
// and also at the top level for convenience.
export * as torch from "./torch/index.ts";
// The GCRL model (docs/model.md) and its objectives.
export * from "./model/index.ts";
export { generativeLoss, natsToBitsPerDim, ntXentLoss, hybridLoss, OBJECTIVE_DEFAULTS, type NtXentResult, type ObjectiveMode, type ObjectiveConfig, type HybridLossResult } from "./train/objectives.ts";
// Training (docs/training.md): run configs (docs/configs.md), the trainer, run folders, kNN.
export { RUN_DEFAULTS, type RunConfig, type ModelSection, type DataSection, type PaletteSection, type AugmentSection, type ObjectiveSection, type OptimSection, type BudgetSection, type TrainSection } from "./train/run-config.ts";
export { resolveRunConfig, loadRunConfigFile, applyOverrides, RunConfigError } from "./train/run-config-validate.ts";
export { train, readRunConfigFile, NonFiniteLossError, type TrainOptions, type TrainProgress, type RunResult, type RunStatus, type RunConfigFile } from "./train/trainer.ts";
export { loadRun, type LoadedRun, type LoadRunOptions } from "./train/load-run.ts";
export { RUN_FILES, RunFolderError, readMetrics, type MetricsRecord } from "./train/run-folder.ts";
export type { TrainMetrics, EvalMetrics, BestMetric } from "./train/checkpoint.ts";
export { knnPredict, knnAccuracy, KNN_DEFAULTS, type KnnOptions } from "./train/knn.ts";
export { PaletteQuantizer } from "./data/palette.ts";
