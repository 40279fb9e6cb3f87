// Hard metrics from confusion counts, with MONAI 1.5's semantics: DiceMetric,
// MeanIoU, GeneralizedDiceScore, and the per-class rates of
// ConfusionMatrixMetric (compute_sample: each item's rate, then the reduction).
import { DiceWasmError } from "../errors.js";
import { checkKeys, oneOf } from "../options.js";
import type { WasmVolume } from "../volume.js";
import { type ConfusionCounts, type CountOptions, countLabels, type LabelMap, type Prediction } from "./counts.js";

export type MetricReduction = "none" | "mean" | "mean_batch";

export interface MetricOptions {
  /** Keep class 0 (default true, as MONAI). */
  includeBackground?: boolean;
  /** NaN for a class absent from an item's target (default true, as MONAI); false scores it 1 when the prediction is empty too, else 0. */
  ignoreEmpty?: boolean;
  /**
   * 'none': a Float64Array [B, C'] (row-major), NaN where undefined; 'mean' (default): per item the mean
   * over its classes that are not NaN, then the mean over the items that have one, 0 when none has (MONAI's
   * do_metric_reduction); 'mean_batch': per class the mean over the items where it is not NaN, [C'].
   */
  reduction?: MetricReduction;
}

export interface GeneralizedDiceOptions extends Omit<MetricOptions, "ignoreEmpty"> {
  /** Class weights from the target volume: 'square' 1/(Σg)² (default), 'simple' 1/Σg, 'uniform' 1. */
  weightType?: "square" | "simple" | "uniform";
}

export const RATES = ["sensitivity", "specificity", "precision", "negativePredictiveValue", "f1", "accuracy"] as const;
export type Rate = (typeof RATES)[number];

/** Counts, or the prediction (labels or scores) and the target label map, and their geometry to count. */
type Input<O> = [ConfusionCounts, O?] | [Prediction | WasmVolume, LabelMap | WasmVolume, O & CountOptions];

function fail(fn: string, message: string): never {
  throw new DiceWasmError("INVALID_OPTION", `${fn}: ${message}`);
}

/** The counts and the options, from either calling form. */
function countsOf<O extends object>(fn: string, args: Input<O>): { counts: ConfusionCounts; options: O } {
  const [first, second, third] = args as [unknown, unknown, unknown];
  if (first && typeof first === "object" && "tp" in first) {
    return { counts: first as ConfusionCounts, options: (second ?? {}) as O };
  }
  const options = (third ?? {}) as O & CountOptions;
  const { shape, numClasses, ignoreIndex, argmax, layout, ...rest } = options;
  const counted = { shape, numClasses, ignoreIndex, argmax, layout };
  return { counts: countLabels(fn, first as Prediction, second as LabelMap, counted), options: rest as O };
}

function optionsOf(fn: string, o: MetricOptions & { weightType?: string }, keys: string[]) {
  checkKeys(fn, o, keys); // unknown names (with the closest known one), includeBackground a switch
  if (o.ignoreEmpty !== undefined && typeof o.ignoreEmpty !== "boolean") {
    fail(fn, `ignoreEmpty must be true or false, got ${JSON.stringify(o.ignoreEmpty)}.`);
  }
  const reduction = oneOf(fn, "reduction", o.reduction, ["none", "mean", "mean_batch"] as const, "mean");
  return { includeBackground: o.includeBackground ?? true, ignoreEmpty: o.ignoreEmpty ?? true, reduction };
}

/**
 * `score(tp, fp, fn)` per item and kept class where the target has the class; where it has not,
 * MONAI's rule for Dice and IoU alike: NaN (ignoreEmpty), else 1 if the prediction is empty too, else 0.
 */
