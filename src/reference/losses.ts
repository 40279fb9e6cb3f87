// A plain float64 reference of every loss, written the way MONAI 1.5 writes
// them (1 − numerator/denominator on sums of the activated tensors), with none of
// the package's algebra. For tests and the precision benchmarks; it is slow.
import { elementIndex } from "../layout.js";
import type { LossKind } from "../losses.js";
import type { DiceCEOptions, GeneralizedDiceOptions, TverskyOptions } from "../options.js";
import { WasmVolume } from "../volume.js";

/** Every loss of the registry, and focalLoss. */
export type ReferenceKind = LossKind | "focal";
type AnyOptions = DiceCEOptions &
  TverskyOptions &
  GeneralizedDiceOptions & {
    gamma?: number;
    alpha?: number;
    useSoftmax?: boolean;
    lambdaFocal?: number;
    lambdaGdl?: number;
  };
type Numbers = ArrayLike<number>;

/** B, C, S and the index of element (b, c, voxel) in an array of the prediction's shape. */
function geometry(o: AnyOptions): { B: number; C: number; S: number; at: (b: number, c: number, v: number) => number } {
  const last = (o.layout ?? "channels-last") === "channels-last";
  const B = o.shape[0]!;
  const C = last ? o.shape[o.shape.length - 1]! : o.shape[1]!;
  const S = (last ? o.shape.slice(1, -1) : o.shape.slice(2)).reduce((a, b) => a * b, 1);
  return { B, C, S, at: elementIndex(last ? "channels-last" : "channels-first", C, S) };
}

/** Whether element (b, c, v) counts: its label or target element is not ignoreIndex, and its voxel's mask is not 0. */
function keptBy(o: AnyOptions, target: Numbers): (b: number, c: number, v: number) => boolean {
  const mask = o.mask instanceof WasmVolume ? o.mask.array : o.mask;
  const { C, S, at } = geometry(o);
  const labels = Boolean(o.toOnehotY) && C > 1;
  return (b, c, v) =>
    mask?.[b * S + v] !== 0 &&
    (o.ignoreIndex === undefined || (labels ? target[b * S + v] : target[at(b, c, v)]) !== o.ignoreIndex);
}

/** Per (b, c, voxel) probabilities and targets, channels-first, after activation, one-hot and background removal. */
export function referenceTensors(
  input: Numbers,
  target: Numbers,
  o: AnyOptions,
): { B: number; C: number; S: number; p: Float64Array; g: Float64Array } {
  const { B, C, S, at } = geometry(o);
  const kept = keptBy(o, target);
  let p = new Float64Array(B * C * S);
  let g = new Float64Array(B * C * S);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, input[at(b, c, v)]!);
      let total = 0;
      for (let c = 0; c < C; c++) total += Math.exp(input[at(b, c, v)]! - max);
      for (let c = 0; c < C; c++) {
        const x = input[at(b, c, v)]!;
        const i = (b * C + c) * S + v;
        if (o.sigmoid) p[i] = 1 / (1 + Math.exp(-x));
        else if (o.softmax && C > 1) p[i] = Math.exp(x - max) / total;
        else p[i] = x;
        g[i] = o.toOnehotY && C > 1 ? Number(target[b * S + v] === c) : target[at(b, c, v)]!;
        // left out: in no sum (smp's and MONAI's ignore_index: prediction and target zeroed)
        if (!kept(b, c, v)) p[i] = g[i] = 0;
      }
    }
  }
  if (o.includeBackground === false && C > 1) {
    const drop = (a: Float64Array) => {
      const out = new Float64Array(B * (C - 1) * S);
      for (let b = 0; b < B; b++) out.set(a.subarray((b * C + 1) * S, (b + 1) * C * S), b * (C - 1) * S);
      return out;
    };
    p = drop(p);
    g = drop(g);
    return { B, C: C - 1, S, p, g };
  }
  return { B, C, S, p, g };
}

