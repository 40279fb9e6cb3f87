// Pass 1: overlap statistics of one class plane, or of an interleaved chunk.
//
// For probabilities p and targets g of one class, accumulates
//   tp = Σ p·g,  fp = Σ p·(1−g),  fn = Σ (1−p)·g              (hard labels)
//   tp = Σ min(p,g), fp = Σ (p−g)⁺, fn = Σ (g−p)⁺              (soft labels)
//   se = Σ (p−g)²                                              (squared mode only)
//   count = Σ [label = cls]                                    (label maps only)
//   ce = Σ g·(−ln p)                                           (with the cross-entropy flag)
// Each term is non-negative for p, g ∈ [0, 1], so compensated summation gives a
// relative error bounded independently of n:
//   - a term is rounded at most twice (1−g, then the product): ≤ 2u;
//   - a mini-block of 8 vectors is added pairwise in float32: ≤ 3u;
//   - mini-block sums enter a Kahan sum per lane: ≤ 2u + O(m·u²), m ≤ 2^12 per call;
//   - lane totals are widened to float64 and added to the caller's block.
// So |error| ≤ 7u·(true sum) + tiny, with u = 2^-24: 3.5 float32 ulps. The
// mini-block makes Kahan's dependency chain 8× shorter and amortises its four
// operations, which is what brings this kernel to memory bandwidth.
//
// Label maps are read as they are (1, 2 or 4 bytes a voxel) and compared with the
// class id; the 0/1 target then selects terms with bitwise ops, so tp, fp and the
// count have exact terms. `count` is exact (integer lanes in SIMD, whole floats below 2^24 in scalar),
// so labels that match no class — out of range, negative, fractional, NaN — show up
// for free: the counts over all classes fall short of the voxel count. With labels
// the soft-label terms equal the hard ones (for p in [0, 1]), so both use the latter.
import { add, countIn, countLane, drop, interleavedMask, keep, labelMask, lane, mul, one, pmax, pmin, splat, sub, width } from "./lanes";
import { negLog, P_MIN } from "./math";

export const MODE_HARD = 0;
export const MODE_SOFT = 1;
export const MODE_SQUARED = 2;
/** Added to MODE_HARD: also accumulate the cross-entropy Σ g·(−ln p). */
export const WITH_CE = 4;

/** What the target is: a float mask, labels (W a vector), or labels of 2 or 4 interleaved classes. */
const MASK = 0;
const LABELS = 1;
const INTERLEAVED_2 = 2;
const INTERLEAVED_4 = 4;

const TP = 0;
const FP = 1;
const FN = 2;
const SE = 3;
const COUNT = 4;
const CE = 5;

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

/**
 * g·(−ln p), p clamped to 2^-126 first: a class whose probability underflowed
 * costs at most 87.34 nats, where the exact log-softmax would go on growing
 * with the logit gap (beyond float32's range of probabilities).
 */
// @ts-ignore: decorator
@inline function ceTerm<V>(p: V, g: V, kind: i32): V {
  const nats = negLog<V>(pmax<V>(p, splat<V>(P_MIN)));
  return kind == MASK ? mul<V>(g, nats) : keep<V>(nats, g);
}

// @ts-ignore: decorator
@inline function sum4<V>(a: V, b: V, c: V, d: V): V {
  return add<V>(add<V>(a, b), add<V>(c, d));
}

/** Targets of the vector at element offset j of `t`: the mask itself (float), or a label mask. */
// @ts-ignore: decorator
@inline function targetAt<V, T>(t: usize, j: i32, cls: i32, kind: i32): V {
  if (kind == MASK) return load<V>(t + (<usize>j << 2));
  if (kind == LABELS) return labelMask<V, T>(t + <usize>j * sizeof<T>(), cls);
  // interleaved: kind is the class count, a constant, so j / kind is a shift
  const labels = t + (<usize>j / <usize>kind) * sizeof<T>();
  if (isVector<V>()) return interleavedMask<T>(labels, kind);
  return labelMask<V, T>(labels, j % kind); // one element: its class is j mod C
}

