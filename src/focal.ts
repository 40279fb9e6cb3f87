// The focal loss, MONAI 1.5's FocalLoss: its options, the pass over the
// chunks (assembly/focal/, summing Σℓ and writing or adding the gradient), and
// the reductions. Also the focal term of diceFocalLoss and
// generalizedDiceFocalLoss (src/losses/dice-focal.ts), the binary
// cross-entropy and the label smoothing of diceCELoss (src/losses/dice-ce.ts).
import { checkLabels, nonFinite } from "./checks.js";
import { DiceWasmError } from "./errors.js";
import { gradTarget } from "./gradient-target.js";
import { TARGET_MASK } from "./kernel-codes.js";
import { classWeights } from "./losses/plan.js";
import type { LossResult } from "./losses.js";
import {
  checkKeys,
  finiteNumber,
  type IgnoreOptions,
  type Layout,
  oneOf,
  type Prediction,
  type Problem,
  type Reduction,
  resolveProblem,
  type Source,
  type Target,
} from "./options.js";
import { LABEL_KIND, type Placed, Stream } from "./passes.js";
import { runtime } from "./runtime.js";
import { WasmVolume } from "./volume.js";
import { type LossWarning, warning } from "./warnings.js";

export interface FocalOptions extends IgnoreOptions {
  /** The prediction's shape (logits): [B, ...spatial, C] channels-last, [B, C, ...spatial] channels-first. */
  shape: readonly number[];
  /** Default 'channels-last' (tfjs); 'channels-first' is PyTorch/MONAI's. */
  layout?: Layout;
  /** The target is a label map of class ids. */
  toOnehotY?: boolean;
  /** Keep class 0 (default true); false drops it before anything else, as MONAI does (ignored when C = 1). */
  includeBackground?: boolean;
  /** The focusing exponent: (1 − p_t)^γ down-weights easy voxels; default 2, 0 is cross-entropy. */
  gamma?: number;
  /** α-balancing in [0, 1]: sigmoid weighs targets by α and the rest by 1 − α; softmax weighs class 0 by 1 − α, others by α. */
  alpha?: number;
  /** One weight per class kept (or one for all), MONAI's class weights; ignored for one class. */
  weight?: number | readonly number[];
  /** Softmax over the classes (default false: a sigmoid per element, as MONAI's default). */
  useSoftmax?: boolean;
  /** 'mean' (default) over the elements kept, 'sum' of the per-(item, class) means over space (MONAI), or 'none'. */
  reduction?: Reduction;
  /** Also return d(loss)/d(logits): true for a fresh array, or the array (or volume) to write into. */
  grad?: boolean | Float32Array | WasmVolume<"float32">;
}

/** The focal term of a loss, from its options. */
export interface FocalTerm {
  gamma: number;
  /** < 0: none */
  alpha: number;
  /** one weight per class, 0 for a class left out (α folded in for the softmax) */
  weights: Float32Array;
  /** sigmoid: one weight per class on the positive part t·softplus(−x) (BCEWithLogitsLoss's pos_weight); default 1 */
  positive?: Float32Array;
  /** a target of 1 for every class, whatever the data's (the cross-entropy's label-smoothing term) */
  uniform?: boolean;
  /** the first class kept */
  c0: number;
  softmax: boolean;
  warnings: LossWarning[];
}

/** The options focalLoss takes; its tfjs op takes them less what the tensors say (and the mask). */
export const FOCAL_KEYS = [
  ...["shape", "layout", "toOnehotY", "includeBackground", "weight", "useSoftmax", "reduction", "grad"],
  ...["ignoreIndex", "mask", "gamma", "alpha"],
];

