// The losses as functions of the statistics, in float64, and their partial
// derivatives. Numerators are sums of non-negative terms: no `1 − dice`, so a
// loss near 0 keeps all its digits and a valid input never gives a negative loss.

import { COEF_A, COEF_B, COEF_H, COEF_K, COEFS } from "./kernel-codes.js";
import type { RawStats } from "./passes.js";

/** Statistics of the classes kept, summed over the batch when `batch`: [rows][C]. */
export interface Reduced {
  rows: number;
  C: number;
  /** original class index of each kept class */
  classes: number[];
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  se: Float64Array;
  /** target volume Σg of each (row, class) */
  ground: Float64Array;
}

export interface Partials {
  /** loss per row and class ([rows][C]), or per row (generalized Dice: [rows]) */
  f: Float64Array;
  /** ∂f/∂stat per (row, class); for per-row losses, ∂f_row/∂stat_(row, c) */
  dtp: Float64Array;
  dfp: Float64Array;
  dfn: Float64Array;
  dse: Float64Array;
}

/**
 * Drops class 0 unless `includeBackground` (or C = 1), and sums over the batch
 * when `batch` — MONAI's order. For label maps Σg is the exact label count.
 */
export function reduceStats(
  raw: RawStats,
  B: number,
  C: number,
  includeBackground: boolean,
  batch: boolean,
  labels: boolean,
): Reduced {
  const classes = [...Array(C).keys()].filter((c) => includeBackground || C === 1 || c > 0);
  const rows = batch ? 1 : B;
  const K = classes.length;
  const r: Reduced = {
    rows,
    C: K,
    classes,
    tp: new Float64Array(rows * K),
    fp: new Float64Array(rows * K),
    fn: new Float64Array(rows * K),
    se: new Float64Array(rows * K),
    ground: new Float64Array(rows * K),
  };
  for (let b = 0; b < B; b++) {
    const row = batch ? 0 : b;
    classes.forEach((c, j) => {
      const from = b * C + c;
      const to = row * K + j;
      r.tp[to] = r.tp[to]! + raw.tp[from]!;
      r.fp[to] = r.fp[to]! + raw.fp[from]!;
      r.fn[to] = r.fn[to]! + raw.fn[from]!;
      r.se[to] = r.se[to]! + raw.se[from]!;
      r.ground[to] = r.ground[to]! + (labels ? raw.count[from]! : raw.tp[from]! + raw.fn[from]!);
    });
  }
  return r;
}

/**
 * The Dice family in one form:
 *   f = (α·fp + β·fn + σ·se + sd − sn) / (τ·tp + α·fp + β·fn + σ·se + sd)
 * Dice (τ, α, β, σ) = (2, 1, 1, 0); Jaccard (2, 2, 2, 0); squared-denominator
 * Dice (2, 0, 0, 1) and Jaccard (2, 0, 0, 2); Tversky (1, α, β, 0). Each equals
 * MONAI's 1 − numerator/denominator; D − N = τ·tp + sn gives the partials
 * without cancellation: ∂f/∂tp = −τN/D², ∂f/∂{fp, fn, se} = {α, β, σ}(τ·tp + sn)/D².
 */
export interface RatioForm {
  tau: number;
  alpha: number;
  beta: number;
  sigma: number;
}

export function ratioLoss(r: Reduced, form: RatioForm, smoothNr: number, smoothDr: number): Partials {
  const n = r.rows * r.C;
  const out: Partials = {
    f: new Float64Array(n),
    dtp: new Float64Array(n),
    dfp: new Float64Array(n),
    dfn: new Float64Array(n),
    dse: new Float64Array(n),
  };
  const { tau, alpha, beta, sigma } = form;
  const gap = smoothDr - smoothNr;
  for (let i = 0; i < n; i++) {
    const mismatch = alpha * r.fp[i]! + beta * r.fn[i]! + sigma * r.se[i]!;
    const N = mismatch + gap;
    const D = tau * r.tp[i]! + mismatch + smoothDr;
    const common = (tau * r.tp[i]! + smoothNr) / (D * D);
    out.f[i] = N / D;
    out.dtp[i] = (-tau * N) / (D * D);
    out.dfp[i] = alpha * common;
    out.dfn[i] = beta * common;
    out.dse[i] = sigma * common;
  }
  return out;
}