/** The tp, fp, fn or se term of a vector: from p and g for masks, by selection for labels. */
// @ts-ignore: decorator
@inline function term<V>(k: i32, p: V, g: V, kind: i32, mode: i32): V {
  if (kind == MASK) {
    if (k == CE) return ceTerm<V>(p, g, kind);
    if (k == TP) return tpTerm<V>(p, g, mode);
    if (k == FP) return fpTerm<V>(p, g, mode);
    if (k == FN) return fnTerm<V>(p, g, mode);
    return seTerm<V>(p, g);
  }
  if (k == CE) return ceTerm<V>(p, g, kind);
  if (k == TP) return keep<V>(p, g);
  if (k == FP) return drop<V>(p, g);
  if (k == FN) return keep<V>(sub<V>(splat<V>(1), p), g);
  return seTerm<V>(p, one<V>(g));
}

/** Byte offset of stat k, lane j in the output block (float64[6][W]). */
// @ts-ignore: decorator
@inline function slot<V>(out: usize, k: i32, j: i32): usize {
  return out + (<usize>(k * width<V>() + j) << 3);
}

// @ts-ignore: decorator
@inline function addTo<V>(out: usize, k: i32, j: i32, x: f64): void {
  store<f64>(slot<V>(out, k, j), load<f64>(slot<V>(out, k, j)) + x);
}

/** Pairwise sum of stat k's terms over a mini-block of 8 vectors. */
// @ts-ignore: decorator
@inline function block8<V>(
  k: i32, p0: V, p1: V, p2: V, p3: V, p4: V, p5: V, p6: V, p7: V,
  g0: V, g1: V, g2: V, g3: V, g4: V, g5: V, g6: V, g7: V, kind: i32, mode: i32,
): V {
  return add<V>(
    sum4<V>(term<V>(k, p0, g0, kind, mode), term<V>(k, p1, g1, kind, mode), term<V>(k, p2, g2, kind, mode), term<V>(k, p3, g3, kind, mode)),
    sum4<V>(term<V>(k, p4, g4, kind, mode), term<V>(k, p5, g5, kind, mode), term<V>(k, p6, g6, kind, mode), term<V>(k, p7, g7, kind, mode)),
  );
}

/**
 * Adds the statistics of n elements to the float64[6][W] block at `out`.
 * Lane j only ever sees elements ≡ j (mod W).
 */
