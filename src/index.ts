export { type DiagnosisCode, diagnose, type Finding, type Severity } from "./diagnose.js";
export { DiceWasmError, type DiceWasmErrorCode } from "./errors.js";
export { type FocalOptions, focalLoss } from "./focal.js";
export {
  diceCELoss,
  diceFocalLoss,
  diceLoss,
  generalizedDiceFocalLoss,
  generalizedDiceLoss,
  type LossResult,
  tverskyLoss,
} from "./losses.js";
export {
  type ConfusionCounts,
  type CountOptions,
  confusionCounts,
  type LabelMap,
  mergeCounts,
} from "./metrics/counts.js";
export {
  confusionMetric,
  diceMetric,
  type GeneralizedDiceOptions as GeneralizedDiceScoreOptions,
  generalizedDiceScore,
  type MetricOptions,
  type MetricReduction,
  meanIoU,
  RATES,
  type Rate,
} from "./metrics/scores.js";
export type {
  DataOptions,
  DiceCEOptions,
  DiceFocalOptions,
  DiceOptions,
  GeneralizedDiceFocalOptions,
  GeneralizedDiceOptions,
  IgnoreOptions,
  Layout,
  LossOptions,
  Prediction,
  Reduction,
  Target,
  TverskyOptions,
} from "./options.js";
export { comparePrecision, type PrecisionMethod, type PrecisionReport } from "./precision.js";
export {
  type Backend,
  backend,
  type InitOptions,
  init,
  simdSupported,
} from "./runtime.js";
export { mergeStats, type OverlapStats, overlapStats } from "./stats.js";
export { createVolume, type VolumeDtype, WasmVolume } from "./volume.js";
export type { LossWarning, WarningCode } from "./warnings.js";