export type WeightType = "square" | "simple" | "uniform";

/**
 * Generalized Dice (Sudre et al. 2017) per row:
 *   f = (Σ_c w_c(fp_c + fn_c) + sd − sn) / (Σ_c w_c(2tp_c + fp_c + fn_c) + sd)
 * with w_c = 1/(Σg)², 1/Σg or 1. A class absent from the row's target has an
 * infinite weight; as in MONAI it takes the row's largest finite weight instead.
 * w depends on the target only, so it is a constant of the gradient.
 */
export function generalizedDice(
  r: Reduced,
  wType: WeightType,
  smoothNr: number,
  smoothDr: number,
): Partials & { weights: Float64Array } {
  const { rows, C } = r;
  const out = {
    f: new Float64Array(rows),
    dtp: new Float64Array(rows * C),
    dfp: new Float64Array(rows * C),
    dfn: new Float64Array(rows * C),
    dse: new Float64Array(rows * C),
    weights: new Float64Array(rows * C),
  };
  for (let row = 0; row < rows; row++) {
    let largest = 0;
    for (let c = 0; c < C; c++) {
      const g = r.ground[row * C + c]!;
      const w = wType === "square" ? 1 / (g * g) : wType === "simple" ? 1 / g : 1;
      out.weights[row * C + c] = w;
      if (Number.isFinite(w)) largest = Math.max(largest, w);
    }
    let mismatch = 0;
    let overlap = 0;
    for (let c = 0; c < C; c++) {
      const i = row * C + c;
      if (!Number.isFinite(out.weights[i]!)) out.weights[i] = largest;
      mismatch += out.weights[i]! * (r.fp[i]! + r.fn[i]!);
      overlap += out.weights[i]! * 2 * r.tp[i]!;
    }
    const N = mismatch + (smoothDr - smoothNr);
    const D = overlap + mismatch + smoothDr;
    out.f[row] = N / D;
    const common = (overlap + smoothNr) / (D * D);
    for (let c = 0; c < C; c++) {
      const i = row * C + c;
      const w = out.weights[i]!;
      out.dtp[i] = (-2 * w * N) / (D * D);
      out.dfp[i] = w * common;
      out.dfn[i] = w * common;
    }
  }
  return out;
}

/**
 * Kernel coefficients (a, b, k, h) per (batch item, class) from the partials of
 * the reduced loss, `scale[row·C + j]` times ∂f/∂stat, mapped back to every
 * batch item and original class (0 for dropped classes):
 *   hard labels: dL/dp = L_fp + (L_tp − L_fp − L_fn)·g + 2·L_se·(p − g)
 *   soft labels: dL/dp = L_fp where p > g, L_tp − L_fn where p < g, their mean at p = g
 */
export function kernelCoefficients(
  r: Reduced,
  d: Partials,
  scale: Float64Array,
  B: number,
  C: number,
  soft: boolean,
): Float64Array {
  const coef = new Float64Array(B * C * COEFS);
  for (let b = 0; b < B; b++) {
    const row = r.rows === 1 ? 0 : b;
    r.classes.forEach((c, j) => {
      const i = row * r.C + j;
      const s = scale[i]!;
      const [tp, fp, fn, se] = [s * d.dtp[i]!, s * d.dfp[i]!, s * d.dfn[i]!, s * d.dse[i]!];
      const o = (b * C + c) * COEFS;
      if (soft) {
        coef[o + COEF_A] = (fp + tp - fn) / 2;
        coef[o + COEF_H] = (fp - (tp - fn)) / 2;
      } else {
        coef[o + COEF_A] = fp;
        coef[o + COEF_B] = tp - fp - fn;
        coef[o + COEF_K] = 2 * se;
      }
    });
  }
  return coef;
}
