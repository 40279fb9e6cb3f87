// The focal loss (Lin et al. 2017) as MONAI 1.5 writes it, one chunk at a
// time: a program of its own, instantiated on the loss kernels' memory, with
// no data segment and no allocation. For logits x and targets t of class c,
//   sigmoid: ℓ = a_t·w_c·F·B,  B = (1 − t)·x⁺ + t·(−x)⁺ + ln(1 + e^−|x|)
//            (BCE with logits, (1 − t)·x + softplus(−x), with no cancellation)
//            F = e^(−γ·softplus(x·s)), s = 2t − 1               ((1 − p_t)^γ)
//            a_t = t·α + (1 − t)·(1 − α), or 1 without α
//   softmax: ℓ = −w_c·t·(1 − p_c)^γ·ln p_c over the classes kept, p = softmax
// with its derivative in x; ln p = d − ln Σe from the shifted logits d, and
// 1 − p_c = (Σe − e_c)/Σe, so neither loses its digits to a rounded p.
// Chunks come as the loss kernels see them: logits in the prediction's layout,
// float targets in planar groups (see ../layout.ts), labels of any type, and
// optional marks (1 keep, 0 leave out) per voxel or per element from the
// ignore program. Each group of W voxels is gathered into planar vectors, so
// one transcendental serves W voxels.
import { classAt, groupedVoxels } from "../blocks";
import { LABEL_F32, LABEL_I32, LABEL_U16, LABEL_U8, TARGET_MASK } from "../codes";
import { add, choose, classMask, div, drop, gtMask, hsum, keep, labelsAt, loadSplat, mul, one, pmax, splat, sub, width } from "../lanes";
import { toChannelsLast, toPlanar } from "../layout";
import { expNonPositive, ln, ln1p, negAbs } from "../math";

/** The smallest normal float32: ln's argument is clamped here. */
const FLT_MIN: f32 = 1.17549435e-38;

/** Marks: none, one per voxel, or one per element. */
export const MARKS_NONE: i32 = 0;
export const MARKS_VOXEL: i32 = 1;
export const MARKS_ELEMENT: i32 = 2;

/** softplus(y) = ln(1 + e^y) from e = e^−|y|: max(y, 0) + ln(1 + e). */
// @ts-ignore: decorator
@inline function softplus<V>(y: V, e: V): V {
  return add<V>(pmax<V>(y, splat<V>(0)), ln1p<V>(e));
}

/** Loads the C class vectors of the group at v into planar vectors at dst (16 bytes apart). */
// @ts-ignore: decorator
@inline function gather<V>(x: usize, v: i32, C: i32, ilv: bool, xps: usize, dst: usize): void {
  if (ilv && isVector<V>()) {
    toPlanar(x + (<usize>(v * C) << 2), C, dst);
    return;
  }
  // channels-first planes, or one voxel of a channels-last array: class c at classAt
  for (let c = 0; c < C; c++) store<V>(dst + <usize>c * sizeof<V>(), load<V>(classAt<V>(x, v, c, C, ilv, xps)));
}

/** Writes (or adds) the C planar vectors at src to the group at v of an array in the prediction's layout. */
// @ts-ignore: decorator
@inline function scatter<V>(src: usize, v: i32, C: i32, ilv: bool, yps: usize, y: usize, accumulate: bool, tmp: usize): void {
  if (accumulate) {
    gather<V>(y, v, C, ilv, yps, tmp);
    for (let c = 0; c < C; c++) {
      const o = <usize>c * sizeof<V>();
      store<V>(src + o, add<V>(load<V>(src + o), load<V>(tmp + o)));
    }
  }
  if (ilv && isVector<V>()) {
    toChannelsLast(src, C, y + (<usize>(v * C) << 2));
    return;
  }
  for (let c = 0; c < C; c++) store<V>(classAt<V>(y, v, c, C, ilv, yps), load<V>(src + <usize>c * sizeof<V>()));
}

/** Class c's target vector of the group at v: the mask value, or 1/0 for the label. */
// @ts-ignore: decorator
@inline function targetOf<V, T>(t: usize, tps: usize, v: i32, c: i32, C: i32, ilv: bool, l: V): V {
  if (isOnes<T>()) return splat<V>(1);
  if (isReference<T>()) return load<V>(classAt<V>(t, v, c, C, ilv, tps));
  return one<V>(classMask<V>(l, c));
}

