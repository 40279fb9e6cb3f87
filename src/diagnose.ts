// diagnose(): why a Dice-family loss is negative, NaN or implausible, as
// findings with numbers instead of folklore. A plain scan of the arrays (it is
// a diagnostic, not a hot path) plus comparePrecision for the precision check.
import { elementIndex } from "./layout.js";
import { checkKeys, type DiceOptions, KNOWN_KEYS, type Prediction, resolveProblem, type Target } from "./options.js";
import { comparePrecision } from "./precision.js";

export type Severity = "error" | "warning" | "info";

export interface Finding {
  code: DiagnosisCode;
  severity: Severity;
  message: string;
  numbers: Record<string, number | number[]>;
}

export type DiagnosisCode =
  | "NON_FINITE_INPUT"
  | "NON_FINITE_TARGET"
  | "PREDICTION_OUT_OF_RANGE"
  | "TARGET_OUT_OF_RANGE"
  | "TARGET_NOT_BINARY"
  | "TARGET_NOT_ONE_HOT"
  | "LABEL_OUT_OF_RANGE"
  | "NON_INTEGER_LABEL"
  | "ABSENT_CLASS"
  | "SMOOTH_NR_ABOVE_DR"
  | "FLOAT32_PRECISION";

/**
 * Findings that explain a negative, NaN or implausible loss for these arrays and
 * options (the options of `diceLoss`). An empty list means none of the known
 * causes is present.
 *
 * @example
 * for (const f of diagnose(output, labels, { shape, toOnehotY: true })) console.warn(f.code, f.message);
 */
