// Dice + cross-entropy: MONAI's DiceCELoss, with PyTorch's CrossEntropyLoss
// (softmax, label smoothing) or BCEWithLogitsLoss (sigmoid).
import { ratioLoss } from "../algebra.js";
import { crossEntropy } from "../cross-entropy.js";
import { DiceWasmError } from "../errors.js";
import { meanScale } from "../focal.js";
import { ACT_NONE } from "../kernel-codes.js";
import {
  type DiceCEOptions,
  type DiceOptions,
  finiteNumber,
  LOSS_KEYS,
  type Prediction,
  type Target,
} from "../options.js";
import { diceForm } from "./dice.js";
import {
  type AnyLossOptions,
  type Common,
  classWeights,
  type Evaluated,
  type LossResult,
  type LossSpec,
  lambdaOf,
  type Plan,
} from "./plan.js";
import { run } from "./run.js";

export const DICE_CE: LossSpec = {
  fn: "diceCELoss",
  keys: [...LOSS_KEYS, "squaredPred", "jaccard", "weight", "lambdaDice", "lambdaCe", "labelSmoothing"],
  perRow: false,
  // the binary cross-entropy and label smoothing are summed per element
  elementwise: (options) => Boolean(options.sigmoid) || (options.labelSmoothing ?? 0) > 0,
  plan: (options, common) => diceCEPlan(options, common),
};

/**
 * Dice + cross-entropy, MONAI's DiceCELoss: λ_dice·Dice + λ_ce·CE. With softmax
 * the cross-entropy (PyTorch's CrossEntropyLoss, with its label smoothing) is
 * summed in pass 1 beside the Dice statistics, the smoothing term Σ_c w_c·(−ln p_c)
 * by the focal program; with sigmoid it is BCE with logits per element
 * (BCEWithLogitsLoss, `weight` as pos_weight), also by the focal program.
 * `weight` (one per class) weighs both terms, as in MONAI ≥ 1.4.
 */
function diceCEPlan(options: AnyLossOptions, common: Common): Plan {
  const { fn, reduction, smoothNr, smoothDr } = common;
  const lambdaDice = lambdaOf(fn, "lambdaDice", options.lambdaDice);
  const lambdaCe = lambdaOf(fn, "lambdaCe", options.lambdaCe);
  const smoothing = finiteNumber(fn, "labelSmoothing", options.labelSmoothing, 0);
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw new DiceWasmError("INVALID_OPTION", `${fn}: labelSmoothing must be in [0, 1), got ${smoothing}.`, {
      option: "labelSmoothing",
    });
  }
  const sigmoid = Boolean(options.sigmoid);
  if (sigmoid && smoothing > 0) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: labelSmoothing smooths the softmax cross-entropy (PyTorch's CrossEntropyLoss); the binary cross-entropy of sigmoid: true has none.`,
      { option: "labelSmoothing" },
    );
  }
  if (reduction === "none") {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: reduction 'none' is not supported with the cross-entropy (MONAI's DiceCELoss has none either); use diceLoss for per-class values.`,
      { option: "reduction" },
    );
  }
  const form = diceForm(options);
  return {
    ...common,
    crossEntropy: !sigmoid,
    accept(problem) {
      if (problem.act === ACT_NONE) {
        throw new DiceWasmError(
          "INVALID_OPTION",
          `${fn}: pass logits with softmax: true (cross-entropy, at least 2 classes) or sigmoid: true (binary cross-entropy, also for one class).`,
        );
      }
    },
    checkClasses(C) {
      if (sigmoid) positiveWeights(fn, options.weight, C);
    },
    evaluate(reduced, problem, raw) {
      const all = classWeights(fn, options.weight, problem.C, true);
      const partials = ratioLoss(reduced, form, smoothNr, smoothDr);
      const kept = all && reduced.C > 1 ? reduced.classes.map((c) => all[c]!) : undefined;
      const weightOf = (j: number) => lambdaDice * (kept?.[j] ?? 1);
      const items = partials.f.map((f, i) => f * weightOf(i % reduced.C));
      if (sigmoid) {
        const ones = new Float32Array(problem.C).fill(1);
        const positive = positiveWeights(fn, options.weight, problem.C);
        const term = { gamma: 0, alpha: -1, weights: ones, positive, c0: 0, softmax: false, warnings: [] };
        const bceScale = reduction === "sum" ? 1 : meanScale(problem, term);
        return { items, partials, classWeight: weightOf, elementwise: [{ term, weight: lambdaCe, scale: bceScale }] };
      }
      // a float mask's ignored elements are whole voxels here (softmax)
      const left = problem.target.kind === "mask" ? raw.ignored.reduce((a, b) => a + b, 0) / problem.C : 0;
      const isLabel = problem.target.kind === "label";
      const ce = crossEntropy(raw, problem.B * problem.S - left, isLabel, all, reduction as "mean" | "sum");
      const smoothed = { value: (1 - smoothing) * ce.value, u: ce.u.map((u) => (1 - smoothing) * u), norm: ce.norm };
      const evaluated: Evaluated = { items, partials, classWeight: weightOf, crossEntropy: { ...smoothed, lambdaCe } };
      if (smoothing > 0 && ce.norm > 0) {
        // PyTorch: (1 − ε)·CE + ε/C·Σ_v Σ_c w_c·(−ln p_c), both over the same normaliser
        const weights = all ? Float32Array.from(all) : new Float32Array(problem.C).fill(1);
        const ones = new Float32Array(problem.C).fill(1);
        const term = {
          gamma: 0,
          alpha: -1,
          weights,
          positive: ones,
          c0: 0,
          softmax: true,
          uniform: true,
          warnings: [],
        };
        evaluated.elementwise = [{ term, weight: lambdaCe, scale: smoothing / problem.C / ce.norm }];
      }
      return evaluated;
    },
  };
}

/** BCEWithLogitsLoss's pos_weight from `weight`: one per class (all of them), or one for all; default 1. */
function positiveWeights(fn: string, weight: DiceOptions["weight"], C: number): Float32Array {
  if (weight === undefined) return new Float32Array(C).fill(1);
  const list = typeof weight === "number" ? Array(C).fill(weight) : weight;
  if (!Array.isArray(list) || list.length !== C || !list.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: with sigmoid, weight is the binary cross-entropy's pos_weight: one finite number ≥ 0 per class (${C}), or one for all.`,
      { option: "weight", expected: C },
    );
  }
  return Float32Array.from(list);
}

/**
 * Dice + cross-entropy (MONAI's DiceCELoss): λ_dice·Dice + λ_ce·CE on softmax
 * logits, the cross-entropy summed in the same pass as the Dice statistics and
 * its gradient fused into the same backward kernel. CE is PyTorch's: class
 * indices (label map) or class probabilities (one-hot or soft mask), `weight`
 * per class for both terms. −ln p comes from log-sum-exp of the logits, so
 * it keeps its digits for p near 1 and does not saturate for p below float32's
 * range.
 *
 * @example
 * const { loss, grad } = diceCELoss(logits, labels, {
 *   shape: [1, 96, 96, 96, 4], softmax: true, toOnehotY: true, lambdaCe: 0.5, grad: true,
 * });
 */
export function diceCELoss(input: Prediction, target: Target, options: DiceCEOptions): LossResult<number> {
  return run(DICE_CE, input, target, options) as LossResult<number>;
}