/** Class c's mark of the group at v (1 keep, 0 leave out). */
// @ts-ignore: decorator
@inline function markOf<V>(marks: usize, mkind: i32, mps: usize, v: i32, c: i32, C: i32, ilv: bool): V {
  if (mkind == MARKS_VOXEL) return load<V>(marks + (<usize>v << 2));
  if (mkind == MARKS_ELEMENT) return load<V>(classAt<V>(marks, v, c, C, ilv, mps));
  return splat<V>(1);
}

/** 1.0 in the lanes whose label (as labelsAt reads it) is a class id in [0, C), else 0. */
// @ts-ignore: decorator
@inline function classId<V>(l: V, C: i32): V {
  if (isVector<V>()) {
    // a float label that is not whole is −1 here already
    return v128.and(v128.and(i32x4.ge_s(l, i32x4.splat(0)), i32x4.lt_s(l, i32x4.splat(C))), f32x4.splat(1));
  }
  const x = l as f32;
  return select<f32>(1, 0, x >= 0 && x < <f32>C && x == Mathf.floor(x)) as V;
}

/** Whether the target type is the uniform target (compile time). */
// @ts-ignore: decorator
@inline function isOnes<T>(): bool {
  if (isReference<T>()) return idof<T>() == idof<Ones>();
  return false;
}

/** q^n by multiplication (a whole γ: MONAI's default 2 costs no exp and no ln). */
// @ts-ignore: decorator
@inline function power<V>(q: V, n: i32): V {
  let f = splat<V>(1);
  for (let i = 0; i < n; i++) f = mul<V>(f, q);
  return f;
}

/**
 * The sigmoid focal terms of one group, class by class (classes below c0 get
 * 0): summed per lane into the result, and into `g` (planar) the gradient
 * times gscale, or with `perElement` the terms themselves. n ≥ 0: γ = n.
 */
// @ts-ignore: decorator
@inline function sigmoidGroup<V, T>(
  xs: usize, t: usize, tps: usize, v: i32, C: i32, c0: i32, ilv: bool, gamma: f32, n: i32, alpha: f32,
  w: usize, marks: usize, mkind: i32, mps: usize, gscale: f32, perElement: bool, g: usize,
): V {
  const l = isReference<T>() ? splat<V>(0) : labelsAt<V, T>(t + <usize>v * sizeof<T>());
  const pw = w + (<usize>C << 2);
  // labels and the uniform target are 0 or 1: |x·s| = |x|, and e serves both
  const binary = !isReference<T>() || isOnes<T>();
  let total = splat<V>(0);
  for (let c = c0; c < C; c++) {
    const x = load<V>(xs + <usize>c * sizeof<V>());
    const tc = targetOf<V, T>(t, tps, v, c, C, ilv, l);
    const s = sub<V>(add<V>(tc, tc), splat<V>(1));
    const u = mul<V>(x, s);
    const e = expNonPositive<V>(negAbs<V>(x));
    const r = div<V>(splat<V>(1), add<V>(splat<V>(1), e));
    const er = mul<V>(e, r);
    const below = gtMask<V>(splat<V>(0), x);
    const sx = choose<V>(below, er, r); // σ(x)
    const sxn = choose<V>(below, r, er); // σ(−x), exact where σ(x) rounds to 1
    const tail = ln1p<V>(e);
    // σ(u) and 1 − p_t = σ(−u)
    let su: V;
    let sneg: V;
    let spu: V; // softplus(u), for a γ that is not whole
    if (binary) {
      const uBelow = gtMask<V>(splat<V>(0), u);
      su = choose<V>(uBelow, er, r);
      sneg = choose<V>(uBelow, r, er);
      spu = add<V>(pmax<V>(u, splat<V>(0)), tail);
    } else {
      const eu = expNonPositive<V>(negAbs<V>(u));
      const ru = div<V>(splat<V>(1), add<V>(splat<V>(1), eu));
      const uBelow = gtMask<V>(splat<V>(0), u);
      su = choose<V>(uBelow, mul<V>(eu, ru), ru);
      sneg = choose<V>(uBelow, ru, mul<V>(eu, ru));
      spu = n >= 0 ? splat<V>(0) : softplus<V>(u, eu);
    }
    const f = n >= 0 ? power<V>(sneg, n) : expNonPositive<V>(mul<V>(splat<V>(-gamma), spu));
    // B = (1 − t)·softplus(x) + π·t·softplus(−x), π the class's positive weight (BCEWithLogitsLoss's
    // pos_weight, else 1): terms ≥ 0 for t in [0, 1], so no cancellation for |x| large
    const tp = mul<V>(tc, loadSplat<V>(pw + (<usize>c << 2)));
    const tn = sub<V>(splat<V>(1), tc);
    const bce = add<V>(mul<V>(tn, add<V>(pmax<V>(x, splat<V>(0)), tail)), mul<V>(tp, add<V>(pmax<V>(sub<V>(splat<V>(0), x), splat<V>(0)), tail)));
    let a = mul<V>(loadSplat<V>(w + (<usize>c << 2)), markOf<V>(marks, mkind, mps, v, c, C, ilv));
    if (alpha >= 0) a = mul<V>(a, add<V>(mul<V>(tc, splat<V>(alpha)), mul<V>(tn, splat<V>(1 - alpha))));
    const term = mul<V>(a, mul<V>(f, bce));
    total = add<V>(total, term);
    // dℓ/dx = a·(F'·B + F·dB/dx), F' = −γ·s·σ(u)·F, dB/dx = (1 − t)·σ(x) − π·t·σ(−x)
    const df = mul<V>(mul<V>(splat<V>(-gamma), mul<V>(s, su)), f);
    const dbce = sub<V>(mul<V>(tn, sx), mul<V>(tp, sxn));
    const grad = mul<V>(a, add<V>(mul<V>(df, bce), mul<V>(f, dbce)));
    store<V>(g + <usize>c * sizeof<V>(), perElement ? term : mul<V>(grad, splat<V>(gscale)));
  }
  return total;
}