/** tp, fp, fn as MONAI's compute_tp_fp_fn computes them, per (row, class). */
function tpFpFn(
  t: ReturnType<typeof referenceTensors>,
  batch: boolean,
  ord: 1 | 2,
  soft: boolean,
  decoupled: boolean,
): {
  rows: number;
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  ground: Float64Array;
} {
  const { B, C, S, p, g } = t;
  const rows = batch ? 1 : B;
  const sums = ["pg", "p", "g", "pNotG", "notPG", "pOrd", "gOrd", "dOrd"] as const;
  const acc = Object.fromEntries(sums.map((k) => [k, new Float64Array(rows * C)])) as Record<
    (typeof sums)[number],
    Float64Array
  >;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const r = (batch ? 0 : b) * C + c;
      for (let v = 0; v < S; v++) {
        const i = (b * C + c) * S + v;
        const pi = p[i]!;
        const gi = g[i]!;
        acc.pg[r]! += pi * gi;
        acc.p[r]! += pi;
        acc.g[r]! += gi;
        acc.pNotG[r]! += pi * (1 - gi);
        acc.notPG[r]! += (1 - pi) * gi;
        acc.pOrd[r]! += Math.abs(pi) ** ord;
        acc.gOrd[r]! += Math.abs(gi) ** ord;
        acc.dOrd[r]! += Math.abs(pi - gi) ** ord;
      }
    }
  }
  const n = rows * C;
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  const fn = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    if (ord === 1 && !soft) {
      tp[r] = acc.pg[r]!;
      fp[r] = decoupled ? acc.p[r]! - tp[r]! : acc.pNotG[r]!;
      fn[r] = decoupled ? acc.g[r]! - tp[r]! : acc.notPG[r]!;
    } else {
      tp[r] = (acc.pOrd[r]! + acc.gOrd[r]! - acc.dOrd[r]!) / 2;
      fp[r] = acc.pOrd[r]! - tp[r]!;
      fn[r] = acc.gOrd[r]! - tp[r]!;
    }
  }
  return { rows, tp, fp, fn, ground: acc.g };
}

function reduce(f: Float64Array, reduction: AnyOptions["reduction"]): number | Float64Array {
  if (reduction === "none") return f;
  const total = f.reduce((a, b) => a + b, 0);
  return reduction === "sum" ? total : total / f.length;
}

/** A loss in float64, as MONAI writes it. */
type Reference = (input: Numbers, target: Numbers, o: AnyOptions) => number | Float64Array;

/** The options every overlap loss reads alike, and its tensors. */
function overlapInputs(input: Numbers, target: Numbers, o: AnyOptions) {
  const t = referenceTensors(input, target, o);
  return { t, sn: o.smoothNr ?? 1e-5, sd: o.smoothDr ?? 1e-5, batch: Boolean(o.batch), soft: Boolean(o.softLabel) };
}

function referenceDice(input: Numbers, target: Numbers, o: AnyOptions): number | Float64Array {
  const { t, sn, sd, batch, soft } = overlapInputs(input, target, o);
  const ord = o.squaredPred ? 2 : 1;
  const { tp, fp, fn } = tpFpFn(t, batch, ord, soft, true);
  const half = o.jaccard ? 1 : 0.5;
  let f = tp.map((x, r) => 1 - (2 * x + sn) / (2 * (x + half * fp[r]! + half * fn[r]!) + sd));
  if (o.weight !== undefined && t.C !== 1) {
    const w = typeof o.weight === "number" ? Array(t.C).fill(o.weight) : o.weight;
    f = f.map((x, r) => x * w[r % t.C]);
  }
  return reduce(f, o.reduction);
}

function referenceTversky(input: Numbers, target: Numbers, o: AnyOptions): number | Float64Array {
  const { t, sn, sd, batch, soft } = overlapInputs(input, target, o);
  const { tp, fp, fn } = tpFpFn(t, batch, 1, soft, false);
  const alpha = o.alpha ?? 0.5;
  const beta = o.beta ?? 0.5;
  return reduce(
    tp.map((x, r) => 1 - (x + sn) / (x + alpha * fp[r]! + beta * fn[r]! + sd)),
    o.reduction,
  );
}

