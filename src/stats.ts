// The raw statistics, for users who combine them themselves (across chunks,
// workers or machines: they merge by addition).
import { checkData } from "./checks.js";
import { DiceWasmError } from "./errors.js";
import {
  checkKeys,
  type DataOptions,
  type IgnoreOptions,
  type PassOptions,
  type Prediction,
  type Problem,
  resolveProblem,
  type Source,
  STATS_KEYS,
  type Target,
} from "./options.js";
import { computeStats, type RawStats } from "./passes.js";

/** Overlap statistics per (batch item, class), float64, row-major [B][C]. */
export interface OverlapStats {
  batchSize: number;
  numClasses: number;
  /** Σ p·g (soft labels: Σ min(p, g)) */
  tp: Float64Array;
  /** Σ p·(1 − g) (soft labels: Σ (p − g)⁺) */
  fp: Float64Array;
  /** Σ (1 − p)·g (soft labels: Σ (g − p)⁺) */
  fn: Float64Array;
  /** Σ (p − g)², with `squaredPred`; else undefined */
  se?: Float64Array;
}

/**
 * The sufficient statistics of every overlap loss, for every (batch item, class):
 * what pass 1 computes, before background removal and batch reduction.
 *
 * @example
 * const a = overlapStats(p1, t1, opts), b = overlapStats(p2, t2, opts);
 * const merged = mergeStats(a, b); // the statistics of both volumes together
 */
export function overlapStats(
  input: Prediction,
  target: Target,
  options: DataOptions & IgnoreOptions & { squaredPred?: boolean },
): OverlapStats {
  checkKeys("overlapStats", options, STATS_KEYS);
  const { problem, raw } = measure("overlapStats", input, target, options);
  const stats: OverlapStats = {
    batchSize: problem.B,
    numClasses: problem.C,
    tp: raw.tp,
    fp: raw.fp,
    fn: raw.fn,
  };
  if (options.squaredPred) stats.se = raw.se;
  return stats;
}

/**
 * Checks the arrays against the options (and `accept`, the caller's own
 * checks, before anything is written) and runs pass 1: what every public
 * function starts with. With `keep`, the activation is left there for pass 2.
 */
export function measure(
  fn: string,
  input: Prediction,
  target: Target,
  options: PassOptions,
  keep?: Source<Float32Array>,
  accept?: (problem: Problem) => void,
): { problem: Problem; raw: RawStats } {
  const problem = resolveProblem(fn, input, target, options);
  accept?.(problem);
  const raw = computeStats(problem, keep);
  checkData(problem, raw);
  return { problem, raw };
}

/**
 * Statistics of the union of the volumes behind `a` and `b` (same batch size
 * and classes): how chunks, workers or machines combine their work.
 *
 * @example
 * const total = parts.map((p) => overlapStats(p.input, p.target, opts)).reduce(mergeStats);
 */
export function mergeStats(a: OverlapStats, b: OverlapStats): OverlapStats {
  if (a.batchSize !== b.batchSize || a.numClasses !== b.numClasses || Boolean(a.se) !== Boolean(b.se)) {
    throw new DiceWasmError(
      "INVALID_SHAPE",
      "mergeStats: both statistics need the same batch size, classes and squaredPred.",
    );
  }
  const add = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]!);
  const merged: OverlapStats = {
    ...a,
    tp: add(a.tp, b.tp),
    fp: add(a.fp, b.fp),
    fn: add(a.fn, b.fn),
  };
  if (a.se && b.se) merged.se = add(a.se, b.se);
  return merged;
}
