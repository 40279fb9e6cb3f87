// The public losses: resolve options, pass 1 (statistics), the float64 algebra,
// and pass 2 (gradient) when asked.
import {
  generalizedDice,
  kernelCoefficients,
  type Partials,
  type RatioForm,
  type Reduced,
  ratioLoss,
  reduceStats,
} from "./algebra.js";
import { DiceWasmError } from "./errors.js";
import {
  checkKeys,
  type DiceOptions,
  finiteNumber,
  type GeneralizedDiceOptions,
  KNOWN_KEYS,
  type LossOptions,
  MODE_SOFT,
  oneOf,
  type Prediction,
  type Problem,
  type Source,
  type Target,
  type TverskyOptions,
} from "./options.js";
import { computeGradient } from "./passes.js";
import { measure } from "./stats.js";
import { WasmVolume } from "./volume.js";

/** What every loss returns. */
export interface LossResult<L extends number | Float64Array = number | Float64Array> {
  /** The loss: a number for 'mean'/'sum'; for 'none' one value per (batch item, class), or per batch item for generalized Dice. */
  loss: L;
  /** d(loss)/d(prediction) in the prediction's shape and layout (of the summed loss for 'none'), when `grad` was asked. */
  grad?: Float32Array;
  /** Options that were ignored, as MONAI warns (for example softmax with one class). */
  warnings: string[];
}

interface Common {
  problem: Problem;
  reduced: Reduced;
  smoothNr: number;
  smoothDr: number;
  reduction: "mean" | "sum" | "none";
}

function prepare(
  fn: string,
  input: Prediction,
  target: Target,
  options: LossOptions & { squaredPred?: boolean },
  known: string[],
): Common {
  checkKeys(fn, options, known);
  const smoothNr = finiteNumber(fn, "smoothNr", options.smoothNr, 1e-5);
  const smoothDr = finiteNumber(fn, "smoothDr", options.smoothDr, 1e-5);
  const reduction = oneOf(fn, "reduction", options.reduction, ["mean", "sum", "none"] as const, "mean");
  const { problem, raw } = measure(fn, input, target, options);
  const { B, C } = problem;
  const includeBackground = options.includeBackground ?? true;
  if (!includeBackground && C === 1)
    problem.warnings.push("single channel prediction, `includeBackground: false` ignored.");
  const reduced = reduceStats(raw, B, C, includeBackground, Boolean(options.batch), problem.target.kind === "label");
  return { problem, reduced, smoothNr, smoothDr, reduction };
}

/** Where to write the gradient: the caller's array or volume, or a fresh array. */
function gradTarget(fn: string, grad: LossOptions["grad"], length: number): Source<Float32Array> | undefined {
  if (!grad) return undefined;
  if (grad === true) return { array: new Float32Array(length), ptr: undefined };
  const array = grad instanceof WasmVolume ? grad.array : grad;
  if (!(array instanceof Float32Array) || array.length !== length) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: grad must be true, or a Float32Array (or float32 volume) of the prediction's ${length} elements.`,
    );
  }
  return grad instanceof WasmVolume ? { array, ptr: grad.byteOffset } : { array, ptr: undefined };
}

/**
 * Reduces the per-item losses and, when asked, runs the backward pass. An item
 * is a (row, class) or, for generalized Dice, a row; `classWeight(j)` scales
 * the partials of kept class j (Dice's `weight`, else 1).
 */
function finish(
  fn: string,
  common: Common,
  items: Float64Array,
  partials: Partials,
  classWeight: (j: number) => number,
  grad: LossOptions["grad"],
): LossResult {
  const { problem, reduced, reduction } = common;
  const perItem = reduction === "mean" ? 1 / items.length : 1;
  const loss = reduction === "none" ? items : items.reduce((a, b) => a + b, 0) * perItem;
  const result: LossResult = { loss, warnings: problem.warnings };
  const out = gradTarget(fn, grad, problem.input.array.length);
  if (out) {
    const scale = new Float64Array(reduced.rows * reduced.C);
    for (let i = 0; i < scale.length; i++) scale[i] = perItem * classWeight(i % reduced.C);
    const coef = kernelCoefficients(reduced, partials, scale, problem.B, problem.C, problem.mode === MODE_SOFT);
    computeGradient(problem, coef, out);
    result.grad = out.array;
  }
  return result;
}