function referenceGeneralizedDice(input: Numbers, target: Numbers, o: AnyOptions): number | Float64Array {
  const { t, sn, sd, batch, soft } = overlapInputs(input, target, o);
  const { rows, tp, fp, fn, ground } = tpFpFn(t, batch, 1, soft, true);
  const C = t.C;
  const f = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const w = Array.from({ length: C }, (_, c) => {
      const g = ground[r * C + c]!;
      return o.wType === "simple" ? 1 / g : o.wType === "uniform" ? 1 : 1 / (g * g);
    });
    const largest = Math.max(0, ...w.filter(Number.isFinite));
    let numer = sn;
    let denom = sd;
    for (let c = 0; c < C; c++) {
      const wc = Number.isFinite(w[c]!) ? w[c]! : largest;
      const i = r * C + c;
      numer += 2 * tp[i]! * wc;
      denom += 2 * (tp[i]! + fp[i]! / 2 + fn[i]! / 2) * wc;
    }
    f[r] = 1 - numer / denom;
  }
  return reduce(f, o.reduction);
}

function referenceDiceCE(input: Numbers, target: Numbers, o: AnyOptions): number {
  // `weight` has one entry per class; the Dice term weighs the classes it keeps
  const all = typeof o.weight === "number" ? undefined : o.weight;
  const weight = all && o.includeBackground === false ? all.slice(1) : o.weight;
  const dice = referenceDice(input, target, { ...o, weight }) as number;
  const ce = o.sigmoid ? referenceBinaryCrossEntropy(input, target, o) : referenceCrossEntropy(input, target, o);
  return (o.lambdaDice ?? 1) * dice + (o.lambdaCe ?? 1) * ce;
}

/** Dice (or generalized Dice) + focal: MONAI's focal term here is the sigmoid one, whatever the Dice term's activation. */
function withFocal(overlap: Reference, gdl: boolean): Reference {
  return (input, target, o) => {
    const { gamma, alpha, lambdaDice, lambdaGdl, lambdaFocal, ...rest } = o;
    const value = overlap(input, target, gdl ? { ...rest, weight: undefined } : rest) as number;
    const focal = <number>referenceFocal(input, target, {
      ...{ shape: o.shape, layout: o.layout, toOnehotY: o.toOnehotY, includeBackground: o.includeBackground },
      ...{ weight: o.weight, gamma, alpha: gdl ? undefined : alpha, reduction: o.reduction },
      ...{ ignoreIndex: o.ignoreIndex, mask: o.mask },
    });
    return ((gdl ? lambdaGdl : lambdaDice) ?? 1) * value + (lambdaFocal ?? 1) * focal;
  };
}

/** One reference per loss of the registry (and focalLoss): a new loss cannot go without one. */
const REFERENCES: Record<ReferenceKind, Reference> = {
  dice: referenceDice,
  tversky: referenceTversky,
  generalizedDice: referenceGeneralizedDice,
  diceCE: referenceDiceCE,
  diceFocal: withFocal(referenceDice, false),
  generalizedDiceFocal: withFocal(referenceGeneralizedDice, true),
  focal: (input, target, o) => referenceFocal(input, target, o),
};

/** The loss, in float64, MONAI's way. */
export function referenceLoss(
  kind: ReferenceKind,
  input: Numbers,
  target: Numbers,
  o: AnyOptions,
): number | Float64Array {
  return REFERENCES[kind](input, target, o);
}

/**
 * PyTorch's CrossEntropyLoss on the logits (log-softmax in float64): class
 * indices with toOnehotY (weighted mean over Σ w_y), else class probabilities
 * (mean over voxels).
 */
