// Dice + focal and generalized Dice + focal: MONAI 1.5's DiceFocalLoss and
// GeneralizedDiceFocalLoss, the focal term summed per element by the focal program.
import { DiceWasmError } from "../errors.js";
import { meanScale, readFocal } from "../focal.js";
import type { DiceFocalOptions, GeneralizedDiceFocalOptions, Prediction, Target } from "../options.js";
import { DICE } from "./dice.js";
import { GENERALIZED_DICE } from "./generalized-dice.js";
import { type AnyLossOptions, type Common, type LossResult, type LossSpec, lambdaOf, type Plan } from "./plan.js";
import { run } from "./run.js";

export const DICE_FOCAL: LossSpec = {
  fn: "diceFocalLoss",
  keys: [...DICE.keys, "gamma", "alpha", "lambdaDice", "lambdaFocal"],
  perRow: false,
  elementwise: () => true,
  plan: (options, common) => focalPlan(DICE, options, common),
};

export const GENERALIZED_DICE_FOCAL: LossSpec = {
  fn: "generalizedDiceFocalLoss",
  keys: [...GENERALIZED_DICE.keys, "weight", "gamma", "lambdaGdl", "lambdaFocal"],
  perRow: true,
  elementwise: () => true,
  plan: (options, common) => focalPlan(GENERALIZED_DICE, options, common),
};

/**
 * Dice + focal (MONAI's DiceFocalLoss, GeneralizedDiceFocalLoss): the overlap
 * loss's plan with its items scaled by its λ, and the focal term beside it.
 */
function focalPlan(overlap: LossSpec, options: AnyLossOptions, common: Common): Plan {
  const { fn } = common;
  const gdl = overlap === GENERALIZED_DICE;
  const { gamma, alpha, lambdaDice, lambdaGdl, lambdaFocal, ...rest } = options;
  const overlapOptions = gdl ? { ...rest, weight: undefined } : rest;
  const lambda = lambdaOf(fn, gdl ? "lambdaGdl" : "lambdaDice", gdl ? lambdaGdl : lambdaDice);
  const lambdaF = lambdaOf(fn, "lambdaFocal", lambdaFocal);
  if (options.reduction === "none") {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: reduction 'none' would add per-class Dice values to per-element focal terms; use 'mean' or 'sum', or the two losses apart.`,
      { option: "reduction" },
    );
  }
  const base = overlap.plan(overlapOptions, common);
  const focalOptions = {
    gamma,
    alpha: gdl ? undefined : alpha,
    weight: options.weight,
    includeBackground: options.includeBackground,
  };
  return {
    ...base,
    checkClasses(C) {
      readFocal(fn, focalOptions, C, false);
    },
    evaluate(reduced, problem, raw) {
      const evaluated = base.evaluate(reduced, problem, raw);
      const term = readFocal(fn, focalOptions, problem.C, false);
      // 'sum': MONAI's spatial means; 'mean': over the elements kept
      const scale = options.reduction === "sum" ? 1 / problem.S : meanScale(problem, term);
      return {
        ...evaluated,
        items: evaluated.items.map((f) => lambda * f),
        classWeight: (j) => lambda * evaluated.classWeight(j),
        elementwise: [{ term, weight: lambdaF, scale }],
      };
    },
  };
}

/**
 * Dice + focal (MONAI 1.5's DiceFocalLoss): λ_dice·Dice + λ_focal·focal. As in
 * MONAI, the focal term is the sigmoid focal loss on the logits even with
 * `softmax: true` (which only the Dice term uses); `weight` and `alpha` weigh
 * both terms' classes and the focal term's targets. Its gradient is added to
 * the Dice gradient chunk by chunk.
 *
 * @example
 * const { loss, grad } = diceFocalLoss(logits, labels, {
 *   shape: [1, 96, 96, 96, 4], softmax: true, toOnehotY: true, gamma: 2, grad: true,
 * });
 */
export function diceFocalLoss(input: Prediction, target: Target, options: DiceFocalOptions): LossResult<number> {
  return run(DICE_FOCAL, input, target, options) as LossResult<number>;
}

/**
 * Generalized Dice + focal (MONAI 1.5's GeneralizedDiceFocalLoss):
 * λ_gdl·GDL + λ_focal·focal, the focal term a sigmoid per element on the
 * logits, with `weight` its class weights.
 *
 * @example
 * const { loss } = generalizedDiceFocalLoss(logits, labels, { shape: [1, 96, 96, 96, 4], softmax: true, toOnehotY: true });
 */
export function generalizedDiceFocalLoss(
  input: Prediction,
  target: Target,
  options: GeneralizedDiceFocalOptions,
): LossResult<number> {
  return run(GENERALIZED_DICE_FOCAL, input, target, options) as LossResult<number>;
}
