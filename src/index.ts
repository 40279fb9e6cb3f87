export { init, backend, simdSupported, type Backend, type InitOptions } from "./runtime.js";
export { diceLoss, tverskyLoss, generalizedDiceLoss, type LossResult } from "./losses.js";
export { overlapStats, mergeStats, type OverlapStats } from "./stats.js";
export { createVolume, WasmVolume, type VolumeDtype } from "./volume.js";
export { DiceWasmError, type DiceWasmErrorCode } from "./errors.js";
export type {
  DataOptions,
  DiceOptions,
  GeneralizedDiceOptions,
  Layout,
  LossOptions,
  Prediction,
  Reduction,
  Target,
  TverskyOptions,
} from "./options.js";
