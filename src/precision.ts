// comparePrecision(): the same Dice loss computed the ways people compute it —
// float32 sums one after another, float32 pairwise, float64, and ours (Kahan
// over pairwise mini-blocks in float32 lanes, loss in float64) — against the
// exact value: every sum exact (Shewchuk), the loss from those sums in the
// cancellation-free form. For users' own volumes, and for bench/precision.
import { DiceWasmError } from "./errors.js";
import { elementIndex } from "./layout.js";
import { diceLoss } from "./losses.js";
import { checkKeys, type DiceOptions, type Prediction, type Problem, resolveProblem, type Target } from "./options.js";
import { ExactSum } from "./reference/exact.js";
import { overlapStats } from "./stats.js";

export type PrecisionMethod = "float32 sequential" | "float32 pairwise" | "float64 sequential" | "dice-wasm";

export interface PrecisionReport {
  /** the loss with every sum exact */
  exact: number;
  /** per method: the loss, its relative error, and the largest relative error of its sums Σp·g, Σp, Σg */
  methods: Array<{ method: PrecisionMethod; loss: number; relativeError: number; statisticsError: number }>;
}

const KEYS = [
  "shape",
  "layout",
  "sigmoid",
  "softmax",
  "toOnehotY",
  "includeBackground",
  "smoothNr",
  "smoothDr",
  "batch",
  "reduction",
];

/**
 * The Dice loss of (input, target) by each method, and each one's relative
 * error against the exact value. Options as diceLoss's (Dice only: no Jaccard,
 * squared denominator, weights or 'none').
 *
 * @example
 * const { exact, methods } = comparePrecision(logits, labels, { shape, softmax: true, toOnehotY: true });
 * console.table(methods); // float32 sequential off by 1e-3 on a large volume, dice-wasm by ~1e-10
 */
export function comparePrecision(input: Prediction, target: Target, options: DiceOptions): PrecisionReport {
  const fn = "comparePrecision";
  checkKeys(fn, options, KEYS);
  if (options.reduction === "none") {
    throw new DiceWasmError("INVALID_OPTION", `${fn}: reduction must be 'mean' or 'sum'.`);
  }
  const problem = resolveProblem(fn, input, target, options);
  const sn = options.smoothNr ?? 1e-5;
  const sd = options.smoothDr ?? 1e-5;
  const ours = diceLoss(input, target, { ...options, grad: false }).loss;
  const rows = sums(problem, options);
  const mean = options.reduction !== "sum";
  const reduce = (f: (r: RowSums) => number, round: (x: number) => number) => {
    let total = 0;
    for (const r of rows) total = round(total + f(r));
    return round(mean ? total / rows.length : total);
  };
  const f32 = Math.fround;
  const exact = reduce(
    (r) => (r.exactMismatch + sd - sn) / (r.exactDenominator + sd),
    (x) => x,
  );
  const common = (i: number, p: number, g: number, round: (x: number) => number) =>
    round(1 - round(round(2 * i + sn) / round(p + g + sd)));
  const loss: Record<PrecisionMethod, number> = {
    "float32 sequential": reduce((r) => common(r.f32[0], r.f32[1], r.f32[2], f32), f32),
    "float32 pairwise": reduce((r) => common(r.pairwise[0], r.pairwise[1], r.pairwise[2], f32), f32),
    "float64 sequential": reduce(
      (r) => common(r.f64[0], r.f64[1], r.f64[2], (x) => x),
      (x) => x,
    ),
    "dice-wasm": ours,
  };
  const ourSums = kernelSums(input, target, options, problem);
  const sumsOf: Record<PrecisionMethod, (r: RowSums, i: number) => number[]> = {
    "float32 sequential": (r) => r.f32,
    "float32 pairwise": (r) => r.pairwise,
    "float64 sequential": (r) => r.f64,
    "dice-wasm": (_, i) => ourSums[i]!,
  };
  const statisticsError = (method: PrecisionMethod) => {
    let worst = 0;
    rows.forEach((r, i) => {
      sumsOf[method](r, i).forEach((value, k) => {
        const exactSum = r.exactSums[k]!;
        if (exactSum !== 0) worst = Math.max(worst, Math.abs(value - exactSum) / exactSum);
        else if (value !== 0) worst = Math.max(worst, 1);
      });
    });
    return worst;
  };
  return {
    exact,
    methods: (Object.keys(loss) as PrecisionMethod[]).map((method) => ({
      method,
      loss: loss[method],
      relativeError: Math.abs(loss[method] - exact) / Math.abs(exact),
      statisticsError: statisticsError(method),
    })),
  };
}

/** Σ p·g, Σ p, Σ g per row (batch item and kept class, or kept class with `batch`) by each method. */
interface RowSums {
  f32: [number, number, number];
  pairwise: [number, number, number];
  f64: [number, number, number];
  /** exact Σ (p + g − 2pg) and Σ (p + g), rounded once */
  exactMismatch: number;
  exactDenominator: number;
  /** exact Σ p·g, Σ p, Σ g, rounded once */
  exactSums: [number, number, number];
}

