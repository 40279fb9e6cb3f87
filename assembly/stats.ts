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
//   - a block of 4 vectors is added in order in float32: ≤ 3u;
//   - block sums enter a Kahan sum per lane: ≤ 2u + O(m·u²), m ≤ 2^12 per call;
//   - lane totals are widened to float64 and added to the caller's block.
// So |error| ≤ 7u·(true sum) + tiny, with u = 2^-24. The block makes Kahan's
// dependency chain 4× shorter and amortises its four operations; the inputs
// are walked with pointers, one stream per input, so that the loop is loads
// and arithmetic with no address computation.
//
// Label maps are compared with the class id; the 0/1 target then selects terms
// with bitwise ops, so tp, fp and the count have exact terms. `count` is exact
// (integer lanes in SIMD, whole floats below 2^24 in scalar), so labels that
// match no class — out of range, negative, fractional, NaN — show up for free:
// the counts over all classes fall short of the voxel count.
import { addTo, blockOf, classAt, groupedVoxels } from "./blocks";
import {
  COMP_ELEMENTS, COMP_NONE, COMP_OUTSIDE_LABEL, LABEL_F32, LABEL_I32, LABEL_LANES, LABEL_U16, LABEL_U8,
  MODE_HARD, MODE_SOFT, MODE_SQUARED, STAT_CE, STAT_COUNT, STAT_FN, STAT_FP, STAT_SE, STAT_TP, STATS, TARGET_MASK,
} from "./codes";
import { add, choose, classMask, countIn, countLane, drop, gtMask, keep, labelMask, lane, mul, pmax, pmin, splat, sub, width } from "./lanes";

/** The target of class c: the mask value, or the label mask. */
// @ts-ignore: decorator
@inline function targetOf<V, T>(t: usize, c: i32, tkind: i32): V {
  if (tkind == TARGET_MASK) return load<V>(t);
  if (tkind == LABEL_LANES) return classMask<V>(load<V>(t), c);
  return labelMask<V, T>(t, c);
}

/**
 * g − p. Where g is (near) 1 and the activation left an exact 1 − p, it is
 * (1 − p) − (1 − g): from a rounded p ≈ 1 the difference would keep no digit.
 */
// @ts-ignore: decorator
@inline function gMinusP<V>(p: V, g: V, comp: V, ckind: i32): V {
  if (ckind == COMP_NONE) return sub<V>(g, p);
  return choose<V>(gtMask<V>(g, splat<V>(0.5)), sub<V>(comp, sub<V>(splat<V>(1), g)), sub<V>(g, p));
}

/** The term of statistic k for one vector, from p, g and 1 − p (q). */
// @ts-ignore: decorator
@inline function term<V>(k: i32, p: V, g: V, q: V, isMask: bool, mode: i32, ckind: i32): V {
  if (!isMask) {
    // labels: 0/1 targets select terms (the soft formulation equals the hard one)
    if (k == STAT_TP) return keep<V>(p, g);
    if (k == STAT_FP) return drop<V>(p, g);
    if (k == STAT_FN) return keep<V>(q, g);
    const d = add<V>(keep<V>(q, g), drop<V>(p, g)); // |p − g|
    return mul<V>(d, d);
  }
  if (k == STAT_SE) {
    const d = gMinusP<V>(p, g, q, ckind);
    return mul<V>(d, d);
  }
  if (mode == MODE_SOFT) {
    if (k == STAT_TP) return pmin<V>(p, g);
    // pmax keeps a NaN in its first argument, so NaN input reaches fp and fn;
    // p − g as −(g − p), so that it also keeps its digits where g is near 1
    if (k == STAT_FP) return pmax<V>(sub<V>(splat<V>(0), gMinusP<V>(p, g, q, ckind)), splat<V>(0));
    return pmax<V>(gMinusP<V>(p, g, q, ckind), splat<V>(0));
  }
  if (k == STAT_TP) return mul<V>(p, g);
  if (k == STAT_FP) return mul<V>(p, sub<V>(splat<V>(1), g));
  return mul<V>(q, g);
}

/** The cross-entropy term: g·(ln Σe − d) for a mask, −ln p of the label for labels. */
// @ts-ignore: decorator
@inline function ceTerm<V>(g: V, nll: usize, d: usize, isMask: bool): V {
  if (!isMask) return keep<V>(load<V>(nll), g);
  return mul<V>(g, sub<V>(load<V>(nll), load<V>(d)));
}