/**
 * The softmax over the classes kept, for one group: d = x − max in xs, e = e^d
 * in g; returns S − 1, summed apart (the other maxima, and e below them), so
 * that ln S = ln(1 + (S − 1)) and 1 − p of the largest class keep their
 * digits when p rounds to 1.
 */
// @ts-ignore: decorator
@inline function softmaxOf<V>(xs: usize, C: i32, c0: i32, g: usize): V {
  let m = load<V>(xs + <usize>c0 * sizeof<V>());
  for (let c = c0 + 1; c < C; c++) m = pmax<V>(m, load<V>(xs + <usize>c * sizeof<V>()));
  let maxima = splat<V>(-1);
  let below = splat<V>(0);
  for (let c = c0; c < C; c++) {
    const o = <usize>c * sizeof<V>();
    const d = sub<V>(load<V>(xs + o), m);
    const e = expNonPositive<V>(d);
    store<V>(xs + o, d);
    store<V>(g + o, e);
    const lower = gtMask<V>(splat<V>(0), d);
    below = add<V>(below, keep<V>(e, lower));
    maxima = add<V>(maxima, drop<V>(splat<V>(1), lower));
  }
  return add<V>(maxima, below);
}

/**
 * One class's softmax focal term and k = a·p·h'(p), h(p) = −(1 − p)^γ·ln p:
 * from e, d of the class, the softmax's S − 1 (rest) and ln S, and a (weight,
 * mark and target): k = a·(1 − p)^γ·(γ·p·ln p/(1 − p) − 1), where p·ln p/(1 − p)
 * = e·ln p/(S − e) → −1 as p → 1. Returns [term, k, S − e] through `out` (3 vectors).
 */