// @ts-ignore: decorator
@inline function accumulate<V, T>(
  p: usize, t: usize, n: i32, cls: i32, kind: i32, terms: i32, ce: bool, out: usize,
): void {
  const W = width<V>();
  let tpS = splat<V>(0), tpC = splat<V>(0);
  let fpS = splat<V>(0), fpC = splat<V>(0);
  let fnS = splat<V>(0), fnC = splat<V>(0);
  let seS = splat<V>(0), seC = splat<V>(0);
  let ceS = splat<V>(0), ceC = splat<V>(0);
  let count = splat<V>(0);
  let i = 0;
  // a walking pointer with constant offsets keeps address arithmetic out of the loop
  let pi = p;
  for (; i + 8 * W <= n; i += 8 * W) {
    const p0 = load<V>(pi);
    const p1 = load<V>(pi, sizeof<V>());
    const p2 = load<V>(pi, 2 * sizeof<V>());
    const p3 = load<V>(pi, 3 * sizeof<V>());
    const p4 = load<V>(pi, 4 * sizeof<V>());
    const p5 = load<V>(pi, 5 * sizeof<V>());
    const p6 = load<V>(pi, 6 * sizeof<V>());
    const p7 = load<V>(pi, 7 * sizeof<V>());
    pi += 8 * sizeof<V>();
    const g0 = targetAt<V, T>(t, i, cls, kind);
    const g1 = targetAt<V, T>(t, i + W, cls, kind);
    const g2 = targetAt<V, T>(t, i + 2 * W, cls, kind);
    const g3 = targetAt<V, T>(t, i + 3 * W, cls, kind);
    const g4 = targetAt<V, T>(t, i + 4 * W, cls, kind);
    const g5 = targetAt<V, T>(t, i + 5 * W, cls, kind);
    const g6 = targetAt<V, T>(t, i + 6 * W, cls, kind);
    const g7 = targetAt<V, T>(t, i + 7 * W, cls, kind);
    if (kind != MASK) {
      count = countIn<V>(countIn<V>(countIn<V>(countIn<V>(count, g0), g1), g2), g3);
      count = countIn<V>(countIn<V>(countIn<V>(countIn<V>(count, g4), g5), g6), g7);
    }
    // Kahan: y = x − c; s' = s + y; c = (s' − s) − y
    let x = block8<V>(TP, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, kind, terms);
    let y = sub<V>(x, tpC);
    let s = add<V>(tpS, y);
    tpC = sub<V>(sub<V>(s, tpS), y);
    tpS = s;
    x = block8<V>(FP, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, kind, terms);
    y = sub<V>(x, fpC);
    s = add<V>(fpS, y);
    fpC = sub<V>(sub<V>(s, fpS), y);
    fpS = s;
    x = block8<V>(FN, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, kind, terms);
    y = sub<V>(x, fnC);
    s = add<V>(fnS, y);
    fnC = sub<V>(sub<V>(s, fnS), y);
    fnS = s;
    if (terms == MODE_SQUARED) {
      x = block8<V>(SE, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, kind, terms);
      y = sub<V>(x, seC);
      s = add<V>(seS, y);
      seC = sub<V>(sub<V>(s, seS), y);
      seS = s;
    }
    if (ce) {
      x = block8<V>(CE, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, kind, terms);
      y = sub<V>(x, ceC);
      s = add<V>(ceS, y);
      ceC = sub<V>(sub<V>(s, ceS), y);
      ceS = s;
    }
  }
  for (let j = 0; j < W; j++) {
    addTo<V>(out, TP, j, lane<V>(tpS, j) - lane<V>(tpC, j));
    addTo<V>(out, FP, j, lane<V>(fpS, j) - lane<V>(fpC, j));
    addTo<V>(out, FN, j, lane<V>(fnS, j) - lane<V>(fnC, j));
    addTo<V>(out, SE, j, lane<V>(seS, j) - lane<V>(seC, j));
    addTo<V>(out, COUNT, j, countLane<V>(count, j));
    addTo<V>(out, CE, j, lane<V>(ceS, j) - lane<V>(ceC, j));
  }
  // Less than a mini-block left: one element at a time, each term added in
  // float64 to lane (i mod W).
  for (; i < n; i++) {
    const pk = load<f32>(p + (<usize>i << 2));
    const g = targetAt<f32, T>(t, i, cls, kind);
    const j = i & (W - 1);
    addTo<V>(out, TP, j, <f64>term<f32>(TP, pk, g, kind, terms));
    addTo<V>(out, FP, j, <f64>term<f32>(FP, pk, g, kind, terms));
    addTo<V>(out, FN, j, <f64>term<f32>(FN, pk, g, kind, terms));
    if (terms == MODE_SQUARED) addTo<V>(out, SE, j, <f64>term<f32>(SE, pk, g, kind, terms));
    if (kind != MASK) addTo<V>(out, COUNT, j, <f64>g);
    if (ce) addTo<V>(out, CE, j, <f64>term<f32>(CE, pk, g, kind, terms));
  }
}