function overlapMetric(
  fn: string,
  args: Input<MetricOptions>,
  score: (tp: number, fp: number, fn: number) => number,
): number | Float64Array {
  const { counts, options } = countsOf(fn, args);
  const o = optionsOf(fn, options, ["includeBackground", "ignoreEmpty", "reduction"]);
  const { tp, fp, fn: fn_ } = counts;
  const values = perClass(counts, o.includeBackground, (i) => {
    if (tp[i]! + fn_[i]! > 0) return score(tp[i]!, fp[i]!, fn_[i]!);
    return o.ignoreEmpty ? Number.NaN : fp[i]! > 0 ? 0 : 1; // tp is 0 here: the prediction is fp alone
  });
  return reduceMetric(values, counts.B, o.reduction);
}

/** Per (item, kept class) values of f(counts at i), [B, C'] row-major; the first class dropped without background. */
function perClass(counts: ConfusionCounts, includeBackground: boolean, f: (i: number) => number): Float64Array {
  const first = includeBackground || counts.C === 1 ? 0 : 1;
  const kept = counts.C - first;
  const out = new Float64Array(counts.B * kept);
  for (let b = 0; b < counts.B; b++) for (let c = 0; c < kept; c++) out[b * kept + c] = f(b * counts.C + c + first);
  return out;
}

/** MONAI's do_metric_reduction over [B, K] values with NaN. */
export function reduceMetric(values: Float64Array, B: number, reduction: MetricReduction): number | Float64Array {
  if (reduction === "none") return values;
  const K = B ? values.length / B : 0;
  const nanMean = (xs: number[]) => {
    const kept = xs.filter((x) => !Number.isNaN(x));
    return kept.length ? kept.reduce((a, x) => a + x, 0) / kept.length : Number.NaN;
  };
  const row = (b: number) => Array.from(values.subarray(b * K, (b + 1) * K));
  if (reduction === "mean_batch") {
    return Float64Array.from({ length: K }, (_, k) => {
      const mean = nanMean(Array.from({ length: B }, (_, b) => values[b * K + k]!));
      return Number.isNaN(mean) ? 0 : mean;
    });
  }
  const items = Array.from({ length: B }, (_, b) => nanMean(row(b)));
  const mean = nanMean(items);
  return Number.isNaN(mean) ? 0 : mean;
}

/**
 * Hard Dice per item and class, MONAI's DiceMetric: 2·tp / (|target| + |prediction|);
 * a class absent from the target is NaN (ignoreEmpty), or 1 if the prediction is empty too, else 0.
 *
 * @example
 * const dice = diceMetric(predicted, truth, { shape: [1, 96, 96, 96], numClasses: 4, reduction: "mean_batch" });
 */
export function diceMetric(counts: ConfusionCounts, options?: MetricOptions): number | Float64Array;
export function diceMetric(
  prediction: Prediction | WasmVolume,
  target: LabelMap | WasmVolume,
  options: MetricOptions & CountOptions,
): number | Float64Array;
export function diceMetric(...args: Input<MetricOptions>): number | Float64Array {
  return overlapMetric("diceMetric", args, (tp, fp, fn) => (2 * tp) / (2 * tp + fp + fn));
}

/** Hard IoU per item and class, MONAI's MeanIoU: tp / (tp + fp + fn), empty targets as in diceMetric. */
export function meanIoU(counts: ConfusionCounts, options?: MetricOptions): number | Float64Array;
export function meanIoU(
  prediction: Prediction | WasmVolume,
  target: LabelMap | WasmVolume,
  options: MetricOptions & CountOptions,
): number | Float64Array;
export function meanIoU(...args: Input<MetricOptions>): number | Float64Array {
  return overlapMetric("meanIoU", args, (tp, fp, fn) => tp / (tp + fp + fn));
}

/**
 * MONAI's GeneralizedDiceScore: per item Σ_c w_c·2·tp_c / Σ_c w_c·(|target_c| + |prediction_c|), with
 * w from the target volumes (an infinite weight, of an absent class, becomes the item's largest finite
 * one, 0 if none); 1 where the denominator is 0 and the prediction empty, else 0. Reduction 'mean' sums
 * over classes first (one score per item); 'none' and 'mean_batch' keep the classes apart.
 */