/**
 * Adds class c's statistics over the groups of W voxels in [v0, v1) to its block
 * at `out`: blocks of 4 vectors summed in order (≤ 3u), each block then into a
 * Kahan sum per lane; fewer than 4 vectors left: each term in float64. Lane j
 * only ever sees voxels ≡ j (mod W).
 */
// @ts-ignore: decorator
@inline function accumulate<V, T>(
  p: usize, pps: usize, t: usize, tps: usize, comp: usize, cps: usize, nll: usize, d: usize,
  v0: i32, v1: i32, c: i32, C: i32, ilv: bool, tkind: i32, ckind: i32, mode: i32, ce: bool, out: usize,
): void {
  const W = width<V>();
  const isMask = tkind == TARGET_MASK;
  const labels = !isMask;
  const squared = mode == MODE_SQUARED;
  // the streams, and how far each moves per vector
  let pp = classAt<V>(p, v0, c, C, ilv, pps);
  let tt = isMask ? classAt<V>(t, v0, c, C, ilv, tps) : tkind == LABEL_LANES ? t + (<usize>v0 << 2) : t + <usize>v0 * sizeof<T>();
  let qq = ckind == COMP_ELEMENTS ? classAt<V>(comp, v0, c, C, ilv, cps) : comp + (<usize>v0 << 2);
  let nn = nll + (<usize>v0 << 2);
  let dd = classAt<V>(d, v0, c, C, ilv, cps);
  const elem: usize = ilv ? <usize>(W * C) << 2 : <usize>W << 2;
  const voxel: usize = <usize>W << 2;
  const tStep: usize = isMask ? elem : tkind == LABEL_LANES ? voxel : <usize>W * sizeof<T>();
  const qStep: usize = ckind == COMP_ELEMENTS ? elem : voxel;
  let tpS = splat<V>(0), tpC = splat<V>(0);
  let fpS = splat<V>(0), fpC = splat<V>(0);
  let fnS = splat<V>(0), fnC = splat<V>(0);
  let seS = splat<V>(0), seC = splat<V>(0);
  let ceS = splat<V>(0), ceC = splat<V>(0);
  let count = splat<V>(0);
  let v = v0;
  for (; v + 4 * W <= v1; v += 4 * W) {
    let tpB = splat<V>(0), fpB = splat<V>(0), fnB = splat<V>(0), seB = splat<V>(0), ceB = splat<V>(0);
    for (let j = 0; j < 4; j++) {
      const pv = load<V>(pp);
      const g = targetOf<V, T>(tt, c, tkind);
      const q = ckind == COMP_NONE ? sub<V>(splat<V>(1), pv) : load<V>(qq);
      tpB = add<V>(tpB, term<V>(STAT_TP, pv, g, q, isMask, mode, ckind));
      fpB = add<V>(fpB, term<V>(STAT_FP, pv, g, q, isMask, mode, ckind));
      fnB = add<V>(fnB, term<V>(STAT_FN, pv, g, q, isMask, mode, ckind));
      if (squared) seB = add<V>(seB, term<V>(STAT_SE, pv, g, q, isMask, mode, ckind));
      if (ce) ceB = add<V>(ceB, ceTerm<V>(g, nn, dd, isMask));
      if (labels) count = countIn<V>(count, g);
      pp += elem;
      tt += tStep;
      qq += qStep;
      nn += voxel;
      dd += elem;
    }
    // Kahan: y = x − c; s' = s + y; c = (s' − s) − y
    let y = sub<V>(tpB, tpC);
    let s = add<V>(tpS, y);
    tpC = sub<V>(sub<V>(s, tpS), y);
    tpS = s;
    y = sub<V>(fpB, fpC);
    s = add<V>(fpS, y);
    fpC = sub<V>(sub<V>(s, fpS), y);
    fpS = s;
    y = sub<V>(fnB, fnC);
    s = add<V>(fnS, y);
    fnC = sub<V>(sub<V>(s, fnS), y);
    fnS = s;
    if (squared) {
      y = sub<V>(seB, seC);
      s = add<V>(seS, y);
      seC = sub<V>(sub<V>(s, seS), y);
      seS = s;
    }
    if (ce) {
      y = sub<V>(ceB, ceC);
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
  // fewer than a block left: vector by vector, each term added in float64
  for (; v + W <= v1; v += W) {
    const pv = load<V>(pp);
    const g = targetOf<V, T>(tt, c, tkind);
    const q = ckind == COMP_NONE ? sub<V>(splat<V>(1), pv) : load<V>(qq);
    const tpT = term<V>(STAT_TP, pv, g, q, isMask, mode, ckind);
    const fpT = term<V>(STAT_FP, pv, g, q, isMask, mode, ckind);
    const fnT = term<V>(STAT_FN, pv, g, q, isMask, mode, ckind);
    const seT = squared ? term<V>(STAT_SE, pv, g, q, isMask, mode, ckind) : splat<V>(0);
    const ceT = ce ? ceTerm<V>(g, nn, dd, isMask) : splat<V>(0);
    const n = labels ? countIn<V>(splat<V>(0), g) : splat<V>(0);
    for (let j = 0; j < W; j++) {
      addTo(out, STAT_TP, j, lane<V>(tpT, j));
      addTo(out, STAT_FP, j, lane<V>(fpT, j));
      addTo(out, STAT_FN, j, lane<V>(fnT, j));
      addTo(out, STAT_SE, j, lane<V>(seT, j));
      addTo(out, STAT_CE, j, lane<V>(ceT, j));
      addTo(out, STAT_COUNT, j, countLane<V>(n, j));
    }
    pp += elem;
    tt += tStep;
    qq += qStep;
    nn += voxel;
    dd += elem;
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
  const main = groupedVoxels(nv);
  for (let c = 0; c < C; c++) {
    const o = blockOf(out, c);
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
): bool {
  const kind = targetKind<T>();
  if (kind == LABEL_LANES) {
    // after the softmax: 1 − p outside the label; soft terms are the hard ones for labels
    if (ckind != COMP_OUTSIDE_LABEL) return false;
    if (ce) {
      if (mode == MODE_SQUARED) statsLoop<T, Squared, CompOutside, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
      else statsLoop<T, Hard, CompOutside, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    } else if (mode == MODE_SQUARED) statsLoop<T, Squared, CompOutside, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Hard, CompOutside, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    return true;
  }
  if (ckind == COMP_OUTSIDE_LABEL) return false;
  if (ce) {
    // the cross-entropy of a mask comes with the softmax's element complement
    if (kind != TARGET_MASK || ckind != COMP_ELEMENTS) return false;
    if (mode == MODE_SOFT) statsLoop<T, Soft, CompElements, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else if (mode == MODE_SQUARED) statsLoop<T, Squared, CompElements, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Hard, CompElements, WithCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    return true;
  }
  if (kind == TARGET_MASK && mode == MODE_SOFT) {
    if (ckind == COMP_NONE) statsLoop<T, Soft, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Soft, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    return true;
  }
  // labels: the soft terms are the hard ones
  if (mode == MODE_SQUARED) {
    if (ckind == COMP_NONE) statsLoop<T, Squared, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
    else statsLoop<T, Squared, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
  } else if (ckind == COMP_NONE) statsLoop<T, Hard, CompNone, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
  else statsLoop<T, Hard, CompElements, NoCe>(p, pps, t, tps, comp, cps, nll, d, nv, C, ilv, out);
  return true;
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
): i32 {
  const a = <usize>pps, b = <usize>tps, e = <usize>cps, il = ilv != 0, withCe = ce != 0;
  if (mode != MODE_HARD && mode != MODE_SOFT && mode != MODE_SQUARED) return 0;
  if (ckind != COMP_NONE && ckind != COMP_ELEMENTS && ckind != COMP_OUTSIDE_LABEL) return 0;
  let done = false;
  if (tkind == TARGET_MASK) done = statsFor<Mask>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_U8) done = statsFor<u8>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_U16) done = statsFor<u16>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_I32) done = statsFor<i32>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_F32) done = statsFor<f32>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  else if (tkind == LABEL_LANES) done = statsFor<Lanes>(p, a, t, b, comp, e, nll, d, nv, C, il, ckind, mode, withCe, out);
  return done ? 1 : 0;
}
