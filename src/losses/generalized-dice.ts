// The generalized Dice loss (Sudre et al. 2017): MONAI's GeneralizedDiceLoss.
import { generalizedDice } from "../algebra.js";
import { type GeneralizedDiceOptions, LOSS_KEYS, oneOf, type Prediction, type Target } from "../options.js";
import type { LossResult, LossSpec } from "./plan.js";
import { run } from "./run.js";

export const GENERALIZED_DICE: LossSpec = {
  fn: "generalizedDiceLoss",
  keys: [...LOSS_KEYS, "wType"],
  perRow: true,
  elementwise: () => false,
  plan(options, common) {
    const { fn, smoothNr, smoothDr } = common;
    const wType = oneOf(fn, "wType", options.wType, ["square", "simple", "uniform"] as const, "square");
    return {
      ...common,
      crossEntropy: false,
      evaluate(reduced) {
        const partials = generalizedDice(reduced, wType, smoothNr, smoothDr);
        return { items: partials.f, partials, classWeight: () => 1 };
      },
    };
  },
};

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
  return run(GENERALIZED_DICE, input, target, options);
}