export function referenceCrossEntropy(input: Numbers, target: Numbers, o: AnyOptions): number {
  const { B, C, S, at } = geometry(o);
  const w = (c: number) => (o.weight === undefined ? 1 : typeof o.weight === "number" ? o.weight : o.weight[c]!);
  const kept = keptBy(o, target);
  let total = 0;
  let norm = 0;
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      if (!kept(b, 0, v)) continue; // with softmax a voxel is left out whole
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, input[at(b, c, v)]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(input[at(b, c, v)]! - max);
      const lse = max + Math.log(sum);
      // label smoothing (PyTorch): the target becomes (1 − ε)·t + ε/C, the normaliser stays
      const eps = o.labelSmoothing ?? 0;
      let smooth = 0;
      for (let c = 0; c < C; c++) smooth += (w(c) * eps * (lse - input[at(b, c, v)]!)) / C;
      if (o.toOnehotY) {
        const y = target[b * S + v]!;
        total += (1 - eps) * w(y) * (lse - input[at(b, y, v)]!) + smooth;
        norm += w(y);
      } else {
        for (let c = 0; c < C; c++) total += (1 - eps) * w(c) * target[at(b, c, v)]! * (lse - input[at(b, c, v)]!);
        total += smooth;
        norm += 1;
      }
    }
  }
  return o.reduction === "sum" ? total : total / norm;
}

/** d(summed loss)/d(input) by central differences in float64, for small volumes. */
export function referenceGradient(
  kind: ReferenceKind,
  input: Numbers,
  target: Numbers,
  o: AnyOptions,
  step = 1e-6,
): Float64Array {
  const x = Float64Array.from(input);
  const total = (v: Numbers) => {
    const l = referenceLoss(kind, v, target, o);
    return typeof l === "number" ? l : l.reduce((a, b) => a + b, 0);
  };
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    const h = step * Math.max(1, Math.abs(x0));
    x[i] = x0 + h;
    const up = total(x);
    x[i] = x0 - h;
    const down = total(x);
    x[i] = x0;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/**
 * The exact gradient of MONAI's plain Dice loss (no squaring, no Jaccard, hard
 * targets), summed over classes and batch items, in float64 from the formula:
 * f = 1 − (2I + sn)/(P + G + sd), ∂f/∂p_i = −(2g_i·(P + G + sd) − (2I + sn))/(P + G + sd)²,
 * then through the activation. Scales to volumes where finite differences cannot.
 */
export function referenceDiceGradient(input: Numbers, target: Numbers, o: AnyOptions): Float64Array {
  const t = referenceTensors(input, target, { ...o, includeBackground: true });
  const { B, C, S, p, g } = t;
  const sn = o.smoothNr ?? 1e-5;
  const sd = o.smoothDr ?? 1e-5;
  const dp = new Float64Array(B * C * S);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let I = 0;
      let P = 0;
      let G = 0;
      for (let v = 0; v < S; v++) {
        const i = (b * C + c) * S + v;
        I += p[i]! * g[i]!;
        P += p[i]!;
        G += g[i]!;
      }
      const D = P + G + sd;
      for (let v = 0; v < S; v++) {
        const i = (b * C + c) * S + v;
        dp[i] = -(2 * g[i]! * D - (2 * I + sn)) / (D * D);
      }
    }
  }
  const last = (o.layout ?? "channels-last") === "channels-last";
  const grad = new Float64Array(B * C * S);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += p[(b * C + c) * S + v]! * dp[(b * C + c) * S + v]!;
      for (let c = 0; c < C; c++) {
        const i = (b * C + c) * S + v;
        const pi = p[i]!;
        let d = dp[i]!;
        if (o.sigmoid) d *= pi * (1 - pi);
        else if (o.softmax && C > 1) d = pi * (d - dot);
        grad[last ? (b * S + v) * C + c : i] = d / (o.reduction === "sum" ? 1 : B * C);
      }
    }
  }
  return grad;
}

const logSigmoid = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

