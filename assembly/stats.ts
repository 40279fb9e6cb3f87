// Pass 1, second half: the overlap statistics of a chunk, class by class.
//
// For probabilities p and targets g of one class, accumulates
//   tp = Σ p·g,  fp = Σ p·(1−g),  fn = Σ (1−p)·g              (hard targets)
//   tp = Σ min(p,g), fp = Σ (p−g)⁺, fn = Σ (g−p)⁺              (soft labels)
//   se = Σ (p−g)²                                              (squared mode)
//   count = Σ [label = c]                                      (label maps)
//   ce = Σ g·(−ln p)                                           (cross-entropy)
// 1 − p is never formed from a rounded p ≈ 1 when the activation knows better:
// activate() leaves the mass outside each voxel's label (or outside its
// dominant class, or σ(−x)), so near-perfect predictions keep their digits.
//
// Each term is non-negative for p, g ∈ [0, 1], so compensated summation gives a
// relative error bounded independently of n:
//   - a term is rounded at most twice: ≤ 2u;
//   - a mini-block of 8 vectors is added pairwise in float32: ≤ 3u;
//   - mini-block sums enter a Kahan sum per lane: ≤ 2u + O(m·u²), m ≤ 2^12 per call;
//   - lane totals are widened to float64 and added to the caller's block.
// So |error| ≤ 7u·(true sum) + tiny, with u = 2^-24. The mini-block makes
// Kahan's dependency chain 8× shorter and amortises its four operations.
//
// Label maps are compared with the class id; the 0/1 target then selects terms
// with bitwise ops, so tp, fp and the count have exact terms. `count` is exact
// (integer lanes in SIMD, whole floats below 2^24 in scalar), so labels that
// match no class — out of range, negative, fractional, NaN — show up for free:
// the counts over all classes fall short of the voxel count.
import { classAt } from "./activate";
import {
  COMP_ELEMENTS, COMP_NONE, COMP_OUTSIDE_LABEL, LABEL_F32, LABEL_I32, LABEL_LANES, LABEL_U16, LABEL_U8,
  MODE_HARD, MODE_SOFT, MODE_SQUARED, STAT_CE, STAT_COUNT, STAT_FN, STAT_FP, STAT_SE, STAT_TP, STATS, TARGET_MASK,
} from "./codes";
import { add, choose, classMask, countIn, countLane, drop, gtMask, keep, labelMask, lane, mul, pmax, pmin, splat, sub, width } from "./lanes";

/** Lanes of the output block: the build's, whatever V a loop runs on. */
const LANES: i32 = ASC_FEATURE_SIMD ? 4 : 1;

/** What the kernel reads for a chunk (pointers in bytes, plane strides in floats), as inlined constants of one call. */
// @ts-ignore: decorator
@inline function pAt<V>(p: usize, pps: usize, v: i32, c: i32, C: i32, ilv: bool): V {
  return load<V>(classAt<V>(p, v, c, C, ilv, pps));
}

/** The target of class c for the W voxels at v: the mask value, or the label mask. */
// @ts-ignore: decorator
@inline function targetAt<V, T>(t: usize, tps: usize, v: i32, c: i32, C: i32, ilv: bool, tkind: i32): V {
  if (tkind == TARGET_MASK) return load<V>(classAt<V>(t, v, c, C, ilv, tps));
  if (tkind == LABEL_LANES) return classMask<V>(load<V>(t + (<usize>v << 2)), c);
  return labelMask<V, T>(t + <usize>v * sizeof<T>(), c);
}

/** 1 − p for the W voxels at v, exact where it matters (see activate.ts). */
// @ts-ignore: decorator
@inline function compAt<V>(p: V, comp: usize, cps: usize, v: i32, c: i32, C: i32, ilv: bool, ckind: i32): V {
  if (ckind == COMP_NONE) return sub<V>(splat<V>(1), p);
  if (ckind == COMP_ELEMENTS) return load<V>(classAt<V>(comp, v, c, C, ilv, cps));
  return load<V>(comp + (<usize>v << 2)); // O, outside the label: only used under the label's mask
}