export function diagnose(input: Prediction, target: Target, options: DiceOptions): Finding[] {
  checkKeys("diagnose", options, KNOWN_KEYS.dice); // a misspelt option would diagnose another loss
  const problem = resolveProblem("diagnose", input, target, { ...options, grad: undefined } as DiceOptions);
  const { B, C, S, act, layout } = problem;
  const x = problem.input.array;
  const findings: Finding[] = [];
  const add = (code: DiagnosisCode, severity: Severity, message: string, numbers: Finding["numbers"] = {}) =>
    findings.push({ code, severity, message, numbers });
  const at = elementIndex(layout, C, S);

  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  let firstNonFinite = -1;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) {
      if (nonFinite++ === 0) firstNonFinite = i;
    } else {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  if (nonFinite) {
    add(
      "NON_FINITE_INPUT",
      "error",
      `the prediction holds ${nonFinite} NaN or infinite values (first at index ${firstNonFinite}); any loss of it is NaN.`,
      {
        count: nonFinite,
        index: firstNonFinite,
      },
    );
  }
  if (act === 0 && (min < 0 || max > 1)) {
    add(
      "PREDICTION_OUT_OF_RANGE",
      "error",
      `predictions range over [${min}, ${max}] but no activation is set: these look like logits. With values outside [0, 1], tp can exceed the target volume and the Dice loss goes negative; pass softmax: true (exclusive classes) or sigmoid: true (multi-label).`,
      { min, max },
    );
  }

  const labels: number[][] = Array.from({ length: B }, () => Array(C).fill(0));
  if (problem.target.kind === "label") {
    const t = problem.target.source.array as ArrayLike<number>;
    let bad = 0;
    let first = -1;
    let fractional = false;
    for (let i = 0; i < t.length; i++) {
      const l = t[i]!;
      if (Number.isInteger(l) && l >= 0 && l < C) labels[Math.floor(i / S)]![l]!++;
      else if (bad++ === 0) {
        first = i;
        fractional = !Number.isInteger(l);
      }
    }
    if (bad) {
      add(
        fractional ? "NON_INTEGER_LABEL" : "LABEL_OUT_OF_RANGE",
        "error",
        `${bad} labels are not class ids in [0, ${C}) (first: ${t[first]} at index ${first}); the loss refuses them. A resampled label map needs nearest-neighbour interpolation.`,
        { count: bad, index: first, value: t[first]! },
      );
    }
  } else {
    const t = problem.target.source.array;
    let outside = 0;
    let fractional = 0;
    let nonFiniteTarget = 0;
    let notOneHot = 0;
    for (let b = 0; b < B; b++) {
      for (let v = 0; v < S; v++) {
        let sum = 0;
        for (let c = 0; c < C; c++) {
          const g = t[at(b, c, v)]!;
          if (!Number.isFinite(g)) nonFiniteTarget++;
          else if (g < 0 || g > 1) outside++;
          else if (g !== 0 && g !== 1) fractional++;
          sum += g;
          labels[b]![c]! += g;
        }
        if (C > 1 && Math.abs(sum - 1) > 1e-3) notOneHot++;
      }
    }
    if (nonFiniteTarget)
      add("NON_FINITE_TARGET", "error", `the target holds ${nonFiniteTarget} NaN or infinite values.`, {
        count: nonFiniteTarget,
      });
    if (outside) {
      add(
        "TARGET_OUT_OF_RANGE",
        "error",
        `${outside} target values lie outside [0, 1]: a label map passed as a mask? Set toOnehotY: true for class ids.`,
        {
          count: outside,
        },
      );
    }
    if (fractional && !options.softLabel) {
      add(
        "TARGET_NOT_BINARY",
        "warning",
        `${fractional} target values are strictly between 0 and 1; for soft targets MONAI's softLabel: true gives the loss its minimum at p = g.`,
        {
          count: fractional,
        },
      );
    }
    if (notOneHot) {
      add(
        "TARGET_NOT_ONE_HOT",
        "warning",
        `${notOneHot} voxels have class targets that do not sum to 1: not one-hot (fine for multi-label sigmoid outputs, not for softmax).`,
        {
          count: notOneHot,
        },
      );
    }
  }

  const first = options.includeBackground === false && C > 1 ? 1 : 0;
  const absent = labels.map((row) => row.flatMap((n, c) => (c >= first && n === 0 ? [c] : [])));
  if (absent.some((a) => a.length)) {
    add(
      "ABSENT_CLASS",
      "info",
      `some classes are absent from some batch items' targets (${absent.map((a, b) => `item ${b}: [${a}]`).join("; ")}). Their Dice is decided by the smoothing terms alone (≈ 1 unless the prediction is empty too); generalized Dice would weigh them 1/0² = ∞, replaced, as in MONAI, by the item's largest finite weight.`,
      { classes: absent.flat() },
    );
  }
  const smoothNr = options.smoothNr ?? 1e-5;
  const smoothDr = options.smoothDr ?? 1e-5;
  if (smoothNr > smoothDr) {
    add(
      "SMOOTH_NR_ABOVE_DR",
      "warning",
      `smoothNr (${smoothNr}) > smoothDr (${smoothDr}): where prediction and target are both empty the loss is 1 − smoothNr/smoothDr = ${1 - smoothNr / smoothDr}, below 0.`,
      { smoothNr, smoothDr },
    );
  }
  if (!findings.some((f) => f.severity === "error") && !options.squaredPred && !options.jaccard && !options.softLabel) {
    // the plain Dice loss of these data, ours and the usual float32 way, on the same terms (no class weights)
    const { shape, layout, sigmoid, softmax, toOnehotY, includeBackground, batch } = options;
    const plain = { shape, layout, sigmoid, softmax, toOnehotY, includeBackground, batch, smoothNr, smoothDr };
    const { methods } = comparePrecision(input, target, plain);
    const exact = methods.find((m) => m.method === "dice-wasm")!.loss;
    const common = methods.find((m) => m.method === "float32 sequential")!.loss;
    const error = Math.abs(common - exact) / Math.max(Math.abs(exact), Number.MIN_VALUE);
    add(
      "FLOAT32_PRECISION",
      error > 1e-4 ? "warning" : "info",
      `the usual float32 computation (sequential sums, then 1 − dice) gives ${common} here; the exact loss is ${exact} (relative error ${error.toExponential(1)}).${common < 0 ? " That is where a negative loss comes from: rounding, not the model." : ""}`,
      { exact, float32: common, relativeError: error },
    );
  }
  return findings;
}