/** Our kernels' Σ p·g, Σ p, Σ g per row (from overlapStats: tp, tp + fp, tp + fn in float64). */
function kernelSums(input: Prediction, target: Target, options: DiceOptions, problem: Problem): number[][] {
  const { shape, layout, sigmoid, softmax, toOnehotY } = options;
  const s = overlapStats(input, target, { shape, layout, sigmoid, softmax, toOnehotY });
  const { B, C } = problem;
  const first = options.includeBackground === false && C > 1 ? 1 : 0;
  const K = C - first;
  const rows = Array.from({ length: (options.batch ? 1 : B) * K }, () => [0, 0, 0]);
  for (let b = 0; b < B; b++) {
    for (let c = first; c < C; c++) {
      const i = b * C + c;
      const row = rows[(options.batch ? 0 : b) * K + c - first]!;
      row[0] = row[0]! + s.tp[i]!;
      row[1] = row[1]! + s.tp[i]! + s.fp[i]!;
      row[2] = row[2]! + s.tp[i]! + s.fn[i]!;
    }
  }
  return rows;
}

function sums(problem: Problem, options: DiceOptions): RowSums[] {
  const { B, C, S, act, layout, target } = problem;
  const x = problem.input.array;
  const at = elementIndex(layout, C, S);
  const first = options.includeBackground === false && C > 1 ? 1 : 0;
  const batch = Boolean(options.batch);
  const K = C - first;
  const rows = (batch ? 1 : B) * K;
  const f32 = Array.from({ length: rows }, () => [0, 0, 0] as [number, number, number]);
  const f64 = Array.from({ length: rows }, () => [0, 0, 0] as [number, number, number]);
  const mismatch = Array.from({ length: rows }, () => new ExactSum());
  const exactSums = Array.from({ length: rows }, () => [new ExactSum(), new ExactSum(), new ExactSum()]);
  const denominator = Array.from({ length: rows }, () => new ExactSum());
  // pairwise needs the terms: kept per row, summed at the end
  const perRow = batch ? B * S : S;
  const terms = Array.from({ length: rows }, () => [
    new Float32Array(perRow),
    new Float32Array(perRow),
    new Float32Array(perRow),
  ]);
  const used = new Array(rows).fill(0);
  const p = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, x[at(b, c, v)]!);
      let z = 0;
      for (let c = 0; c < C; c++) {
        const xi = x[at(b, c, v)]!;
        p[c] = act === 1 ? 1 / (1 + Math.exp(-xi)) : act === 2 ? Math.exp(xi - max) : xi;
        z += p[c]!;
      }
      for (let c = first; c < C; c++) {
        const pc = act === 2 ? p[c]! / z : p[c]!;
        const g =
          target.kind === "label"
            ? Number((target.source.array as ArrayLike<number>)[b * S + v] === c)
            : target.source.array[at(b, c, v)]!;
        const row = (batch ? 0 : b) * K + (c - first);
        const p32 = Math.fround(pc);
        const pg32 = Math.fround(p32 * g);
        const s32 = f32[row]!;
        s32[0] = Math.fround(s32[0] + pg32);
        s32[1] = Math.fround(s32[1] + p32);
        s32[2] = Math.fround(s32[2] + g);
        const s64 = f64[row]!;
        s64[0] += pc * g;
        s64[1] += pc;
        s64[2] += g;
        const k = used[row]++;
        terms[row]![0]![k] = pg32;
        terms[row]![1]![k] = p32;
        terms[row]![2]![k] = g;
        mismatch[row]!.add(pc * (1 - g));
        mismatch[row]!.add(g * (1 - pc));
        denominator[row]!.add(pc);
        denominator[row]!.add(g);
        const [tpSum, pSum, gSum] = exactSums[row]!;
        tpSum!.addProduct(pc, g);
        pSum!.add(pc);
        gSum!.add(g);
      }
    }
  }
  return f32.map((s, row) => ({
    f32: s,
    pairwise: terms[row]!.map((t) => pairwise(t, 0, used[row])) as [number, number, number],
    f64: f64[row]!,
    exactMismatch: mismatch[row]!.value(),
    exactDenominator: denominator[row]!.value(),
    exactSums: exactSums[row]!.map((e) => e.value()) as [number, number, number],
  }));
}

/** Pairwise (cascade) summation in float32, blocks of 8 added sequentially, as NumPy does. */
function pairwise(t: Float32Array, from: number, to: number): number {
  if (to - from <= 8) {
    let s = 0;
    for (let i = from; i < to; i++) s = Math.fround(s + t[i]!);
    return s;
  }
  const mid = from + ((to - from) >> 1);
  return Math.fround(pairwise(t, from, mid) + pairwise(t, mid, to));
}