/**
 * MONAI 1.5's FocalLoss in float64, as written there: sigmoid_focal_loss or
 * softmax_focal_loss on the classes kept (the softmax over those only), class
 * weights, then 'mean' over the elements kept, 'sum' of the spatial means, or
 * every element for 'none' (channels-first [B, C', S]).
 */
export function referenceFocal(input: Numbers, target: Numbers, o: AnyOptions): number | Float64Array {
  const { B, C, S, at } = geometry(o);
  const kept = keptBy(o, target);
  const c0 = o.includeBackground === false && C > 1 ? 1 : 0;
  const K = C - c0;
  const gamma = o.gamma ?? 2;
  const weight = (c: number) =>
    o.weight === undefined || K === 1 ? 1 : typeof o.weight === "number" ? o.weight : o.weight[c - c0]!;
  const terms = new Float64Array(B * K * S);
  let n = 0;
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      const x = (c: number) => input[at(b, c, v)]!;
      const t = (c: number) => (o.toOnehotY && C > 1 ? Number(target[b * S + v] === c) : target[at(b, c, v)]!);
      let max = -Infinity;
      for (let c = c0; c < C; c++) max = Math.max(max, x(c));
      // Σe − 1, without adding 1 first: ln Σe as log1p keeps its digits when one class dominates
      let rest = -1;
      for (let c = c0; c < C; c++) rest += x(c) === max ? 1 : 0;
      for (let c = c0; c < C; c++) rest += x(c) === max ? 0 : Math.exp(x(c) - max);
      for (let c = c0; c < C; c++) {
        if (!kept(b, c, v)) continue;
        n++;
        let l: number;
        // MONAI's formulas, with 1 − e^logp as −expm1 and the BCE as a sum of terms ≥ 0:
        // the same numbers, without float64's own cancellations near p = 1
        if (o.useSoftmax) {
          const logp = x(c) - max - Math.log1p(rest);
          l = -((-Math.expm1(logp)) ** gamma) * logp * t(c);
          if (o.alpha !== undefined && c0 === 0) l *= c === 0 ? 1 - o.alpha : o.alpha;
        } else {
          const xc = x(c);
          l = (1 - t(c)) * Math.max(xc, 0) + t(c) * Math.max(-xc, 0) + Math.log1p(Math.exp(-Math.abs(xc)));
          l *= Math.exp(gamma * logSigmoid(-xc * (2 * t(c) - 1)));
          if (o.alpha !== undefined) l *= t(c) * o.alpha + (1 - t(c)) * (1 - o.alpha);
        }
        terms[(b * K + c - c0) * S + v] = weight(c) * l;
      }
    }
  }
  if (o.reduction === "none") return terms;
  const total = terms.reduce((a, b) => a + b, 0);
  if (o.reduction === "sum") return total / S;
  return n > 0 ? total / n : 0;
}

/**
 * PyTorch's BCEWithLogitsLoss in float64 (MONAI's DiceCELoss for one class;
 * here for sigmoid with any C): pos_weight·t·softplus(−x) + (1 − t)·softplus(x),
 * `weight` as pos_weight, mean over the elements kept or their sum.
 */
export function referenceBinaryCrossEntropy(input: Numbers, target: Numbers, o: AnyOptions): number {
  const { B, C, S, at } = geometry(o);
  const kept = keptBy(o, target);
  const softplus = (x: number) => -logSigmoid(-x);
  const pw = (c: number) => (o.weight === undefined ? 1 : typeof o.weight === "number" ? o.weight : o.weight[c]!);
  let total = 0;
  let n = 0;
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      for (let c = 0; c < C; c++) {
        if (!kept(b, c, v)) continue;
        const x = input[at(b, c, v)]!;
        const t = o.toOnehotY && C > 1 ? Number(target[b * S + v] === c) : target[at(b, c, v)]!;
        total += pw(c) * t * softplus(-x) + (1 - t) * softplus(x);
        n++;
      }
    }
  }
  return o.reduction === "sum" ? total : n > 0 ? total / n : 0;
}