// @ts-ignore: decorator
@inline function softmaxTerm<V>(e: V, d: V, rest: V, lnSum: V, invSum: V, a: V, gamma: f32, n: i32, out: usize): void {
  // S − e: the others' mass; for a largest class, S − 1 itself
  const outside = choose<V>(gtMask<V>(splat<V>(0), d), sub<V>(add<V>(rest, splat<V>(1)), e), rest);
  const some = gtMask<V>(outside, splat<V>(0));
  const safe = pmax<V>(outside, splat<V>(FLT_MIN));
  const lnp = sub<V>(d, lnSum);
  let f: V;
  if (n >= 0) f = power<V>(mul<V>(outside, invSum), n);
  else {
    f = expNonPositive<V>(mul<V>(splat<V>(gamma), sub<V>(ln<V>(safe), lnSum)));
    if (gamma > 0) f = choose<V>(some, f, splat<V>(0));
  }
  const ratio = choose<V>(some, div<V>(mul<V>(e, lnp), safe), splat<V>(-1));
  store<V>(out, mul<V>(a, mul<V>(f, sub<V>(splat<V>(0), lnp))));
  store<V>(out + sizeof<V>(), mul<V>(a, mul<V>(f, sub<V>(mul<V>(splat<V>(gamma), ratio), splat<V>(1)))));
  store<V>(out + 2 * sizeof<V>(), outside);
}

/**
 * The softmax focal terms of one group (see sigmoidGroup for the outputs).
 * Labels: one class has t = 1, so one term a voxel, and dℓ/dx_j = k·([j = label] − p_j);
 * masks and the uniform target: every class, and dℓ/dx_j = k_j − p_j·Σk.
 */
// @ts-ignore: decorator
@inline function softmaxGroup<V, T>(
  xs: usize, t: usize, tps: usize, v: i32, C: i32, c0: i32, ilv: bool, gamma: f32, n: i32,
  w: usize, marks: usize, mkind: i32, mps: usize, gscale: f32, perElement: bool, g: usize, pair: usize,
): V {
  const rest = softmaxOf<V>(xs, C, c0, g);
  const lnSum = ln1p<V>(rest);
  const invSum = div<V>(splat<V>(1), add<V>(rest, splat<V>(1)));
  if (!isReference<T>()) {
    // the label's e, d, weight and mark, picked out by its class mask
    const l = labelsAt<V, T>(t + <usize>v * sizeof<T>());
    let el = splat<V>(0), dl = splat<V>(0), a = splat<V>(0);
    for (let c = c0; c < C; c++) {
      const o = <usize>c * sizeof<V>();
      const m = classMask<V>(l, c);
      el = add<V>(el, keep<V>(load<V>(g + o), m));
      dl = add<V>(dl, keep<V>(load<V>(xs + o), m));
      a = add<V>(a, keep<V>(mul<V>(loadSplat<V>(w + (<usize>c << 2)), markOf<V>(marks, mkind, mps, v, c, C, ilv)), m));
    }
    softmaxTerm<V>(el, dl, rest, lnSum, invSum, a, gamma, n, pair);
    const term = load<V>(pair);
    const k = mul<V>(load<V>(pair + sizeof<V>()), splat<V>(gscale));
    // 1 − p of the label from the others' mass: exact where p rounds to 1
    const q = mul<V>(load<V>(pair + 2 * sizeof<V>()), invSum);
    for (let c = c0; c < C; c++) {
      const o = <usize>c * sizeof<V>();
      const m = classMask<V>(l, c);
      const p = mul<V>(load<V>(g + o), invSum);
      store<V>(g + o, perElement ? keep<V>(term, m) : choose<V>(m, mul<V>(k, q), mul<V>(k, sub<V>(splat<V>(0), p))));
    }
    return term;
  }
  let total = splat<V>(0);
  let kSum = splat<V>(0);
  for (let c = c0; c < C; c++) {
    const o = <usize>c * sizeof<V>();
    const e = load<V>(g + o);
    const tc = targetOf<V, T>(t, tps, v, c, C, ilv, splat<V>(0));
    const a = mul<V>(mul<V>(loadSplat<V>(w + (<usize>c << 2)), markOf<V>(marks, mkind, mps, v, c, C, ilv)), tc);
    softmaxTerm<V>(e, load<V>(xs + o), rest, lnSum, invSum, a, gamma, n, pair);
    const term = load<V>(pair);
    const k = load<V>(pair + sizeof<V>());
    total = add<V>(total, term);
    kSum = add<V>(kSum, k);
    store<V>(xs + o, k);
    store<V>(g + o, perElement ? term : mul<V>(e, invSum));
  }
  if (!perElement) {
    // dℓ/dx_j = k_j − p_j·Σk; the dominant class's (p > 1/2) as minus the others', which keeps its digits
    let others = splat<V>(0);
    for (let c = c0; c < C; c++) {
      const o = <usize>c * sizeof<V>();
      const p = load<V>(g + o);
      const dx = mul<V>(sub<V>(load<V>(xs + o), mul<V>(p, kSum)), splat<V>(gscale));
      const dominant = gtMask<V>(p, splat<V>(0.5));
      others = add<V>(others, drop<V>(dx, dominant));
      store<V>(g + o, dx);
      store<V>(xs + o, dominant);
    }
    for (let c = c0; c < C; c++) {
      const o = <usize>c * sizeof<V>();
      store<V>(g + o, choose<V>(load<V>(xs + o), sub<V>(splat<V>(0), others), load<V>(g + o)));
    }
  }
  return total;
}

