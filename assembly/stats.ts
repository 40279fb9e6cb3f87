// Pass 1: overlap statistics of one class plane.
//
// For probabilities p and targets g of one class, accumulates
//   tp = Σ p·g,  fp = Σ p·(1−g),  fn = Σ (1−p)·g              (hard labels)
//   tp = Σ min(p,g), fp = Σ (p−g)⁺, fn = Σ (g−p)⁺              (soft labels)
//   se = Σ (p−g)²                                              (squared mode only)
//   count = Σ [label = cls]                                    (label maps only)
// Each term is non-negative for p, g ∈ [0, 1], so compensated summation gives a
// relative error bounded independently of n:
//   - a term is rounded at most twice (1−g, then the product): ≤ 2u;
//   - a mini-block of 4 vectors is added pairwise in float32: ≤ 2u;
//   - mini-block sums enter a Kahan sum per lane: ≤ 2u + O(m·u²), m ≤ 2^12 per call;
//   - lane totals are widened to float64 and added to the caller's block.
// So |error| ≤ 6u·(true sum) + tiny, with u = 2^-24: three float32 ulps. The
// mini-block makes Kahan's latency-bound dependency chain 4× shorter, which is
// what lets this kernel run at memory bandwidth.
//
// Label maps are read as they are (1, 2 or 4 bytes a voxel) and compared with the
// class id. `count` is exact (whole numbers far below 2^24 per lane), so labels
// that match no class — out of range, negative, fractional, NaN — show up for free:
// the counts over all classes fall short of the voxel count.
import { add, labelIs, lane, mul, pmax, pmin, splat, sub, width } from "./lanes";

export const MODE_HARD = 0;
export const MODE_SOFT = 1;
export const MODE_SQUARED = 2;

const TP = 0;
const FP = 1;
const FN = 2;
const SE = 3;
const COUNT = 4;

// @ts-ignore: decorator
@inline function tpTerm<V>(p: V, g: V, mode: i32): V {
  return mode == MODE_SOFT ? pmin<V>(p, g) : mul<V>(p, g);
}

// pmax keeps a NaN in p − g, so NaN input always reaches fp and fn
// @ts-ignore: decorator
@inline function fpTerm<V>(p: V, g: V, mode: i32): V {
  return mode == MODE_SOFT ? pmax<V>(sub<V>(p, g), splat<V>(0)) : mul<V>(p, sub<V>(splat<V>(1), g));
}

// @ts-ignore: decorator
@inline function fnTerm<V>(p: V, g: V, mode: i32): V {
  return mode == MODE_SOFT ? pmax<V>(sub<V>(g, p), splat<V>(0)) : mul<V>(sub<V>(splat<V>(1), p), g);
}

// @ts-ignore: decorator
@inline function seTerm<V>(p: V, g: V): V {
  const d = sub<V>(p, g);
  return mul<V>(d, d);
}

// @ts-ignore: decorator
@inline function sum4<V>(a: V, b: V, c: V, d: V): V {
  return add<V>(add<V>(a, b), add<V>(c, d));
}

/** Target lanes at element i: the mask itself, or 1.0 where the label equals `cls`. */
// @ts-ignore: decorator
@inline function targetAt<V, T>(t: usize, i: i32, cls: i32, isMask: bool): V {
  if (isMask) return load<V>(t + (<usize>i << 2));
  return labelIs<V, T>(t + <usize>i * sizeof<T>(), cls);
}

/** Byte offset of stat k, lane j in the output block (float64[5][W]). */
// @ts-ignore: decorator
@inline function slot<V>(out: usize, k: i32, j: i32): usize {
  return out + (<usize>(k * width<V>() + j) << 3);
}

// @ts-ignore: decorator
@inline function addTo<V>(out: usize, k: i32, j: i32, x: f64): void {
  store<f64>(slot<V>(out, k, j), load<f64>(slot<V>(out, k, j)) + x);
}

