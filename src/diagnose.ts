// diagnose(): why a Dice-family loss is negative, NaN or implausible, as
// findings with numbers instead of folklore. A table of small checks, each a
// plain scan of the arrays (it is a diagnostic, not a hot path), then
// comparePrecision for the precision check when the data are sound.
import { elementIndex } from "./layout.js";
import { checkLossOptions, LOSSES } from "./losses.js";
import { type DiceOptions, type Prediction, type Problem, resolveProblem, type Target } from "./options.js";
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

/** What every check reads: the resolved problem and the options it was given. */
interface Case {
  problem: Problem;
  options: DiceOptions;
}

type Check = (c: Case) => Finding[];

const finding = (code: DiagnosisCode, severity: Severity, message: string, numbers: Finding["numbers"] = {}) => ({
  code,
  severity,
  message,
  numbers,
});

/** NaN or infinite predictions; probabilities outside [0, 1] without an activation. */
function predictionValues({ problem }: Case): Finding[] {
  const x = problem.input.array;
  let [min, max, nonFinite, first] = [Infinity, -Infinity, 0, -1];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) {
      if (nonFinite++ === 0) first = i;
    } else {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const findings: Finding[] = [];
  if (nonFinite) {
    findings.push(
      finding(
        "NON_FINITE_INPUT",
        "error",
        `the prediction holds ${nonFinite} NaN or infinite values (first at index ${first}); any loss of it is NaN.`,
        { count: nonFinite, index: first },
      ),
    );
  }
  if (problem.act === 0 && (min < 0 || max > 1)) {
    findings.push(
      finding(
        "PREDICTION_OUT_OF_RANGE",
        "error",
        `predictions range over [${min}, ${max}] but no activation is set: these look like logits. With values outside [0, 1], tp can exceed the target volume and the Dice loss goes negative; pass softmax: true (exclusive classes) or sigmoid: true (multi-label).`,
        { min, max },
      ),
    );
  }
  return findings;
}

/** Label maps: values that are not class ids. */
function labelValues({ problem }: Case): Finding[] {
  if (problem.target.kind !== "label") return [];
  const t = problem.target.source.array as ArrayLike<number>;
  const isClass = (l: number) => Number.isInteger(l) && l >= 0 && l < problem.C;
  // what ignoreIndex and mask leave out is no error
  const ignoreIndex = problem.ignore?.index;
  const mask = problem.ignore?.mask?.array;
  let [bad, first] = [0, -1];
  for (let i = 0; i < t.length; i++) {
    const l = t[i]!;
    if (!isClass(l) && l !== ignoreIndex && mask?.[i] !== 0 && bad++ === 0) first = i;
  }
  if (!bad) return [];
  return [
    finding(
      Number.isInteger(t[first]) ? "LABEL_OUT_OF_RANGE" : "NON_INTEGER_LABEL",
      "error",
      `${bad} labels are not class ids in [0, ${problem.C}) (first: ${t[first]} at index ${first}); the loss refuses them. A resampled label map needs nearest-neighbour interpolation.`,
      { count: bad, index: first, value: t[first]! },
    ),
  ];
}

/** Float masks: non-finite values, values outside [0, 1], soft values, rows that are not one-hot. */
function maskValues({ problem, options }: Case): Finding[] {
  if (problem.target.kind !== "mask") return [];
  const { B, C, S, layout } = problem;
  const t = problem.target.source.array;
  const at = elementIndex(layout, C, S);
  let [outside, fractional, nonFinite, notOneHot, firstNonFinite] = [0, 0, 0, 0, -1];
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      let sum = 0;
      for (let c = 0; c < C; c++) {
        const g = t[at(b, c, v)]!;
        if (!Number.isFinite(g)) {
          if (nonFinite++ === 0) firstNonFinite = at(b, c, v);
        } else if (g < 0 || g > 1) outside++;
        else if (g !== 0 && g !== 1) fractional++;
        sum += g;
      }
      if (C > 1 && Math.abs(sum - 1) > 1e-3) notOneHot++;
    }
  }
  const findings: Finding[] = [];
  if (nonFinite) {
    findings.push(
      finding(
        "NON_FINITE_TARGET",
        "error",
        `the target holds ${nonFinite} NaN or infinite values (first at index ${firstNonFinite}).`,
        { count: nonFinite, index: firstNonFinite },
      ),
    );
  }
  if (outside) {
    findings.push(
      finding(
        "TARGET_OUT_OF_RANGE",
        "error",
        `${outside} target values lie outside [0, 1]: a label map passed as a mask? Set toOnehotY: true for class ids.`,
        { count: outside },
      ),
    );
  }
  if (fractional && !options.softLabel) {
    findings.push(
      finding(
        "TARGET_NOT_BINARY",
        "warning",
        `${fractional} target values are strictly between 0 and 1; for soft targets MONAI's softLabel: true gives the loss its minimum at p = g.`,
        { count: fractional },
      ),
    );
  }
  if (notOneHot) {
    findings.push(
      finding(
        "TARGET_NOT_ONE_HOT",
        "warning",
        `${notOneHot} voxels have class targets that do not sum to 1: not one-hot (fine for multi-label sigmoid outputs, not for softmax).`,
        { count: notOneHot },
      ),
    );
  }
  return findings;
}

