// From a loss's spec to its value and gradient: the plan from the options,
// pass 1 (statistics), the float64 algebra, the elementwise terms, and pass 2.
import { kernelCoefficients, type Reduced, reduceStats } from "../algebra.js";
import { focalPass } from "../focal.js";
import { gradTarget } from "../gradient-target.js";
import { COEF_U, COEFS, MODE_SOFT } from "../kernel-codes.js";
import {
  checkKeys,
  type Prediction,
  type Problem,
  readOptions,
  resolveProblem,
  type Source,
  sourceOf,
  type Target,
} from "../options.js";
import { computeGradient, type RawStats } from "../passes.js";
import { measure } from "../stats.js";
import { WasmVolume } from "../volume.js";
import { type LossWarning, valuesOutOfRange, warning } from "../warnings.js";
import {
  type AnyLossOptions,
  commonOptions,
  type ElementwiseTerm,
  type Evaluated,
  type LossResult,
  type LossSpec,
  type Plan,
} from "./plan.js";

/** Every check of the resolved problem, before pass 1 writes anything (into the caller's `grad` too). */
function acceptOf(plan: Plan): (problem: Problem) => void {
  return (problem) => {
    plan.checkClasses?.(problem.C);
    plan.accept?.(problem);
  };
}

/** The plan of a loss for these options: its option names checked, then its own checks. */
function planOf(spec: LossSpec, options: AnyLossOptions, fn = spec.fn): Plan {
  checkKeys(fn, options, spec.keys);
  return spec.plan(options, commonOptions(fn, options));
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
  spec: LossSpec,
  input: Prediction,
  target: Target,
  options: AnyLossOptions,
  keep?: Float32Array,
): { loss: number | Float64Array; raw: RawStats; warnings: LossWarning[] } {
  const plan = planOf(spec, options);
  if (spec.elementwise(options)) throw new Error("unreachable: the tfjs ops build these terms from tf ops");
  const keepSource = keep ? (sourceOf(keep) as Source<Float32Array>) : undefined;
  const passOptions = { ...options, crossEntropy: plan.crossEntropy };
  const { problem, raw } = measure(plan.fn, input, target, passOptions, keepSource, acceptOf(plan));
  const { evaluated } = evaluate(plan, problem, raw);
  return { loss: reduce(plan, evaluated), raw, warnings: warningsOf(plan, problem, raw) };
}

/** @internal Pass 2 from what lossForward() kept (statistics and activation): the tfjs gradient kernel. */
export function lossBackward(
  spec: LossSpec,
  input: Prediction,
  target: Target,
  options: AnyLossOptions,
  raw: RawStats,
  keep: Float32Array,
  upstream: number | Float64Array,
  grad: Float32Array,
): void {
  const plan = planOf(spec, options);
  const problem = resolveProblem(plan.fn, input, target, { ...options, crossEntropy: plan.crossEntropy });
  const { reduced, evaluated } = evaluate(plan, problem, raw);
  const keepSource = sourceOf(keep) as Source<Float32Array>;
  backward(plan, problem, reduced, evaluated, upstream, keepSource, sourceOf(grad) as Source<Float32Array>);
}

/** A loss of the family, from its spec: what every public loss function calls. */
export function run(spec: LossSpec, input: Prediction, target: Target, options: AnyLossOptions): LossResult {
  const plan = planOf(spec, options);
  const out = gradTarget(plan.fn, options.grad, input, target);
  // pass 1 leaves the activation where the gradient goes; pass 2 turns it into the gradient there
  const passOptions = { ...options, crossEntropy: plan.crossEntropy };
  const { problem, raw } = measure(plan.fn, input, target, passOptions, out, acceptOf(plan));
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
 * @internal Every check of `options` that needs no data, and the warnings
 * they give: the tfjs ops run it on backends whose losses are tf ops, and
 * diagnose() for its own options.
 */
export function checkLossOptions(spec: LossSpec, options: AnyLossOptions, fn?: string): LossWarning[] {
  const plan = planOf(spec, options, fn);
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