/**
 * g − p. Where g is (near) 1 and the activation left an exact 1 − p, it is
 * (1 − p) − (1 − g): from a rounded p ≈ 1 the difference would keep no digit.
 */
// @ts-ignore: decorator
@inline function gMinusP<V>(p: V, g: V, comp: V, isMask: bool, ckind: i32): V {
  if (!isMask) return choose<V>(g, comp, sub<V>(splat<V>(0), p));
  if (ckind == COMP_NONE) return sub<V>(g, p);
  return choose<V>(gtMask<V>(g, splat<V>(0.5)), sub<V>(comp, sub<V>(splat<V>(1), g)), sub<V>(g, p));
}

/**
 * The term of statistic k for the W voxels at v (class c), from p and g (loaded
 * once per mini-block) and what else k needs (loaded here).
 */
// @ts-ignore: decorator
@inline function term<V>(
  k: i32, p: V, g: V, v: i32, c: i32, C: i32, ilv: bool, tkind: i32, mode: i32,
  comp: usize, cps: usize, ckind: i32, nll: usize, d: usize,
): V {
  const isMask = tkind == TARGET_MASK;
  if (k == STAT_CE) {
    const o = <usize>v << 2;
    if (!isMask) return keep<V>(load<V>(nll + o), g);
    // −ln p = ln Σe − d
    return mul<V>(g, sub<V>(load<V>(nll + o), load<V>(classAt<V>(d, v, c, C, ilv, cps))));
  }
  if (k == STAT_TP) {
    if (!isMask) return keep<V>(p, g);
    return mode == MODE_SOFT ? pmin<V>(p, g) : mul<V>(p, g);
  }
  if (k == STAT_FP) {
    if (!isMask) return drop<V>(p, g);
    // pmax keeps a NaN in its first argument, so NaN input reaches fp and fn
    return mode == MODE_SOFT ? pmax<V>(sub<V>(p, g), splat<V>(0)) : mul<V>(p, sub<V>(splat<V>(1), g));
  }
  const q = compAt<V>(p, comp, cps, v, c, C, ilv, ckind);
  if (k == STAT_FN) {
    if (!isMask) return keep<V>(q, g);
    return mode == MODE_SOFT ? pmax<V>(gMinusP<V>(p, g, q, true, ckind), splat<V>(0)) : mul<V>(q, g);
  }
  const diff = gMinusP<V>(p, g, q, isMask, ckind); // STAT_SE
  return mul<V>(diff, diff);
}

/** Byte offset of stat k, lane j in a class's output block (float64[STATS][LANES]). */
// @ts-ignore: decorator
@inline function slot(out: usize, k: i32, j: i32): usize {
  return out + (<usize>(k * LANES + j) << 3);
}

// @ts-ignore: decorator
@inline function addTo(out: usize, k: i32, j: i32, x: f64): void {
  store<f64>(slot(out, k, j), load<f64>(slot(out, k, j)) + x);
}

// @ts-ignore: decorator
@inline function sum4<V>(a: V, b: V, c: V, d: V): V {
  return add<V>(add<V>(a, b), add<V>(c, d));
}