// @ts-ignore: decorator
@inline function statsOf<V, T>(p: usize, t: usize, n: i32, cls: i32, kind: i32, mode: i32, out: usize): void {
  // one specialised loop per mode
  if (mode == MODE_HARD + WITH_CE) accumulate<V, T>(p, t, n, cls, kind, MODE_HARD, true, out);
  else if (mode == MODE_SOFT) accumulate<V, T>(p, t, n, cls, kind, MODE_SOFT, false, out);
  else if (mode == MODE_SQUARED) accumulate<V, T>(p, t, n, cls, kind, MODE_SQUARED, false, out);
  else accumulate<V, T>(p, t, n, cls, kind, MODE_HARD, false, out);
}

// @ts-ignore: decorator
@inline function stats<T>(p: usize, t: usize, n: i32, cls: i32, kind: i32, mode: i32, out: usize): void {
  if (ASC_FEATURE_SIMD) statsOf<v128, T>(p, t, n, cls, kind, mode, out);
  else statsOf<f32, T>(p, t, n, cls, kind, mode, out);
}

/**
 * Adds the statistics of n probabilities at `p` against the float mask at `t`
 * (bytes; n elements each, contiguous) to the float64[6][W] block at `out`
 * (stats tp, fp, fn, se, count, ce; W = 4 lanes in the SIMD build, 1 in the scalar).
 * Lane j holds elements i ≡ j (mod W), so a channels-last chunk with C dividing
 * W keeps class j mod C in lane j. mode: 0 hard, 1 soft labels, 2 hard + se, 4 hard + ce (WITH_CE).
 */
export function statsMask(p: usize, t: usize, n: i32, mode: i32, out: usize): void {
  stats<f32>(p, t, n, 0, MASK, mode, out);
}

/** As statsMask for class `cls` against n labels of type u8 at `t`; also counts matches. */
export function statsLabelU8(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<u8>(p, t, n, cls, LABELS, mode, out);
}

/** As statsLabelU8, for u16 labels. */
export function statsLabelU16(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<u16>(p, t, n, cls, LABELS, mode, out);
}

/** As statsLabelU8, for i32 labels. */
export function statsLabelI32(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<i32>(p, t, n, cls, LABELS, mode, out);
}

/** As statsLabelU8, for f32 labels (a fractional label matches no class). */
export function statsLabelF32(p: usize, t: usize, n: i32, cls: i32, mode: i32, out: usize): void {
  stats<f32>(p, t, n, cls, LABELS, mode, out);
}

// @ts-ignore: decorator
@inline function interleaved<T>(p: usize, t: usize, n: i32, numClasses: i32, mode: i32, out: usize): void {
  // needs lanes, so the scalar build never calls it (it makes class planes instead)
  if (!ASC_FEATURE_SIMD) return;
  if (numClasses == 4) statsOf<v128, T>(p, t, n, 0, INTERLEAVED_4, mode, out);
  else statsOf<v128, T>(p, t, n, 0, INTERLEAVED_2, mode, out);
}

/**
 * SIMD build: statistics of a channels-last chunk with numClasses = 2 or 4,
 * n = voxels × numClasses probabilities at `p` against voxels labels at `t`,
 * all classes at once (lane j holds class j mod numClasses).
 */
export function statsInterleavedU8(p: usize, t: usize, n: i32, numClasses: i32, mode: i32, out: usize): void {
  interleaved<u8>(p, t, n, numClasses, mode, out);
}

/** As statsInterleavedU8, for u16 labels. */
export function statsInterleavedU16(p: usize, t: usize, n: i32, numClasses: i32, mode: i32, out: usize): void {
  interleaved<u16>(p, t, n, numClasses, mode, out);
}

/** As statsInterleavedU8, for i32 labels. */
export function statsInterleavedI32(p: usize, t: usize, n: i32, numClasses: i32, mode: i32, out: usize): void {
  interleaved<i32>(p, t, n, numClasses, mode, out);
}

/** As statsInterleavedU8, for f32 labels. */
export function statsInterleavedF32(p: usize, t: usize, n: i32, numClasses: i32, mode: i32, out: usize): void {
  interleaved<f32>(p, t, n, numClasses, mode, out);
}
