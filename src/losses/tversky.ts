// The Tversky loss (Salehi et al. 2017): MONAI's TverskyLoss.
import { ratioLoss } from "../algebra.js";
import { DiceWasmError } from "../errors.js";
import { finiteNumber, LOSS_KEYS, type Prediction, type Target, type TverskyOptions } from "../options.js";
import type { LossResult, LossSpec } from "./plan.js";
import { run } from "./run.js";

export const TVERSKY: LossSpec = {
  fn: "tverskyLoss",
  keys: [...LOSS_KEYS, "alpha", "beta"],
  perRow: false,
  elementwise: () => false,
  plan(options, common) {
    const { fn, smoothNr, smoothDr } = common;
    const alpha = finiteNumber(fn, "alpha", options.alpha, 0.5);
    const beta = finiteNumber(fn, "beta", options.beta, 0.5);
    if (alpha < 0 || beta < 0) {
      throw new DiceWasmError(
        "INVALID_OPTION",
        `${fn}: alpha and beta must be ≥ 0 (they weigh false positives and negatives), got alpha ${alpha}, beta ${beta}.`,
      );
    }
    return {
      ...common,
      crossEntropy: false,
      evaluate(reduced) {
        const partials = ratioLoss(reduced, { tau: 1, alpha, beta, sigma: 0 }, smoothNr, smoothDr);
        return { items: partials.f, partials, classWeight: () => 1 };
      },
    };
  },
};

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
  return run(TVERSKY, input, target, options);
}
