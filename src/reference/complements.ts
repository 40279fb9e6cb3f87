// A float64 reference for near-perfect predictions. referenceLoss writes the
// losses as MONAI does, 1 − (2·tp + sn)/(Σp + Σg + sd), which even in float64
// keeps no digit once the loss falls below ~1e-12; and finite differences of it
// are noise there. This one evaluates the same float32 logits with every
// complement taken from the logits — 1 − σ(x) = σ(−x), 1 − p_c = Σ_{k≠c} p_k —
// so the loss and its gradient keep their digits at any margin. For tests.
import { elementIndex } from "../layout.js";
import type { DiceCEOptions } from "../options.js";

export interface Evaluated {
  loss: number;
  /** d(loss)/d(input), in the input's layout */
  grad: Float64Array;
}

/** Per (b, c, voxel): p and 1 − p, both exact in float64, channels-first order; and the one-hot target. */
function activated(input: ArrayLike<number>, target: ArrayLike<number>, o: DiceCEOptions) {
  const last = (o.layout ?? "channels-last") === "channels-last";
  const B = o.shape[0]!;
  const C = last ? o.shape[o.shape.length - 1]! : o.shape[1]!;
  const S = o.shape.reduce((a, b) => a * b, 1) / (B * C);
  const at = elementIndex(last ? "channels-last" : "channels-first", C, S);
  const n = B * C * S;
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  const g = new Float64Array(n);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      const x = Array.from({ length: C }, (_, c) => input[at(b, c, v)]!);
      const max = Math.max(...x);
      const e = x.map((xc) => Math.exp(xc - max));
      const total = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) {
        const i = (b * C + c) * S + v;
        if (o.sigmoid) {
          p[i] = 1 / (1 + Math.exp(-x[c]!));
          q[i] = 1 / (1 + Math.exp(x[c]!));
        } else {
          p[i] = e[c]! / total;
          q[i] = e.reduce((a, ek, k) => (k === c ? a : a + ek), 0) / total;
        }
        g[i] = o.toOnehotY ? Number(target[b * S + v] === c) : target[at(b, c, v)]!;
      }
    }
  }
  return { B, C, S, at, p, q, g };
}

/**
 * The Dice loss (MONAI's defaults: every class, mean over batch items and
 * classes; `squaredPred` for Σp² + Σg²; with `lambdaCe`, plus PyTorch's
 * cross-entropy on the logits) and its gradient, for sigmoid or softmax logits
 * and 0/1 targets — for which `softLabel` changes nothing.
 */
export function referenceKeepingDigits(
  input: ArrayLike<number>,
  target: ArrayLike<number>,
  o: DiceCEOptions,
): Evaluated {
  // this reference implements the defaults of these options only: refuse the rest rather than ignore them
  const defaults: Record<string, unknown> = {
    reduction: "mean",
    includeBackground: true,
    batch: false,
    jaccard: false,
  };
  for (const key of ["reduction", "includeBackground", "batch", "jaccard", "weight"] as const) {
    if (o[key] !== undefined && o[key] !== defaults[key]) {
      throw new Error(`referenceKeepingDigits: option ${key} is not implemented here`);
    }
  }
  const { B, C, S, at, p, q, g } = activated(input, target, o);
  const sn = o.smoothNr ?? 1e-5;
  const sd = o.smoothDr ?? 1e-5;
  const items = B * C;
  let loss = 0;
  // dL/dp = a + b·g + k·(p − g) per (b, c), from f = (fp + fn + sd − sn)/(2tp + fp + fn + sd),
  // or with the squared denominator f = (se + sd − sn)/(se + 2tp + sd)
  const a = new Float64Array(items);
  const bc = new Float64Array(items);
  const k = new Float64Array(items);
  /** p − g with 1 − p exact where g is 1 */
  const diff = (i: number) => (g[i]! ? -q[i]! : p[i]!);
  for (let r = 0; r < items; r++) {
    let tp = 0;
    let mismatch = 0;
    for (let v = 0; v < S; v++) {
      const i = r * S + v;
      tp += p[i]! * g[i]!;
      mismatch += o.squaredPred ? diff(i) ** 2 : p[i]! * (1 - g[i]!) + q[i]! * g[i]!;
    }
    const N = mismatch + (sd - sn);
    const D = 2 * tp + mismatch + sd;
    loss += N / D / items;
    const dMismatch = (2 * tp + sn) / (D * D) / items;
    const dtp = (-2 * N) / (D * D) / items;
    if (o.squaredPred) {
      bc[r] = dtp;
      k[r] = 2 * dMismatch;
    } else {
      a[r] = dMismatch;
      bc[r] = dtp - 2 * dMismatch;
    }
  }
  const grad = new Float64Array(B * C * S);
  const lambdaDice = o.lambdaDice ?? 1;
  const lambdaCe = o.lambdaCe ?? 0;
  let ce = 0;
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      const r = (c: number) => {
        const i = (b * C + c) * S + v;
        return a[b * C + c]! + bc[b * C + c]! * g[i]! + k[b * C + c]! * diff(i);
      };
      for (let c = 0; c < C; c++) {
        const i = (b * C + c) * S + v;
        let dx: number;
        if (o.sigmoid) dx = lambdaDice * r(c) * p[i]! * q[i]!;
        else {
          // p_c·Σ_{k≠c} p_k (r_c − r_k): the softmax chain rule without its cancelling difference
          dx = 0;
          for (let k = 0; k < C; k++) if (k !== c) dx += p[(b * C + k) * S + v]! * (r(c) - r(k));
          dx *= lambdaDice * p[i]!;
          // the cross-entropy's p_c − g_c, with 1 − p_c exact, over the voxel count
          if (lambdaCe) dx += (lambdaCe * (g[i]! ? -q[i]! : p[i]!)) / (B * S);
        }
        grad[at(b, c, v)] = dx;
      }
      if (lambdaCe) {
        // −ln p of the label, from the logits: ln Σ_k e^(x_k − x_l)
        const l = o.toOnehotY ? target[b * S + v]! : [...Array(C).keys()].find((c) => target[at(b, c, v)] === 1)!;
        let others = 0;
        for (let k = 0; k < C; k++) if (k !== l) others += Math.exp(input[at(b, k, v)]! - input[at(b, l, v)]!);
        ce += Math.log1p(others) / (B * S);
      }
    }
  }
  return { loss: lambdaDice * loss + lambdaCe * ce, grad };
}