/** Pairwise sum of statistic k's terms over the mini-block of 8 vectors starting at voxel v. */
// @ts-ignore: decorator
@inline function mini<V>(
  k: i32, p0: V, p1: V, p2: V, p3: V, p4: V, p5: V, p6: V, p7: V, g0: V, g1: V, g2: V, g3: V, g4: V, g5: V, g6: V, g7: V,
  v: i32, c: i32, C: i32, ilv: bool, tkind: i32, mode: i32, comp: usize, cps: usize, ckind: i32, nll: usize, d: usize,
): V {
  const W = width<V>();
  return add<V>(
    sum4<V>(
      term<V>(k, p0, g0, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p1, g1, v + W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p2, g2, v + 2 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p3, g3, v + 3 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
    ),
    sum4<V>(
      term<V>(k, p4, g4, v + 4 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p5, g5, v + 5 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p6, g6, v + 6 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
      term<V>(k, p7, g7, v + 7 * W, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d),
    ),
  );
}

/**
 * Adds class c's statistics over the groups of W voxels in [v0, v1) to its block
 * at `out`: mini-blocks of 8 vectors, then (fewer than 8 left) vector by vector
 * in float64. Lane j only ever sees voxels ≡ j (mod W).
 */
// @ts-ignore: decorator
@inline function accumulate<V, T>(
  p: usize, pps: usize, t: usize, tps: usize, comp: usize, cps: usize, nll: usize, d: usize,
  v0: i32, v1: i32, c: i32, C: i32, ilv: bool, tkind: i32, ckind: i32, mode: i32, ce: bool, out: usize,
): void {
  const W = width<V>();
  const labels = tkind != TARGET_MASK;
  let tpS = splat<V>(0), tpC = splat<V>(0);
  let fpS = splat<V>(0), fpC = splat<V>(0);
  let fnS = splat<V>(0), fnC = splat<V>(0);
  let seS = splat<V>(0), seC = splat<V>(0);
  let ceS = splat<V>(0), ceC = splat<V>(0);
  let count = splat<V>(0);
  let v = v0;
  for (; v + 8 * W <= v1; v += 8 * W) {
    const p0 = pAt<V>(p, pps, v, c, C, ilv), p1 = pAt<V>(p, pps, v + W, c, C, ilv);
    const p2 = pAt<V>(p, pps, v + 2 * W, c, C, ilv), p3 = pAt<V>(p, pps, v + 3 * W, c, C, ilv);
    const p4 = pAt<V>(p, pps, v + 4 * W, c, C, ilv), p5 = pAt<V>(p, pps, v + 5 * W, c, C, ilv);
    const p6 = pAt<V>(p, pps, v + 6 * W, c, C, ilv), p7 = pAt<V>(p, pps, v + 7 * W, c, C, ilv);
    const g0 = targetAt<V, T>(t, tps, v, c, C, ilv, tkind), g1 = targetAt<V, T>(t, tps, v + W, c, C, ilv, tkind);
    const g2 = targetAt<V, T>(t, tps, v + 2 * W, c, C, ilv, tkind), g3 = targetAt<V, T>(t, tps, v + 3 * W, c, C, ilv, tkind);
    const g4 = targetAt<V, T>(t, tps, v + 4 * W, c, C, ilv, tkind), g5 = targetAt<V, T>(t, tps, v + 5 * W, c, C, ilv, tkind);
    const g6 = targetAt<V, T>(t, tps, v + 6 * W, c, C, ilv, tkind), g7 = targetAt<V, T>(t, tps, v + 7 * W, c, C, ilv, tkind);
    if (labels) {
      count = countIn<V>(countIn<V>(countIn<V>(countIn<V>(count, g0), g1), g2), g3);
      count = countIn<V>(countIn<V>(countIn<V>(countIn<V>(count, g4), g5), g6), g7);
    }
    // one pairwise mini-block per statistic, then Kahan: y = x − c; s' = s + y; c = (s' − s) − y
    let x = mini<V>(STAT_TP, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    let y = sub<V>(x, tpC);
    let s = add<V>(tpS, y);
    tpC = sub<V>(sub<V>(s, tpS), y);
    tpS = s;
    x = mini<V>(STAT_FP, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    y = sub<V>(x, fpC);
    s = add<V>(fpS, y);
    fpC = sub<V>(sub<V>(s, fpS), y);
    fpS = s;
    x = mini<V>(STAT_FN, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    y = sub<V>(x, fnC);
    s = add<V>(fnS, y);
    fnC = sub<V>(sub<V>(s, fnS), y);
    fnS = s;
    if (mode == MODE_SQUARED) {
      x = mini<V>(STAT_SE, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
      y = sub<V>(x, seC);
      s = add<V>(seS, y);
      seC = sub<V>(sub<V>(s, seS), y);
      seS = s;
    }
    if (ce) {
      x = mini<V>(STAT_CE, p0, p1, p2, p3, p4, p5, p6, p7, g0, g1, g2, g3, g4, g5, g6, g7, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
      y = sub<V>(x, ceC);
      s = add<V>(ceS, y);
      ceC = sub<V>(sub<V>(s, ceS), y);
      ceS = s;
    }
  }
  for (let j = 0; j < W; j++) {
    addTo(out, STAT_TP, j, lane<V>(tpS, j) - lane<V>(tpC, j));
    addTo(out, STAT_FP, j, lane<V>(fpS, j) - lane<V>(fpC, j));
    addTo(out, STAT_FN, j, lane<V>(fnS, j) - lane<V>(fnC, j));
    addTo(out, STAT_SE, j, lane<V>(seS, j) - lane<V>(seC, j));
    addTo(out, STAT_COUNT, j, countLane<V>(count, j));
    addTo(out, STAT_CE, j, lane<V>(ceS, j) - lane<V>(ceC, j));
  }
  // fewer than a mini-block left: vector by vector, each term added in float64
  for (; v + W <= v1; v += W) {
    const pv = pAt<V>(p, pps, v, c, C, ilv);
    const gv = targetAt<V, T>(t, tps, v, c, C, ilv, tkind);
    const tpT = term<V>(STAT_TP, pv, gv, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    const fpT = term<V>(STAT_FP, pv, gv, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    const fnT = term<V>(STAT_FN, pv, gv, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d);
    const seT = mode == MODE_SQUARED ? term<V>(STAT_SE, pv, gv, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d) : splat<V>(0);
    const ceT = ce ? term<V>(STAT_CE, pv, gv, v, c, C, ilv, tkind, mode, comp, cps, ckind, nll, d) : splat<V>(0);
    const n = labels ? countIn<V>(splat<V>(0), gv) : splat<V>(0);
    for (let j = 0; j < W; j++) {
      addTo(out, STAT_TP, j, lane<V>(tpT, j));
      addTo(out, STAT_FP, j, lane<V>(fpT, j));
      addTo(out, STAT_FN, j, lane<V>(fnT, j));
      addTo(out, STAT_SE, j, lane<V>(seT, j));
      addTo(out, STAT_CE, j, lane<V>(ceT, j));
      addTo(out, STAT_COUNT, j, countLane<V>(n, j));
    }
  }
}

// AssemblyScript specialises generics on types only, so each combination the
// kernels need (target type, mode, source of 1 − p, cross-entropy) is spelled
// with marker types and becomes its own wasm function: one small function per
// loop optimises in seconds, where one function holding them all takes minutes.
class Mask {}
class Lanes {}
class Hard {}
class Soft {}
class Squared {}
class CompNone {}
class CompElements {}
class CompOutside {}
class NoCe {}
class WithCe {}

// @ts-ignore: decorator
@inline function targetKind<T>(): i32 {
  if (isReference<T>()) {
    if (idof<T>() == idof<Mask>()) return TARGET_MASK;
    return LABEL_LANES;
  }
  if (isFloat<T>()) return LABEL_F32;
  if (sizeof<T>() == 1) return LABEL_U8;
  if (sizeof<T>() == 2) return LABEL_U16;
  return LABEL_I32;
}

// @ts-ignore: decorator
@inline function is<A, B>(): bool {
  return idof<A>() == idof<B>();
}

/** The loop for one combination: statistics of every class of the chunk. */
function statsLoop<T, M, K, E>(
  p: usize, pps: usize, t: usize, tps: usize, comp: usize, cps: usize, nll: usize, d: usize,
  nv: i32, C: i32, ilv: bool, out: usize,
): void {
  const tkind = targetKind<T>();
  const mode = is<M, Soft>() ? MODE_SOFT : is<M, Squared>() ? MODE_SQUARED : MODE_HARD;
  const ckind = is<K, CompNone>() ? COMP_NONE : is<K, CompElements>() ? COMP_ELEMENTS : COMP_OUTSIDE_LABEL;
  const ce = is<E, WithCe>();
  const main = ASC_FEATURE_SIMD ? nv & ~3 : 0;
  const block = <usize>(STATS * LANES) << 3;
  for (let c = 0; c < C; c++) {
    const o = out + <usize>c * block;
    if (isReference<T>()) {
      // the label lanes activate() leaves are i32 in SIMD; the mask is read as floats
      if (ASC_FEATURE_SIMD) accumulate<v128, i32>(p, pps, t, tps, comp, cps, nll, d, 0, main, c, C, ilv, tkind, ckind, mode, ce, o);
      accumulate<f32, f32>(p, pps, t, tps, comp, cps, nll, d, main, nv, c, C, ilv, tkind, ckind, mode, ce, o);
    } else {
      if (ASC_FEATURE_SIMD) accumulate<v128, T>(p, pps, t, tps, comp, cps, nll, d, 0, main, c, C, ilv, tkind, ckind, mode, ce, o);
      accumulate<f32, T>(p, pps, t, tps, comp, cps, nll, d, main, nv, c, C, ilv, tkind, ckind, mode, ce, o);
    }
  }
}

/**
 * The combinations that occur for one target type: label lanes come from the
 * softmax (1 − p outside the label), raw labels and masks from no activation
 * (1 − p computed) or the sigmoid (1 − p stored); soft terms are the hard ones
 * for labels; the cross-entropy comes with the softmax and hard terms.
 */
// @ts-ignore: decorator
@inline function statsFor<T>(
  p: usize, pps: usize, t: usize, tps: usize, comp: usize, cps: usize, nll: usize, d: usize,
  nv: i32, C: i32, ilv: bool, ckind: i32, mode: i32, ce: bool, out: usize,
): void {
  const kind = targetKind<T>();
  if (kind == LABEL_LANES) {
    if (ce) statsLoop<T, Hard, CompOutside, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else if (mode == MODE_SQUARED) statsLoop<T, Squared, CompOutside, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Hard, CompOutside, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    return;
  }
  if (kind == TARGET_MASK) {
    if (ce) {
      statsLoop<T, Hard, CompElements, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
      return;
    }
    if (mode == MODE_SOFT) {
      if (ckind == COMP_NONE) statsLoop<T, Soft, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
      else statsLoop<T, Soft, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
      return;
    }
  }
  if (mode == MODE_SQUARED) {
    if (ckind == COMP_NONE) statsLoop<T, Squared, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Squared, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
  } else if (ckind == COMP_NONE) statsLoop<T, Hard, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
  else statsLoop<T, Hard, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
}

/**
 * Adds the statistics of a chunk of nv voxels × C classes to the float64
 * blocks at `out` ([C][STATS][LANES]). p: probabilities in planar groups
 * (activate.ts's addressing, plane stride pps); t: the target — a mask in the
 * same addressing (plane stride tps), or nv labels of kind `tkind`; ckind:
 * where 1 − p comes from (`comp`, plane stride cps for element planes); nll,
 * d: the cross-entropy's inputs when `ce`. Pointers in bytes, strides in floats.
 */
export function stats(
  p: usize, pps: i32, t: usize, tps: i32, comp: usize, cps: i32, nll: usize, d: usize,
  nv: i32, C: i32, ilv: i32, tkind: i32, ckind: i32, mode: i32, ce: i32, out: usize,
): void {
  const a = <usize>pps, b = <usize>tps, e = <usize>cps, il = ilv != 0, withCe = ce != 0;
  if (tkind == TARGET_MASK) statsFor<Mask>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_U8) statsFor<u8>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_U16) statsFor<u16>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_I32) statsFor<i32>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_F32) statsFor<f32>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_LANES) statsFor<Lanes>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
}
