// The gcrl package. The tensor engine is exported as a namespace (`import { torch } from "gcrl"`)
// and also at the top level for convenience.
export * as torch from "./torch/index.ts";
// The GCRL model (docs/model.md) and its objectives.
export * from "./model/index.ts";
export { generativeLoss, generativeScale, natsToBitsPerDim, ntXentLoss, hybridLoss, OBJECTIVE_DEFAULTS, GENERATIVE_REDUCTIONS, type GenerativeReduction, type NtXentResult, type ObjectiveMode, type ObjectiveConfig, type HybridLossResult } from "./train/objectives.ts";
// Training (docs/training.md): run configs (docs/configs.md), the trainer, run folders, kNN.
export { RUN_DEFAULTS, type RunConfig, type ModelSection, type DataSection, type PaletteSection, type AugmentSection, type ObjectiveSection, type OptimSection, type BudgetSection, type TrainSection } from "./train/run-config.ts";
export { resolveRunConfig, loadRunConfigFile, applyOverrides, RunConfigError } from "./train/run-config-validate.ts";
export { train, readRunConfigFile, NonFiniteLossError, type TrainOptions, type TrainProgress, type RunResult, type RunStatus, type RunConfigFile } from "./train/trainer.ts";
export { loadRun, type LoadedRun, type LoadRunOptions } from "./train/load-run.ts";
export { RUN_FILES, RunFolderError, readMetrics, type MetricsRecord } from "./train/run-folder.ts";
export { acquireRunLock, readRunLock, RunLockError, type RunLock, type LockHolder } from "./train/run-lock.ts";
export { checkTrainingMemory, MemoryGuardError, type MemoryCheck } from "./train/memory-guard.ts";
export { estimateTrainingMemory, type MemoryEstimate, type MemoryEstimateInput } from "./train/memory-estimate.ts";
export type { TrainMetrics, EvalMetrics, BestMetric } from "./train/checkpoint.ts";
export { knnPredict, knnAccuracy, KNN_DEFAULTS, type KnnOptions } from "./metrics/knn.ts";
export { PaletteQuantizer } from "./data/palette.ts";
// Evaluation (docs/evaluation.md): the whole of `gcrl eval` on a run folder, and its parts.
export { RunEvaluation, type RunEvaluationOptions, isNotApplicable, OOD_SCORE_INFO, type NotApplicable, type ProbeResult, type KnnResult, type LikelihoodResult, type FidResult, type OodScores, type OodScoreName, type OodScoreResult } from "./eval/run-evaluation.ts";
export { readEvalReport, type EvalReport } from "./eval/eval-report.ts";
export { EVAL_DEFAULTS, defaultOodDataset, type EvalSettings } from "./eval/eval-settings.ts";
export * from "./eval/features.ts";
export { imageBitsPerDim } from "./eval/likelihood.ts";
export { EvalCache, weightsFingerprint, type CacheKey } from "./eval/eval-cache.ts";
export { fitLinearProbe, LinearProbe, PROBE_DEFAULTS, type ProbeOptions, type ProbeFit } from "./eval/linear-probe.ts";
export { sampleTokens, sampleTokensNaive, completeTokens, maskedImages, completionGridRows, type SampleOptions } from "./eval/sampling.ts";
export { gaussianFit, frechetDistance, fid, type GaussianFit } from "./eval/fid.ts";
export { kernelInceptionDistance, type KidResult } from "./eval/kid.ts";
export { FidNet, trainFidNet, saveFidNet, loadFidNet, type FidNetConfig, type FidNetInfo } from "./eval/fid-net.ts";
export { InceptionFeatures } from "./eval/inception.ts";
export { oodMetrics, auroc, averagePrecision, fprAtTpr, rocCurve, type OodMetrics, type RocCurve } from "./eval/ood-metrics.ts";
export { typicalityScores, complexityCorrectedScores, maxSoftmaxScores, energyScores, knnDistanceScores } from "./eval/ood-scores.ts";
export { MahalanobisScorer, ClassConditionalMahalanobis } from "./eval/mahalanobis.ts";
export { complexityBitsPerDim, type Compressor } from "./eval/complexity.ts";
// Reports: image grids, PNG, SVG charts, Markdown/HTML documents, plain-text tables.
export { imageGrid } from "./report/grid.ts";
export { writePng } from "./report/png.ts";
export { histogramSvg, rocSvg, lineChartSvg } from "./report/chart-svg.ts";
export { writeSvgPng } from "./report/svg-png.ts";
export { toMarkdown, toHtml, writeReport, type Block, type ReportDocument } from "./report/document.ts";
// `gcrl eval all` (docs/evaluation.md): every stage of a RunEvaluation, then eval.json, report.md/html and figures.
export { evaluateAll } from "./report/eval-all.ts";
// The study (docs/study.md): GCRL vs iGPT vs SimCLR with one budget, and sweeps.
export { runStudy, StudyError, type StudyOptions, type StudyResult } from "./study/study-runner.ts";
export type { StudyState } from "./study/study-state.ts";
export { planStudy, parseDuration, STUDY_EVAL_DEFAULTS, STUDY_MODES, type StudySettings, type StudyRunPlan, type StudySweep } from "./study/study-plan.ts";
export { writeStudyReport, type StudyReport, type StudyRow } from "./study/study-report.ts";