/**
 * One lane type over voxels [v0, v1): adds to result[0] the sum of the loss
 * terms and to result[1] the marks of the classes kept (float64).
 */
// @ts-ignore: decorator
@inline function focalRange<V, T, S>(
  x: usize, xps: usize, t: usize, tps: usize, v0: i32, v1: i32, C: i32, c0: i32, ilv: bool,
  gamma: f32, alpha: f32, w: usize, marks: usize, mkind: i32, mps: usize,
  gscale: f32, out: usize, ops: usize, accumulate: bool, perElement: bool, result: usize, tmp: usize,
): void {
  const W = width<V>();
  const xs = tmp;
  const g = tmp + <usize>C * sizeof<V>();
  const spare = g + <usize>C * sizeof<V>();
  const pair = spare + <usize>C * sizeof<V>();
  // a whole γ up to 8 by multiplication, else e^(γ·ln)
  const n = gamma == Mathf.floor(gamma) && gamma <= 8 ? <i32>gamma : -1;
  let kept: f64 = 0;
  let total: f64 = 0;
  // Σ (x − x): 0 for finite logits, NaN otherwise (a NaN can hide behind a max or a mask below)
  let check = splat<V>(0);
  // label maps: the voxels kept whose label is a class id, so that the host needs no scan of its own
  let labelled = splat<V>(0);
  for (let v = v0; v + W <= v1; v += W) {
    gather<V>(x, v, C, ilv, xps, xs);
    for (let c = c0; c < C; c++) {
      const xc = load<V>(xs + <usize>c * sizeof<V>());
      check = add<V>(check, sub<V>(xc, xc));
    }
    for (let c = 0; c < c0; c++) store<V>(g + <usize>c * sizeof<V>(), splat<V>(0));
    if (!isReference<T>()) {
      let k = classId<V>(labelsAt<V, T>(t + <usize>v * sizeof<T>()), C);
      if (mkind == MARKS_VOXEL) k = mul<V>(k, load<V>(marks + (<usize>v << 2)));
      labelled = add<V>(labelled, k);
    }
    const terms = idof<S>() == idof<Softmax>()
      ? softmaxGroup<V, T>(xs, t, tps, v, C, c0, ilv, gamma, n, w, marks, mkind, mps, gscale, perElement, g, pair)
      : sigmoidGroup<V, T>(xs, t, tps, v, C, c0, ilv, gamma, n, alpha, w, marks, mkind, mps, gscale, perElement, g);
    total += hsum<V>(terms);
    if (mkind != MARKS_NONE) {
      let k = splat<V>(0);
      for (let c = c0; c < C; c++) k = add<V>(k, markOf<V>(marks, mkind, mps, v, c, C, ilv));
      kept += hsum<V>(k);
    }
    if (out != 0) scatter<V>(g, v, C, ilv, ops, out, accumulate, spare);
  }
  store<f64>(result, load<f64>(result) + total);
  store<f64>(result + 8, load<f64>(result + 8) + kept);
  store<f64>(result + 16, load<f64>(result + 16) + hsum<V>(check));
  store<f64>(result + 24, load<f64>(result + 24) + hsum<V>(labelled));
}

