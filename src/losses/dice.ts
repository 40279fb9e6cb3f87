// Soft Dice (and Jaccard, and the squared-denominator V-Net form): MONAI's DiceLoss.
import { type RatioForm, ratioLoss } from "../algebra.js";
import { type DiceOptions, LOSS_KEYS, type Prediction, type Target } from "../options.js";
import { classWeights, type LossResult, type LossSpec } from "./plan.js";
import { run } from "./run.js";

/** Dice's ratio of the statistics: Σp + Σg, or Σp² + Σg² (squaredPred), and Jaccard's 2·(… − tp). */
export function diceForm(options: { jaccard?: boolean; squaredPred?: boolean }): RatioForm {
  const scale = options.jaccard ? 2 : 1;
  return options.squaredPred
    ? { tau: 2, alpha: 0, beta: 0, sigma: scale }
    : { tau: 2, alpha: scale, beta: scale, sigma: 0 };
}

export const DICE: LossSpec = {
  fn: "diceLoss",
  keys: [...LOSS_KEYS, "squaredPred", "jaccard", "weight"],
  perRow: false,
  elementwise: () => false,
  plan(options, common) {
    const { fn, smoothNr, smoothDr } = common;
    const form = diceForm(options);
    return {
      ...common,
      crossEntropy: false,
      evaluate(reduced) {
        const partials = ratioLoss(reduced, form, smoothNr, smoothDr);
        const weights = classWeights(fn, options.weight, reduced.C);
        const items = weights ? partials.f.map((f, i) => f * weights[i % weights.length]!) : partials.f;
        return { items, partials, classWeight: (j) => weights?.[j] ?? 1 };
      },
    };
  },
};

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
  return run(DICE, input, target, options);
}
