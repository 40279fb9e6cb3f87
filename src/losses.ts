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
import { type CrossEntropy, crossEntropy } from "./cross-entropy.js";
import { DiceWasmError } from "./errors.js";
import { type FocalTerm, focalElements, focalPass, readFocal } from "./focal.js";
import { gradTarget } from "./gradient-target.js";
import { ACT_NONE, COEF_U, COEFS, MODE_SOFT } from "./kernel-codes.js";
import {
  checkKeys,
  type DiceCEOptions,
  type DiceFocalOptions,
  type DiceOptions,
  finiteNumber,
  type GeneralizedDiceFocalOptions,
  type GeneralizedDiceOptions,
  KNOWN_KEYS,
  oneOf,
  type Prediction,
  type Problem,
  readOptions,
  resolveProblem,
  type Source,
  sourceOf,
  type Target,
  type TverskyOptions,
} from "./options.js";
import { computeGradient, type RawStats } from "./passes.js";
import { measure } from "./stats.js";
import { WasmVolume } from "./volume.js";
import { type LossWarning, valuesOutOfRange, warning } from "./warnings.js";

/** What every loss returns. */
export interface LossResult<L extends number | Float64Array = number | Float64Array> {
  /** The loss: a number for 'mean'/'sum'; for 'none' one value per (batch item, class), or per batch item for generalized Dice. */
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

export type LossKind = "dice" | "tversky" | "generalizedDice" | "diceCE" | "diceFocal" | "generalizedDiceFocal";

/** Options of any loss: what the internal entry points take. */
export type AnyLossOptions = DiceCEOptions &
  TverskyOptions &
  GeneralizedDiceOptions &
  Omit<DiceFocalOptions, "weight"> &
  Omit<GeneralizedDiceFocalOptions, "weight"> & {
    /** focalLoss's switch to a softmax focal term (its tfjs op shares these options) */
    useSoftmax?: boolean;
  };

/** A loss's values per item and their partials, from the reduced statistics. */
interface Evaluated {
  /** one value per (row, class), or per row for generalized Dice */
  items: Float64Array;
  partials: Partials;
  /** scales the partials of kept class j (Dice's `weight`, else 1) */
  classWeight: (j: number) => number;
  /** diceCELoss with softmax: the fused cross-entropy, added to the Dice term (its λ already in items) times lambdaCe */
  crossEntropy?: CrossEntropy & { lambdaCe: number };
  /** terms summed per element by the focal program (focal, BCE, label smoothing), added to the loss */
  elementwise?: ElementwiseTerm[];
}

/** What a loss is, from its options: checked before any pass over the data. */
interface Plan {
  fn: string;
  reduction: "mean" | "sum" | "none";
  includeBackground: boolean;
  batch: boolean;
  /** pass 1 also sums the cross-entropy */
  crossEntropy: boolean;
  /** what the options alone give to warn about (smoothNr above smoothDr) */
  warnings: LossWarning[];
  /** Checks of the resolved problem the options alone cannot make, before pass 1 writes anything. */
  accept?(problem: Problem): void;
  /** Checks of the options that need the class count (the elementwise terms' weights, gamma, alpha). */
  checkClasses?(C: number): void;
  evaluate(reduced: Reduced, problem: Problem, raw: RawStats): Evaluated;
}

/**
 * A term the focal program sums per element beside the overlap statistics:
 * weight·scale·Σℓ, with `scale` undefined for a mean over the elements kept
 * (known after a pass when ignoreIndex or mask leave some out).
 */
interface ElementwiseTerm {
  term: FocalTerm;
  weight: number;
  scale: number | undefined;
}

/** The scale of an elementwise mean over every element of the classes kept (undefined: count the ones kept). */
function meanScale(problem: Problem, term: FocalTerm): number | undefined {
  return problem.ignore ? undefined : 1 / focalElements(problem, term);
}

function planOf(kind: LossKind, options: AnyLossOptions, fn = `${kind}Loss`): Plan {
  checkKeys(fn, options, KNOWN_KEYS[kind]);
  if (kind === "diceFocal" || kind === "generalizedDiceFocal") return focalPlan(kind, options, fn);
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
  const common = {
    fn,
    reduction,
    includeBackground: options.includeBackground ?? true,
    batch: Boolean(options.batch),
    crossEntropy: false,
    warnings,
  };
  if (kind === "diceCE") return diceCEPlan(common, options, smoothNr, smoothDr);
  if (kind === "dice") {
    const scale = options.jaccard ? 2 : 1;
    const form: RatioForm = options.squaredPred
      ? { tau: 2, alpha: 0, beta: 0, sigma: scale }
      : { tau: 2, alpha: scale, beta: scale, sigma: 0 };
    return {
      ...common,
      evaluate(reduced) {
        const partials = ratioLoss(reduced, form, smoothNr, smoothDr);
        const weights = classWeights(fn, options.weight, reduced.C);
        const items = weights ? partials.f.map((f, i) => f * weights[i % weights.length]!) : partials.f;
        return { items, partials, classWeight: (j) => weights?.[j] ?? 1 };
      },
    };
  }
  if (kind === "tversky") {
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
      evaluate(reduced) {
        const partials = ratioLoss(reduced, { tau: 1, alpha, beta, sigma: 0 }, smoothNr, smoothDr);
        return { items: partials.f, partials, classWeight: () => 1 };
      },
    };
  }
  const wType = oneOf(fn, "wType", options.wType, ["square", "simple", "uniform"] as const, "square");
  return {
    ...common,
    evaluate(reduced) {
      const partials = generalizedDice(reduced, wType, smoothNr, smoothDr);
      return { items: partials.f, partials, classWeight: () => 1 };
    },
  };
}

