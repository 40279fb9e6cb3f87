// What every loss is made of: its spec (options, the statistics it needs, its
// float64 formula and partials), the plan a spec makes of the options, and the
// helpers the specs share. src/losses/run.ts turns a plan into passes.
import type { Partials, Reduced } from "../algebra.js";
import type { CrossEntropy } from "../cross-entropy.js";
import { DiceWasmError } from "../errors.js";
import type { FocalTerm } from "../focal.js";
import {
  type DiceCEOptions,
  type DiceFocalOptions,
  type DiceOptions,
  finiteNumber,
  type GeneralizedDiceFocalOptions,
  type GeneralizedDiceOptions,
  oneOf,
  type Problem,
  type TverskyOptions,
} from "../options.js";
import type { RawStats } from "../passes.js";
import { type LossWarning, warning } from "../warnings.js";

/** What every loss returns. */
export interface LossResult<L extends number | Float64Array = number | Float64Array> {
  /**
   * The loss: a number for 'mean'/'sum'; for 'none' one value per (batch item, class), per batch item for
   * generalized Dice, or (focalLoss) one per element of the classes kept, in the prediction's layout.
   */
  loss: L;
  /** d(loss)/d(prediction) in the prediction's shape and layout (of the summed loss for 'none'), when `grad` was asked. */
  grad?: Float32Array;
  /**
   * What the loss noticed and did not refuse: options it ignored, as MONAI warns
   * (softmax with one class, ...), and values outside [0, 1] that the
   * statistics prove (logits without an activation, class ids as a mask).
   */
  warnings: LossWarning[];
}

/** Options of any loss: what the internal entry points take. */
export type AnyLossOptions = DiceCEOptions &
  TverskyOptions &
  GeneralizedDiceOptions &
  Omit<DiceFocalOptions, "weight"> &
  Omit<GeneralizedDiceFocalOptions, "weight"> & {
    /** focalLoss's switch to a softmax focal term (its tfjs op shares these options) */
    useSoftmax?: boolean;
  };

/**
 * One loss of the Dice family: everything the core, the tfjs kernels and the
 * checks need to know of it. (Its float64 reference and its tf-ops twin live
 * beside the other losses' in src/reference/losses.ts and src/tfjs/composite.ts,
 * which must have one for every loss of the registry.)
 */
export interface LossSpec {
  /** the core function's name, and the tfjs op's */
  fn: string;
  /** the option names it takes */
  keys: readonly string[];
  /** 'none' gives one value per row (batch item, or the batch), not per (row, class) */
  perRow: boolean;
  /** terms summed per element (focal, BCE, label smoothing): not in the tfjs kernels, whose ops use the twin */
  elementwise(options: AnyLossOptions): boolean;
  /** what the loss is, from its options: every check that needs no data */
  plan(options: AnyLossOptions, common: Common): Plan;
}

/** What a loss is, from its options: checked before any pass over the data. */
export interface Plan extends Common {
  /** pass 1 also sums the cross-entropy */
  crossEntropy: boolean;
  /** Checks of the resolved problem the options alone cannot make, before pass 1 writes anything. */
  accept?(problem: Problem): void;
  /** Checks of the options that need the class count (the elementwise terms' weights, gamma, alpha). */
  checkClasses?(C: number): void;
  evaluate(reduced: Reduced, problem: Problem, raw: RawStats): Evaluated;
}

/** The options every loss reads alike. */
export interface Common {
  fn: string;
  reduction: "mean" | "sum" | "none";
  includeBackground: boolean;
  batch: boolean;
  smoothNr: number;
  smoothDr: number;
  /** what the options alone give to warn about (smoothNr above smoothDr) */
  warnings: LossWarning[];
}

/** A loss's values per item and their partials, from the reduced statistics. */
export interface Evaluated {
  /** one value per (row, class), or per row for generalized Dice, each already weighted */
  items: Float64Array;
  partials: Partials;
  /** scales the partials of kept class j (`weight`, a λ, else 1) */
  classWeight: (j: number) => number;
  /** diceCELoss with softmax: the fused cross-entropy, added to the reduced items times lambdaCe */
  crossEntropy?: CrossEntropy & { lambdaCe: number };
  /** terms summed per element by the focal program (focal, BCE, label smoothing), added to the loss */
  elementwise?: ElementwiseTerm[];
}

/**
 * A term the focal program sums per element beside the overlap statistics:
 * weight·scale·Σℓ, with `scale` undefined for a mean over the elements kept
 * (known after a pass when ignoreIndex or mask leave some out).
 */
export interface ElementwiseTerm {
  term: FocalTerm;
  weight: number;
  scale: number | undefined;
}

/** The options every loss reads alike (MONAI's defaults), checked. */
export function commonOptions(fn: string, options: AnyLossOptions): Common {
  const smoothNr = finiteNumber(fn, "smoothNr", options.smoothNr, 1e-5);
  const smoothDr = finiteNumber(fn, "smoothDr", options.smoothDr, 1e-5);
  if (smoothNr < 0 || smoothDr < 0) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: smoothNr and smoothDr must be ≥ 0 (0 is allowed, as in MONAI), got ${smoothNr} and ${smoothDr}.`,
    );
  }
  const reduction = oneOf(fn, "reduction", options.reduction, ["mean", "sum", "none"] as const, "mean");
  // a loss outside [0, 1] that no statistic shows: an empty prediction of an empty class scores 1 − sn/sd
  const warnings =
    smoothNr > smoothDr
      ? [
          warning(
            "SMOOTH_NR_ABOVE_DR",
            `${fn}: smoothNr (${smoothNr}) > smoothDr (${smoothDr}): a class empty in both prediction and target scores 1 − smoothNr/smoothDr = ${1 - smoothNr / smoothDr} < 0, and the loss can leave [0, 1]; MONAI's defaults are equal (1e-5).`,
          ),
        ]
      : [];
  return {
    fn,
    reduction,
    includeBackground: options.includeBackground ?? true,
    batch: Boolean(options.batch),
    smoothNr,
    smoothDr,
    warnings,
  };
}

/** Per-class weights of the classes kept (MONAI's `weight`): undefined for none, or for one class, as MONAI ignores them. */
export function classWeights(
  fn: string,
  weight: DiceOptions["weight"],
  C: number,
  /** diceCELoss: one weight per class, background included, whatever includeBackground */
  everyClass = false,
): Float64Array | undefined {
  if (weight === undefined || C === 1) return undefined;
  const list = typeof weight === "number" ? Array(C).fill(weight) : weight;
  if (!Array.isArray(list) || list.length !== C) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      everyClass
        ? `${fn}: weight needs one number per class (${C}), class 0 included whatever includeBackground, as in MONAI's DiceCELoss.`
        : `${fn}: weight needs one number per class kept (${C}); with includeBackground: false, leave out class 0.`,
      { option: "weight", expected: C, actual: Array.isArray(list) ? list.length : undefined },
    );
  }
  list.forEach((w, index) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new DiceWasmError("INVALID_OPTION", `${fn}: weights must be finite numbers ≥ 0, got ${String(w)}.`, {
        option: "weight",
        index,
        value: w,
      });
    }
  });
  return Float64Array.from(list);
}

/** A λ weighing a term: a finite number ≥ 0, default 1. */
export function lambdaOf(fn: string, name: string, value: unknown): number {
  const lambda = finiteNumber(fn, name, value, 1);
  if (lambda < 0)
    throw new DiceWasmError("INVALID_OPTION", `${fn}: ${name} must be ≥ 0, got ${lambda}.`, { option: name });
  return lambda;
}