function classWeights(fn: string, weight: DiceOptions["weight"], C: number): Float64Array | undefined {
  if (weight === undefined || C === 1) return undefined; // MONAI ignores weights for one class
  const list = typeof weight === "number" ? Array(C).fill(weight) : weight;
  if (!Array.isArray(list) || list.length !== C) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: weight needs one number per class kept (${C}); with includeBackground: false, leave out class 0.`,
      { expected: C, actual: Array.isArray(list) ? list.length : undefined },
    );
  }
  for (const w of list) {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new DiceWasmError("INVALID_OPTION", `${fn}: weights must be finite numbers ≥ 0, got ${String(w)}.`);
    }
  }
  return Float64Array.from(list);
}

/**
 * Soft Dice loss (or Jaccard, or the squared-denominator V-Net form), MONAI's
 * DiceLoss semantics, computed in one fused pass with compensated sums.
 *
 * @example
 * await init();
 * const { loss, grad } = diceLoss(logits, labels, {
 *   shape: [2, 64, 64, 64, 3], softmax: true, toOnehotY: true, grad: true,
 * });
 */
export function diceLoss(
  input: Prediction,
  target: Target,
  options: DiceOptions & { reduction: "none" },
): LossResult<Float64Array>;
export function diceLoss(input: Prediction, target: Target, options: DiceOptions): LossResult<number>;
export function diceLoss(input: Prediction, target: Target, options: DiceOptions): LossResult {
  const fn = "diceLoss";
  const common = prepare(fn, input, target, options, KNOWN_KEYS.dice);
  const squared = Boolean(options.squaredPred);
  const scale = options.jaccard ? 2 : 1;
  const form: RatioForm = squared
    ? { tau: 2, alpha: 0, beta: 0, sigma: scale }
    : { tau: 2, alpha: scale, beta: scale, sigma: 0 };
  const partials = ratioLoss(common.reduced, form, common.smoothNr, common.smoothDr);
  const weights = classWeights(fn, options.weight, common.reduced.C);
  const items = weights ? partials.f.map((f, i) => f * weights[i % weights.length]!) : partials.f;
  return finish(fn, common, items, partials, (j) => weights?.[j] ?? 1, options.grad);
}

/**
 * Tversky loss (Salehi et al. 2017): α weighs false positives, β false
 * negatives; α = β = 0.5 is Dice. MONAI's TverskyLoss semantics.
 *
 * @example
 * const { loss } = tverskyLoss(probs, mask, { shape: [1, 2, 128, 128], layout: "channels-first", alpha: 0.3, beta: 0.7 });
 */
export function tverskyLoss(
  input: Prediction,
  target: Target,
  options: TverskyOptions & { reduction: "none" },
): LossResult<Float64Array>;
export function tverskyLoss(input: Prediction, target: Target, options: TverskyOptions): LossResult<number>;
export function tverskyLoss(input: Prediction, target: Target, options: TverskyOptions): LossResult {
  const fn = "tverskyLoss";
  const alpha = finiteNumber(fn, "alpha", options?.alpha, 0.5);
  const beta = finiteNumber(fn, "beta", options?.beta, 0.5);
  if (alpha < 0 || beta < 0) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: alpha and beta must be ≥ 0 (they weigh false positives and negatives), got alpha ${alpha}, beta ${beta}.`,
    );
  }
  const common = prepare(fn, input, target, options, KNOWN_KEYS.tversky);
  const partials = ratioLoss(common.reduced, { tau: 1, alpha, beta, sigma: 0 }, common.smoothNr, common.smoothDr);
  return finish(fn, common, partials.f, partials, () => 1, options.grad);
}

/**
 * Generalized Dice loss (Sudre et al. 2017): classes weighted by 1/(Σg)², so
 * small structures count as much as large ones. MONAI's GeneralizedDiceLoss
 * semantics; 'none' gives one value per batch item ([1] with `batch`).
 *
 * @example
 * const { loss } = generalizedDiceLoss(logits, labels, { shape: [1, 96, 96, 96, 4], softmax: true, toOnehotY: true });
 */
export function generalizedDiceLoss(
  input: Prediction,
  target: Target,
  options: GeneralizedDiceOptions & { reduction: "none" },
): LossResult<Float64Array>;
export function generalizedDiceLoss(
  input: Prediction,
  target: Target,
  options: GeneralizedDiceOptions,
): LossResult<number>;
export function generalizedDiceLoss(input: Prediction, target: Target, options: GeneralizedDiceOptions): LossResult {
  const fn = "generalizedDiceLoss";
  const wType = oneOf(fn, "wType", options?.wType, ["square", "simple", "uniform"] as const, "square");
  const common = prepare(fn, input, target, options, KNOWN_KEYS.generalizedDice);
  const partials = generalizedDice(common.reduced, wType, common.smoothNr, common.smoothDr);
  return finish(fn, common, partials.f, partials, () => 1, options.grad);
}
