// What a loss notices and does not refuse: options it ignores (where MONAI
// warns), and values that cannot be probabilities or targets, read off the
// statistics pass 1 computes anyway, so noticing costs no extra pass.
import { ACT_NONE } from "./kernel-codes.js";
import type { Problem } from "./options.js";
import type { RawStats } from "./passes.js";

export type WarningCode =
  | "SOFTMAX_IGNORED"
  | "TO_ONEHOT_Y_IGNORED"
  | "INCLUDE_BACKGROUND_IGNORED"
  | "ALPHA_IGNORED"
  | "PREDICTION_OUT_OF_RANGE"
  | "TARGET_OUT_OF_RANGE"
  | "VALUES_OUT_OF_RANGE"
  | "SMOOTH_NR_ABOVE_DR";

export interface LossWarning {
  readonly code: WarningCode;
  readonly message: string;
}

/**
 * Values outside [0, 1], from the signs of the statistics: tp, fp and fn are
 * sums of terms that are ≥ 0 for predictions and targets in [0, 1], and our
 * compensated sums of non-negative terms cannot round below 0, so a negative
 * one proves an out-of-range value. With tp, fp, fn ≥ 0 and smoothNr ≤
 * smoothDr every Dice-family loss lies in [0, 1]; smoothNr > smoothDr has a
 * warning of its own (SMOOTH_NR_ABOVE_DR). The suspects are the predictions when no
 * activation makes them probabilities, and a mask target (a label map is exact).
 * Out-of-range values whose terms stay ≥ 0 in sum (class ids 2 as a mask, say)
 * go unproven here; diagnose() scans every value.
 */
export function valuesOutOfRange(fn: string, problem: Problem, raw: RawStats): LossWarning | undefined {
  const predictions = problem.act === ACT_NONE;
  const targets = problem.target.kind === "mask";
  if (!predictions && !targets) return undefined;
  for (const [name, sums] of [
    ["tp", raw.tp],
    ["fp", raw.fp],
    ["fn", raw.fn],
  ] as const) {
    const at = sums.findIndex((s) => s < 0);
    if (at < 0) continue;
    const where = `${name} of batch item ${Math.floor(at / problem.C)}, class ${at % problem.C} is ${sums[at]}`;
    if (predictions && targets) {
      return warning(
        "VALUES_OUT_OF_RANGE",
        `${fn}: ${where} < 0, so predictions or targets lie outside [0, 1]: logits need sigmoid: true or softmax: true, and class ids toOnehotY: true. diagnose() finds which.`,
      );
    }
    return predictions
      ? warning(
          "PREDICTION_OUT_OF_RANGE",
          `${fn}: ${where} < 0, so predictions lie outside [0, 1]: are these logits? Pass sigmoid: true (multi-label) or softmax: true (exclusive classes).`,
        )
      : warning(
          "TARGET_OUT_OF_RANGE",
          `${fn}: ${where} < 0, so target values lie outside [0, 1]: a mask holds 0 to 1 per class; class ids need toOnehotY: true.`,
        );
  }
  return undefined;
}

export function warning(code: WarningCode, message: string): LossWarning {
  return { code, message };
}