/** Reads gamma, alpha, weight and the classes kept; `softmax` only for focalLoss (MONAI's Dice + focal use the sigmoid). */
export function readFocal(
  fn: string,
  options: { gamma?: number; alpha?: number; weight?: number | readonly number[]; includeBackground?: boolean },
  C: number,
  softmax: boolean,
): FocalTerm {
  const gamma = finiteNumber(fn, "gamma", options.gamma, 2);
  // the kernels take it as a float32
  if (!(gamma >= 0 && gamma <= 3.4e38)) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: gamma must be in [0, 3.4e38] (0 is cross-entropy), got ${gamma}.`,
      {
        option: "gamma",
      },
    );
  }
  let alpha = options.alpha === undefined ? -1 : finiteNumber(fn, "alpha", options.alpha, 0);
  if (options.alpha !== undefined && !(alpha >= 0 && alpha <= 1)) {
    throw new DiceWasmError("INVALID_OPTION", `${fn}: alpha must be in [0, 1], got ${alpha}.`, { option: "alpha" });
  }
  const c0 = options.includeBackground === false && C > 1 ? 1 : 0;
  const warnings: LossWarning[] = [];
  if (softmax && c0 === 1 && alpha >= 0) {
    // MONAI: alpha weighs class 0 against the rest, and class 0 is gone
    warnings.push(
      warning("ALPHA_IGNORED", `${fn}: \`includeBackground: false\`, \`alpha\` ignored when using softmax.`),
    );
    alpha = -1;
  }
  const kept = C - c0;
  const weights = new Float32Array(C).fill(1, c0);
  const perClass = classWeights(fn, options.weight, kept);
  if (perClass) weights.set(perClass, c0);
  if (softmax && alpha >= 0) {
    for (let c = c0; c < C; c++) weights[c]! *= c === c0 ? 1 - alpha : alpha;
    alpha = -1;
  }
  return { gamma, alpha, weights, c0, softmax, warnings };
}

/** What a focal pass writes: the gradient (times `scale`, or added to what `out` holds), or the loss terms. */
export type FocalOutput =
  | { kind: "gradient"; out: Source<Float32Array>; scale: number; accumulate: boolean }
  | { kind: "terms"; out: Source<Float32Array> };

/**
 * One pass over the chunks: Σℓ, the marks of the elements kept (0 when
 * nothing is left out), and for label maps whether every voxel is labelled
 * with a class or left out (the label check, from the kernel's counts).
 */
export function focalPass(
  problem: Problem,
  term: FocalTerm,
  output?: FocalOutput,
): { total: number; kept: number; labelsValid: boolean } {
  const { C, target } = problem;
  const stream = new Stream(problem);
  const { focal } = runtime();
  const heap = stream.heapF32.buffer;
  const result = new Float64Array(heap, stream.out, 4).fill(0);
  let voxelsLeftOut = 0;
  const MARKS = { none: 0, voxel: focal.MARKS_VOXEL.value, element: focal.MARKS_ELEMENT.value };
  const coef = new Float32Array(heap, stream.coef, 2 * C);
  coef.set(term.weights);
  coef.fill(1, C);
  if (term.positive) coef.set(term.positive, C);
  const tkind = term.uniform
    ? focal.TARGET_ONES.value
    : target.kind === "label"
      ? LABEL_KIND[target.dtype]
      : TARGET_MASK;
  for (const { b, v0, nv } of stream.chunks()) {
    const x = stream.locate(problem.input, b, v0, nv, "input");
    const t: Placed = target.kind === "label" ? { ptr: stream.labels(b, v0, nv), ps: 0 } : stream.mask(b, v0, nv);
    let marks = { kind: MARKS.none as number, ptr: 0, ps: 0 };
    if (problem.ignore) {
      const { perElement, dropped } = stream.mark(b, v0, nv, t, term.softmax);
      if (!perElement) voxelsLeftOut += dropped;
      marks = perElement
        ? { kind: MARKS.element, ptr: stream.buffer("elementMarks"), ps: stream.V }
        : { kind: MARKS.voxel, ptr: stream.plane("voxelMarks"), ps: 0 };
    }
    let dst: Placed = { ptr: 0, ps: 0 };
    if (output) {
      const accumulate = output.kind === "gradient" && output.accumulate;
      dst = accumulate ? stream.locate(output.out, b, v0, nv, "keep") : stream.place(output.out, b, v0, "keep");
    }
    const computed = focal.focal(
      ...[x.ptr, x.ps, t.ptr, t.ps, tkind, nv, C, term.c0, stream.ilv, term.softmax ? 1 : 0],
      ...[term.gamma, term.alpha, stream.coef, marks.ptr, marks.kind, marks.ps],
      output?.kind === "gradient" ? output.scale : 0,
      ...[dst.ptr, dst.ps, output?.kind === "gradient" && output.accumulate ? 1 : 0, output?.kind === "terms" ? 1 : 0],
      // scratch for 3·C + 3 vectors: the shifted buffer holds V·C ≥ 16·C floats
      ...[stream.out, stream.buffer("shifted")],
    );
    if (!computed) throw new Error(`unreachable: the focal program knows no target kind ${tkind}`);
    if (output && output.out.ptr === undefined) stream.copy(output.out.array, dst.ptr, b, v0, nv, false);
  }
  const [total, kept, check, labelled] = result;
  if (!Number.isFinite(total) || !Number.isFinite(check)) nonFinite(problem);
  const labelsValid = target.kind !== "label" || labelled! + voxelsLeftOut === problem.B * problem.S;
  return { total: total!, kept: kept!, labelsValid };
}