/** A float target, as a marker type (a reference type, never loaded as a label). */
class Mask {}
/** A target of 1 for every class: Σ_c w_c·(−ln p_c), the label-smoothing term of the cross-entropy. */
class Ones {}

/** Which focal term a loop computes (compile time: each its own wasm function). */
class Softmax {}
class Sigmoid {}

/** The target kind of `Ones`, beside the loss kernels' TARGET_MASK and LABEL_* codes. */
export const TARGET_ONES: i32 = 6;

function focalOf<T, S>(
  x: usize, xps: usize, t: usize, tps: usize, nv: i32, C: i32, c0: i32, ilv: bool,
  gamma: f32, alpha: f32, w: usize, marks: usize, mkind: i32, mps: usize,
  gscale: f32, out: usize, ops: usize, accumulate: bool, perElement: bool, result: usize, tmp: usize,
): void {
  const grouped = groupedVoxels(nv);
  if (ASC_FEATURE_SIMD) {
    focalRange<v128, T, S>(x, xps, t, tps, 0, grouped, C, c0, ilv, gamma, alpha, w, marks, mkind, mps, gscale, out, ops, accumulate, perElement, result, tmp);
  }
  focalRange<f32, T, S>(x, xps, t, tps, grouped, nv, C, c0, ilv, gamma, alpha, w, marks, mkind, mps, gscale, out, ops, accumulate, perElement, result, tmp);
}

/**
 * The focal loss of a chunk of nv voxels × C classes. x: logits in the
 * prediction's layout (plane stride xps floats; ilv: channels-last); t: a float
 * target in planar groups (stride tps), or labels of kind tkind; classes below
 * c0 are left out (TARGET_ONES: a target of 1 everywhere); w: C floats, each
 * class's weight (0 below c0), then C positive weights (sigmoid); alpha < 0:
 * none (with softmax the host folds it into w); marks of kind mkind (stride
 * mps). Adds Σℓ, the marks of the classes kept, Σ(x − x) (NaN when a
 * logit is not finite) and, for labels, the voxels kept whose label is a
 * class id, to the four float64 at `result`; returns 0 for a target kind it
 * does not know. With out ≠ 0: the gradient times gscale written to out (added
 * with `accumulate`), or with `perElement` the loss terms; out is in the
 * prediction's layout, plane stride ops. tmp: scratch of 3·C + 3 vectors.
 */
export function focal(
  x: usize, xps: i32, t: usize, tps: i32, tkind: i32, nv: i32, C: i32, c0: i32, ilv: i32, softmax: i32,
  gamma: f32, alpha: f32, w: usize, marks: usize, mkind: i32, mps: i32,
  gscale: f32, out: usize, ops: i32, accumulate: i32, perElement: i32, result: usize, tmp: usize,
): i32 {
  const a = <usize>xps, b = <usize>tps, m = <usize>mps, o = <usize>ops, il = ilv != 0, sm = softmax != 0;
  const acc = accumulate != 0, pe = perElement != 0;
  if (sm) return focalWith<Softmax>(x, a, t, b, tkind, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  return focalWith<Sigmoid>(x, a, t, b, tkind, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
}

// @ts-ignore: decorator
@inline function focalWith<S>(
  x: usize, a: usize, t: usize, b: usize, tkind: i32, nv: i32, C: i32, c0: i32, il: bool, gamma: f32, alpha: f32,
  w: usize, marks: usize, mkind: i32, m: usize, gscale: f32, out: usize, o: usize, acc: bool, pe: bool, result: usize, tmp: usize,
): i32 {
  // the uniform target is the softmax's label smoothing only
  if (tkind == TARGET_ONES && idof<S>() == idof<Softmax>()) focalOf<Ones, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else if (tkind == TARGET_MASK) focalOf<Mask, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else if (tkind == LABEL_U8) focalOf<u8, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else if (tkind == LABEL_U16) focalOf<u16, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else if (tkind == LABEL_I32) focalOf<i32, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else if (tkind == LABEL_F32) focalOf<f32, S>(x, a, t, b, nv, C, c0, il, gamma, alpha, w, marks, mkind, m, gscale, out, o, acc, pe, result, tmp);
  else return 0;
  return 1;
}