/** Adds the statistics of n elements to the float64[5][W] block at `out`. */
// @ts-ignore: decorator
@inline function accumulate<V, T>(p: usize, t: usize, n: i32, cls: i32, isMask: bool, mode: i32, out: usize): void {
  const W = width<V>();
  let tpS = splat<V>(0), tpC = splat<V>(0);
  let fpS = splat<V>(0), fpC = splat<V>(0);
  let fnS = splat<V>(0), fnC = splat<V>(0);
  let seS = splat<V>(0), seC = splat<V>(0);
  let count = splat<V>(0);
  let i = 0;
  // walking pointers with constant offsets keep address arithmetic out of the loop
  let pi = p;
  let ti = t;
  for (; i + 4 * W <= n; i += 4 * W) {
    const p0 = load<V>(pi);
    const p1 = load<V>(pi, sizeof<V>());
    const p2 = load<V>(pi, 2 * sizeof<V>());
    const p3 = load<V>(pi, 3 * sizeof<V>());
    const g0 = targetAt<V, T>(ti, 0, cls, isMask);
    const g1 = targetAt<V, T>(ti, W, cls, isMask);
    const g2 = targetAt<V, T>(ti, 2 * W, cls, isMask);
    const g3 = targetAt<V, T>(ti, 3 * W, cls, isMask);
    pi += 4 * sizeof<V>();
    ti += <usize>(4 * W) * (isMask ? 4 : sizeof<T>());
    if (!isMask) count = add<V>(count, sum4<V>(g0, g1, g2, g3));
    // Kahan: y = x − c; s' = s + y; c = (s' − s) − y
    let x = sum4<V>(tpTerm<V>(p0, g0, mode), tpTerm<V>(p1, g1, mode), tpTerm<V>(p2, g2, mode), tpTerm<V>(p3, g3, mode));
    let y = sub<V>(x, tpC);
    let s = add<V>(tpS, y);
    tpC = sub<V>(sub<V>(s, tpS), y);
    tpS = s;
    x = sum4<V>(fpTerm<V>(p0, g0, mode), fpTerm<V>(p1, g1, mode), fpTerm<V>(p2, g2, mode), fpTerm<V>(p3, g3, mode));
    y = sub<V>(x, fpC);
    s = add<V>(fpS, y);
    fpC = sub<V>(sub<V>(s, fpS), y);
    fpS = s;
    x = sum4<V>(fnTerm<V>(p0, g0, mode), fnTerm<V>(p1, g1, mode), fnTerm<V>(p2, g2, mode), fnTerm<V>(p3, g3, mode));
    y = sub<V>(x, fnC);
    s = add<V>(fnS, y);
    fnC = sub<V>(sub<V>(s, fnS), y);
    fnS = s;
    if (mode == MODE_SQUARED) {
      x = sum4<V>(seTerm<V>(p0, g0), seTerm<V>(p1, g1), seTerm<V>(p2, g2), seTerm<V>(p3, g3));
      y = sub<V>(x, seC);
      s = add<V>(seS, y);
      seC = sub<V>(sub<V>(s, seS), y);
      seS = s;
    }
  }
  for (let j = 0; j < W; j++) {
    addTo<V>(out, TP, j, lane<V>(tpS, j) - lane<V>(tpC, j));
    addTo<V>(out, FP, j, lane<V>(fpS, j) - lane<V>(fpC, j));
    addTo<V>(out, FN, j, lane<V>(fnS, j) - lane<V>(fnC, j));
    addTo<V>(out, SE, j, lane<V>(seS, j) - lane<V>(seC, j));
    addTo<V>(out, COUNT, j, lane<V>(count, j));
  }
  // Less than a mini-block left: one element at a time, each term added in
  // float64 to lane (i mod W), so lane j still only sees elements ≡ j (mod W).
  for (; i < n; i++) {
    const pk = load<f32>(p + (<usize>i << 2));
    const gi = targetAt<f32, T>(t, i, cls, isMask);
    const j = i & (W - 1);
    addTo<V>(out, TP, j, <f64>tpTerm<f32>(pk, gi, mode));
    addTo<V>(out, FP, j, <f64>fpTerm<f32>(pk, gi, mode));
    addTo<V>(out, FN, j, <f64>fnTerm<f32>(pk, gi, mode));
    if (mode == MODE_SQUARED) addTo<V>(out, SE, j, <f64>seTerm<f32>(pk, gi));
    if (!isMask) addTo<V>(out, COUNT, j, <f64>gi);
  }
}

// @ts-ignore: decorator
@inline function stats<T>(p: usize, t: usize, n: i32, cls: i32, isMask: bool, mode: i32, out: usize): void {
  // one specialised loop per (lane type, mode)
  if (ASC_FEATURE_SIMD) {
    if (mode == MODE_SOFT) accumulate<v128, T>(p, t, n, cls, isMask, MODE_SOFT, out);
    else if (mode == MODE_SQUARED) accumulate<v128, T>(p, t, n, cls, isMask, MODE_SQUARED, out);
    else accumulate<v128, T>(p, t, n, cls, isMask, MODE_HARD, out);
  } else {
    if (mode == MODE_SOFT) accumulate<f32, T>(p, t, n, cls, isMask, MODE_SOFT, out);
    else if (mode == MODE_SQUARED) accumulate<f32, T>(p, t, n, cls, isMask, MODE_SQUARED, out);
    else accumulate<f32, T>(p, t, n, cls, isMask, MODE_HARD, out);
  }
}

/**
 * Adds the statistics of n probabilities at `p` against the float mask at `t`
 * (bytes; n elements each, contiguous) to the float64[5][W] block at `out`
 * (stats tp, fp, fn, se, count; W = 4 lanes in the SIMD build, 1 in the scalar).
 * Lane j holds elements i ≡ j (mod W). mode: 0 hard, 1 soft labels, 2 hard + se.
 */
export function statsMask(p: usize, t: usize, n: i32, mode: i32, out: usize): void {
  stats<f32>(p, t, n, 0, true, mode, out);
}

/** As statsMask for class `cls` against n labels of type u8 at `t`; also counts matches. */
export function statsLabelU8(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<u8>(p, t, n, cls, false, mode, out);
}

/** As statsLabelU8, for u16 labels. */
export function statsLabelU16(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<u16>(p, t, n, cls, false, mode, out);
}

/** As statsLabelU8, for i32 labels. */
export function statsLabelI32(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<i32>(p, t, n, cls, false, mode, out);
}

/** As statsLabelU8, for f32 labels (a fractional label matches no class). */
export function statsLabelF32(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<f32>(p, t, n, cls, false, mode, out);
}