/**
 * Dice + cross-entropy, MONAI's DiceCELoss: λ_dice·Dice + λ_ce·CE. With softmax
 * the cross-entropy (PyTorch's CrossEntropyLoss, with its label smoothing) is
 * summed in pass 1 beside the Dice statistics, the smoothing term Σ_c w_c·(−ln p_c)
 * by the focal program; with sigmoid it is BCE with logits per element
 * (BCEWithLogitsLoss, `weight` as pos_weight), also by the focal program.
 * `weight` (one per class) weighs both terms, as in MONAI ≥ 1.4.
 */
function diceCEPlan(common: Omit<Plan, "evaluate">, options: AnyLossOptions, smoothNr: number, smoothDr: number): Plan {
  const { fn, reduction } = common;
  const lambdaDice = finiteNumber(fn, "lambdaDice", options.lambdaDice, 1);
  const lambdaCe = finiteNumber(fn, "lambdaCe", options.lambdaCe, 1);
  if (lambdaDice < 0 || lambdaCe < 0) {
    throw new DiceWasmError("INVALID_OPTION", `${fn}: lambdaDice and lambdaCe must be ≥ 0.`);
  }
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
  if (reduction === "none" || options.squaredPred || options.softLabel) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: reduction 'none' (MONAI's DiceCELoss has none either), squaredPred and softLabel are not supported with the cross-entropy; use diceLoss for them.`,
    );
  }
  const scale = options.jaccard ? 2 : 1;
  const form: RatioForm = { tau: 2, alpha: scale, beta: scale, sigma: 0 };
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
      const all = classWeights(fn, options.weight, problem.C);
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
      if (smoothing > 0) {
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
 * Dice + focal (MONAI's DiceFocalLoss, GeneralizedDiceFocalLoss): the overlap
 * loss's plan with its items scaled by its λ, and the focal term beside it.
 */
function focalPlan(kind: "diceFocal" | "generalizedDiceFocal", options: AnyLossOptions, fn: string): Plan {
  const gdl = kind === "generalizedDiceFocal";
  const { gamma, alpha, lambdaDice, lambdaGdl, lambdaFocal, ...rest } = options;
  const overlapOptions = gdl ? { ...rest, weight: undefined } : rest;
  const name = gdl ? "lambdaGdl" : "lambdaDice";
  const lambda = finiteNumber(fn, name, gdl ? lambdaGdl : lambdaDice, 1);
  const lambdaF = finiteNumber(fn, "lambdaFocal", lambdaFocal, 1);
  if (lambda < 0 || lambdaF < 0)
    throw new DiceWasmError("INVALID_OPTION", `${fn}: ${name} and lambdaFocal must be ≥ 0.`);
  if (options.reduction === "none") {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: reduction 'none' would add per-class Dice values to per-element focal terms; use 'mean' or 'sum', or the two losses apart.`,
      { option: "reduction" },
    );
  }
  const base = planOf(gdl ? "generalizedDice" : "dice", overlapOptions, fn);
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

/** The statistics of the classes kept, and the loss's values on them. */
function evaluate(plan: Plan, problem: Problem, raw: RawStats): { reduced: Reduced; evaluated: Evaluated } {
  const { B, C, warnings } = problem;
  if (!plan.includeBackground && C === 1)
    warnings.push(warning("INCLUDE_BACKGROUND_IGNORED", backgroundIgnored(plan.fn)));
  const reduced = reduceStats(raw, B, C, plan.includeBackground, plan.batch, problem.target.kind === "label");
  return { reduced, evaluated: plan.evaluate(reduced, problem, raw) };
}

/** The reduced loss, before any elementwise term (added by the caller after its pass). */
function reduce(plan: Plan, { items, crossEntropy }: Evaluated): number | Float64Array {
  if (plan.reduction === "none") return items;
  const sum = items.reduce((a, b) => a + b, 0);
  const dice = plan.reduction === "mean" ? sum / items.length : sum;
  return crossEntropy ? dice + crossEntropy.lambdaCe * crossEntropy.value : dice;
}

/**
 * Pass 2 for upstream gradient `upstream` of the reduced loss (a number, or one
 * per item for 'none'): the chain rule through the reduction and class weights
 * gives the scale of each item's partials, then the kernel coefficients; the
 * kernel turns what pass 1 left in `keep` into the gradient in `out`.
 */
function backward(
  plan: Plan,
  problem: Problem,
  reduced: Reduced,
  evaluated: Evaluated,
  upstream: number | Float64Array,
  keep: Source<Float32Array>,
  out: Source<Float32Array>,
): void {
  const { items, partials, classWeight, crossEntropy } = evaluated;
  const perItem = plan.reduction === "mean" ? 1 / items.length : 1;
  const perRow = items.length === reduced.rows; // generalized Dice: one item per row
  const scale = new Float64Array(reduced.rows * reduced.C);
  for (let i = 0; i < scale.length; i++) {
    const item = perRow ? Math.floor(i / reduced.C) : i;
    const dy = typeof upstream === "number" ? upstream : upstream[item]!;
    scale[i] = dy * perItem * classWeight(i % reduced.C);
  }
  const coef = kernelCoefficients(reduced, partials, scale, problem.B, problem.C, problem.mode === MODE_SOFT);
  if (crossEntropy) {
    // 'mean'/'sum' only, so the upstream gradient is one number
    const dy = (upstream as number) * crossEntropy.lambdaCe;
    crossEntropy.u.forEach((u, i) => {
      coef[i * COEFS + COEF_U] = dy * u;
    });
  }
  computeGradient(problem, coef, keep, out);
}

/**
 * @internal Pass 1 and the loss, keeping the statistics for a later backward():
 * the tfjs kernels' forward. With `keep` (an array of the prediction's size),
 * the activation is left there for lossBackward.
 */
export function lossForward(
  kind: LossKind,
  input: Prediction,
  target: Target,
  options: AnyLossOptions,
  keep?: Float32Array,
): { loss: number | Float64Array; raw: RawStats; warnings: LossWarning[] } {
  const plan = planOf(kind, options);
  if (!fusedInKernels(kind, options)) throw new Error("unreachable: the tfjs ops build these terms from tf ops");
  const keepSource = keep ? (sourceOf(keep) as Source<Float32Array>) : undefined;
  const passOptions = { ...options, crossEntropy: plan.crossEntropy };
  const { problem, raw } = measure(plan.fn, input, target, passOptions, keepSource, plan.accept);
  const { evaluated } = evaluate(plan, problem, raw);
  return { loss: reduce(plan, evaluated), raw, warnings: warningsOf(plan, problem, raw) };
}

/** @internal Pass 2 from what lossForward() kept (statistics and activation): the tfjs gradient kernel. */
export function lossBackward(
  kind: LossKind,
  input: Prediction,
  target: Target,
  options: AnyLossOptions,
  raw: RawStats,
  keep: Float32Array,
  upstream: number | Float64Array,
  grad: Float32Array,
): void {
  const plan = planOf(kind, options);
  const problem = resolveProblem(plan.fn, input, target, { ...options, crossEntropy: plan.crossEntropy });
  const { reduced, evaluated } = evaluate(plan, problem, raw);
  const keepSource = sourceOf(keep) as Source<Float32Array>;
  backward(plan, problem, reduced, evaluated, upstream, keepSource, sourceOf(grad) as Source<Float32Array>);
}

function run(kind: LossKind, input: Prediction, target: Target, options: AnyLossOptions): LossResult {
  const plan = planOf(kind, options);
  const out = gradTarget(plan.fn, options.grad, input, target);
  // pass 1 leaves the activation where the gradient goes; pass 2 turns it into the gradient there
  const passOptions = { ...options, crossEntropy: plan.crossEntropy };
  const { problem, raw } = measure(plan.fn, input, target, passOptions, out, plan.accept);
  const { reduced, evaluated } = evaluate(plan, problem, raw);
  const result: LossResult = {
    loss: reduce(plan, evaluated),
    warnings: warningsOf(plan, problem, raw),
  };
  const terms = (evaluated.elementwise ?? []).map((t) => elementwiseForward(problem, t, out === undefined));
  if (out) {
    backward(plan, problem, reduced, evaluated, 1, out, out);
    for (const t of terms) {
      // added to the gradient so far, chunk by chunk
      const pass = focalPass(problem, t.term, { kind: "gradient", out, scale: t.weight * t.scale, accumulate: true });
      t.total ??= pass.total;
    }
    // a volume's view is taken again: reserving the workspace may have grown memory since gradTarget
    result.grad = options.grad instanceof WasmVolume ? options.grad.array : out.array;
  }
  for (const t of terms) result.loss = (result.loss as number) + t.weight * t.scale * t.total!;
  return result;
}

/**
 * An elementwise term before the gradient: Σℓ from a pass of its own when the
 * scale needs the count of elements kept or no gradient is asked; otherwise
 * it comes with the gradient's pass.
 */
function elementwiseForward(problem: Problem, t: ElementwiseTerm, lossOnly: boolean) {
  let { scale } = t;
  let total: number | undefined;
  if (scale === undefined || lossOnly) {
    const pass = focalPass(problem, t.term);
    total = pass.total;
    scale ??= pass.kept > 0 ? 1 / pass.kept : 0;
  }
  return { term: t.term, weight: t.weight, scale, total };
}

/** The options' warnings, then values outside [0, 1] that the statistics prove. */
function warningsOf(plan: Plan, problem: Problem, raw: RawStats): LossWarning[] {
  const values = valuesOutOfRange(plan.fn, problem, raw);
  return [...problem.warnings, ...plan.warnings, ...(values ? [values] : [])];
}

/**
 * @internal Whether the tfjs kernels compute this loss: not with terms summed
 * per element (focal, BCE, label smoothing), which the tfjs ops build from tf ops.
 */
export function fusedInKernels(kind: LossKind, options: AnyLossOptions): boolean {
  if (kind === "diceFocal" || kind === "generalizedDiceFocal") return false;
  return !(kind === "diceCE" && (options.sigmoid || (options.labelSmoothing ?? 0) > 0));
}

/**
 * @internal Every check of `options` that needs no data, and the warnings
 * they give: the tfjs ops run it on backends whose losses are tf ops, and
 * diagnose() for its own options.
 */
export function checkLossOptions(kind: LossKind, options: AnyLossOptions, fn?: string): LossWarning[] {
  const plan = planOf(kind, options, fn);
  const declared = readOptions(plan.fn, { ...options, crossEntropy: plan.crossEntropy });
  plan.checkClasses?.(declared.C);
  plan.accept?.(declared as unknown as Problem); // it reads the activation and the class count only
  const background =
    !plan.includeBackground && declared.C === 1
      ? [warning("INCLUDE_BACKGROUND_IGNORED", backgroundIgnored(plan.fn))]
      : [];
  return [...declared.warnings, ...background, ...plan.warnings];
}

const backgroundIgnored = (fn: string) => `${fn}: single channel prediction, \`includeBackground: false\` ignored.`;

export function classWeights(fn: string, weight: DiceOptions["weight"], C: number): Float64Array | undefined {
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
  return run("dice", input, target, options);
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
  return run("tversky", input, target, options);
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
  return run("generalizedDice", input, target, options);
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
  return run("diceCE", input, target, options) as LossResult<number>;
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
  return run("diceFocal", input, target, options) as LossResult<number>;
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
  return run("generalizedDiceFocal", input, target, options) as LossResult<number>;
}