export function generalizedDiceScore(counts: ConfusionCounts, options?: GeneralizedDiceOptions): number | Float64Array;
export function generalizedDiceScore(
  prediction: Prediction | WasmVolume,
  target: LabelMap | WasmVolume,
  options: GeneralizedDiceOptions & CountOptions,
): number | Float64Array;
export function generalizedDiceScore(...args: Input<GeneralizedDiceOptions>): number | Float64Array {
  const fn = "generalizedDiceScore";
  const { counts, options } = countsOf(fn, args);
  const o = optionsOf(fn, options, ["includeBackground", "reduction", "weightType"]);
  const weightType = oneOf(fn, "weightType", options.weightType, ["square", "simple", "uniform"] as const, "square");
  const first = o.includeBackground || counts.C === 1 ? 0 : 1;
  const K = counts.C - first;
  const sumOverClasses = o.reduction === "mean";
  const out = new Float64Array(counts.B * (sumOverClasses ? 1 : K));
  for (let b = 0; b < counts.B; b++) {
    const at = (k: number) => b * counts.C + k + first;
    const truth = Array.from({ length: K }, (_, k) => counts.tp[at(k)]! + counts.fn[at(k)]!);
    const predicted = Array.from({ length: K }, (_, k) => counts.tp[at(k)]! + counts.fp[at(k)]!);
    let w = truth.map((t) => (weightType === "simple" ? 1 / t : weightType === "square" ? 1 / (t * t) : 1));
    const finite = w.filter(Number.isFinite);
    const largest = finite.length ? Math.max(...finite) : 0;
    w = w.map((x) => (Number.isFinite(x) ? x : largest));
    const numer = w.map((x, k) => 2 * x * counts.tp[at(k)]!);
    const denom = w.map((x, k) => x * (truth[k]! + predicted[k]!));
    const score = (n: number, d: number, p: number) => (d === 0 ? (p === 0 ? 1 : 0) : n / d);
    if (sumOverClasses) {
      const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
      out[b] = score(sum(numer), sum(denom), sum(predicted));
    } else {
      for (let k = 0; k < K; k++) out[b * K + k] = score(numer[k]!, denom[k]!, predicted[k]!);
    }
  }
  return reduceMetric(out, counts.B, o.reduction);
}

const RATE: Record<Rate, (tp: number, fp: number, fn: number, tn: number) => [number, number]> = {
  sensitivity: (tp, _fp, fn) => [tp, tp + fn],
  specificity: (_tp, fp, _fn, tn) => [tn, tn + fp],
  precision: (tp, fp) => [tp, tp + fp],
  negativePredictiveValue: (_tp, _fp, fn, tn) => [tn, tn + fn],
  f1: (tp, fp, fn) => [2 * tp, 2 * tp + fp + fn],
  accuracy: (tp, fp, fn, tn) => [tp + tn, tp + fp + fn + tn],
};

/**
 * One of MONAI ConfusionMatrixMetric's rates per item and class (NaN where its denominator is 0), as with
 * compute_sample=True: each item's rate, then the reduction.
 */
export function confusionMetric(
  counts: ConfusionCounts,
  rate: Rate,
  options?: Omit<MetricOptions, "ignoreEmpty">,
): number | Float64Array {
  const fn = "confusionMetric";
  if (!RATES.includes(rate)) fail(fn, `rate must be one of ${RATES.join(", ")}, got ${JSON.stringify(rate)}.`);
  const o = optionsOf(fn, options ?? {}, ["includeBackground", "reduction"]);
  const values = perClass(counts, o.includeBackground, (i) => {
    const [numer, denom] = RATE[rate](counts.tp[i]!, counts.fp[i]!, counts.fn[i]!, counts.tn[i]!);
    return denom === 0 ? Number.NaN : numer / denom;
  });
  return reduceMetric(values, counts.B, o.reduction);
}