/** The scale of an elementwise mean over every element of the classes kept (undefined: count the ones kept). */
export function meanScale(problem: Problem, term: FocalTerm): number | undefined {
  return problem.ignore ? undefined : 1 / focalElements(problem, term);
}

/** The number of elements the focal mean divides by, when nothing can be left out. */
export function focalElements(problem: Problem, term: FocalTerm): number {
  return problem.B * problem.S * (problem.C - term.c0);
}

/**
 * Focal loss (Lin et al. 2017), MONAI 1.5's FocalLoss on logits: a sigmoid per
 * element by default (binary cross-entropy times (1 − p_t)^γ), or a softmax
 * over the classes with `useSoftmax`. 'mean' averages the elements kept,
 * 'sum' sums the per-(item, class) means over space, 'none' gives every
 * element (the prediction's layout, classes kept).
 *
 * @example
 * const { loss, grad } = focalLoss(logits, labels, { shape: [1, 96, 96, 96, 4], toOnehotY: true, gamma: 2, grad: true });
 */
export function focalLoss(
  input: Prediction,
  target: Target,
  options: FocalOptions & { reduction: "none" },
): LossResult<Float64Array>;
export function focalLoss(input: Prediction, target: Target, options: FocalOptions): LossResult<number>;
export function focalLoss(input: Prediction, target: Target, options: FocalOptions): LossResult {
  const fn = "focalLoss";
  checkKeys(fn, options, FOCAL_KEYS);
  const reduction = oneOf(fn, "reduction", options.reduction, ["mean", "sum", "none"] as const, "mean");
  const { gamma, alpha, weight, useSoftmax, includeBackground, grad, reduction: _, ...data } = options;
  const out = gradTarget(fn, grad, input, target);
  const problem = resolveProblem(fn, input, target, data);
  const term = readFocal(fn, options, problem.C, Boolean(useSoftmax));
  // the first pass also counts the labels that are class ids; only when some are not, a scan names one
  const first = (output?: FocalOutput) => {
    const pass = focalPass(problem, term, output);
    if (!pass.labelsValid) checkLabels(problem);
    return pass;
  };
  const warnings = [...problem.warnings, ...term.warnings];
  if (includeBackground === false && problem.C === 1) {
    warnings.push(
      warning("INCLUDE_BACKGROUND_IGNORED", `${fn}: single channel prediction, \`includeBackground: false\` ignored.`),
    );
  }
  const result: LossResult = { loss: 0, warnings };
  if (reduction === "none") {
    const terms = { array: new Float32Array(problem.input.array.length), ptr: undefined };
    first({ kind: "terms", out: terms });
    result.loss = keptClasses(problem, term.c0, terms.array);
    if (out) focalPass(problem, term, { kind: "gradient", out, scale: 1, accumulate: false });
  } else if (reduction === "sum") {
    // MONAI: the mean over space of each (item, class), summed
    const scale = 1 / problem.S;
    const { total } = first(out && { kind: "gradient", out, scale, accumulate: false });
    result.loss = total * scale;
  } else if (!problem.ignore && out) {
    const scale = 1 / focalElements(problem, term);
    result.loss = first({ kind: "gradient", out, scale, accumulate: false }).total * scale;
  } else {
    // the elements kept are known after a pass: the gradient takes a second
    const { total, kept } = first();
    const n = problem.ignore ? kept : focalElements(problem, term);
    result.loss = n > 0 ? total / n : 0;
    if (out) focalPass(problem, term, { kind: "gradient", out, scale: n > 0 ? 1 / n : 0, accumulate: false });
  }
  if (out) result.grad = grad instanceof WasmVolume ? grad.array : out.array;
  return result;
}

/** The per-element terms of the classes kept, in the prediction's layout, as float64. */
function keptClasses(problem: Problem, c0: number, terms: Float32Array): Float64Array {
  if (c0 === 0) return Float64Array.from(terms);
  const { B, C, S, layout } = problem;
  const K = C - c0;
  const out = new Float64Array(B * S * K);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      for (let c = c0; c < C; c++) {
        const from = layout === "channels-last" ? (b * S + v) * C + c : (b * C + c) * S + v;
        const to = layout === "channels-last" ? (b * S + v) * K + c - c0 : (b * K + c - c0) * S + v;
        out[to] = terms[from]!;
      }
    }
  }
  return out;
}