/** The target's total per batch item and class (labels that are not class ids count nowhere). */
function classTotals(problem: Problem): number[][] {
  const { B, C, S, layout, target } = problem;
  const totals = Array.from({ length: B }, () => Array<number>(C).fill(0));
  if (target.kind === "label") {
    const t = target.source.array as ArrayLike<number>;
    for (let i = 0; i < t.length; i++) {
      const l = t[i]!;
      if (Number.isInteger(l) && l >= 0 && l < C) totals[Math.floor(i / S)]![l]!++;
    }
  } else {
    const t = target.source.array;
    const at = elementIndex(layout, C, S);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) for (let v = 0; v < S; v++) totals[b]![c]! += t[at(b, c, v)]!;
  }
  return totals;
}

/** Classes absent from a batch item's target: their Dice is the smoothing's alone. */
function absentClasses({ problem, options }: Case): Finding[] {
  const first = options.includeBackground === false && problem.C > 1 ? 1 : 0;
  const absent = classTotals(problem).map((row) => row.flatMap((n, c) => (c >= first && n === 0 ? [c] : [])));
  if (!absent.some((a) => a.length)) return [];
  return [
    finding(
      "ABSENT_CLASS",
      "info",
      `some classes are absent from some batch items' targets (${absent.map((a, b) => `item ${b}: [${a}]`).join("; ")}). Their Dice is decided by the smoothing terms alone (≈ 1 unless the prediction is empty too); generalized Dice would weigh them 1/0² = ∞, replaced, as in MONAI, by the item's largest finite weight.`,
      { classes: absent.flat() },
    ),
  ];
}

/** smoothNr > smoothDr: an empty prediction of an empty class scores below 0. */
function smoothing({ options }: Case): Finding[] {
  const smoothNr = options.smoothNr ?? 1e-5;
  const smoothDr = options.smoothDr ?? 1e-5;
  if (smoothNr <= smoothDr) return [];
  return [
    finding(
      "SMOOTH_NR_ABOVE_DR",
      "warning",
      `smoothNr (${smoothNr}) > smoothDr (${smoothDr}): where prediction and target are both empty the loss is 1 − smoothNr/smoothDr = ${1 - smoothNr / smoothDr}, below 0.`,
      { smoothNr, smoothDr },
    ),
  ];
}

const CHECKS: Check[] = [predictionValues, labelValues, maskValues, absentClasses, smoothing];

/** The plain Dice loss of these data, ours and the usual float32 way, on the same terms (no class weights). */
function float32Precision(input: Prediction, target: Target, options: DiceOptions): Finding {
  const { shape, layout, sigmoid, softmax, toOnehotY, includeBackground, batch, smoothNr, smoothDr } = options;
  const plain = { shape, layout, sigmoid, softmax, toOnehotY, includeBackground, batch, smoothNr, smoothDr };
  const { methods } = comparePrecision(input, target, plain);
  const exact = methods.find((m) => m.method === "dice-wasm")!.loss;
  const common = methods.find((m) => m.method === "float32 sequential")!.loss;
  const error = Math.abs(common - exact) / Math.max(Math.abs(exact), Number.MIN_VALUE);
  return finding(
    "FLOAT32_PRECISION",
    error > 1e-4 ? "warning" : "info",
    `the usual float32 computation (sequential sums, then 1 − dice) gives ${common} here; the exact loss is ${exact} (relative error ${error.toExponential(1)}).${common < 0 ? " That is where a negative loss comes from: rounding, not the model." : ""}`,
    { exact, float32: common, relativeError: error },
  );
}

/**
 * Findings that explain a negative, NaN or implausible loss for these arrays and
 * options (the options of `diceLoss`). An empty list means none of the known
 * causes is present.
 *
 * @example
 * for (const f of diagnose(output, labels, { shape, toOnehotY: true })) console.warn(f.code, f.message);
 */
export function diagnose(input: Prediction, target: Target, options: DiceOptions): Finding[] {
  checkLossOptions(LOSSES.dice, { ...options, grad: undefined }, "diagnose"); // every option, as diceLoss checks it
  const problem = resolveProblem("diagnose", input, target, { ...options, grad: undefined } as DiceOptions);
  const findings = CHECKS.flatMap((check) => check({ problem, options }));
  // the precision check needs sound data and smoothing, and compares the plain loss only (nothing left out)
  const sound = !findings.some((f) => f.severity === "error" || f.code === "SMOOTH_NR_ABOVE_DR");
  const plain = !options.squaredPred && !options.jaccard && !options.softLabel && !problem.ignore;
  if (sound && plain) {
    findings.push(float32Precision(input, target, options));
  }
  return findings;
}
