// Channels-last chunks with 2 or 4 classes, read as they lie: one f32x4 holds
// one voxel (C = 4, classes 0 1 2 3) or two (C = 2, classes 0 1 0 1), so softmax
// is a few shuffles within a vector and nothing is gathered or scattered.
// SIMD build only; the scalar build goes through class planes instead.
import { hsum, interleavedMask, nonFinite, one } from "./lanes";
import { coefOf, lossSlope } from "./backward";
import { expNegAbs, expNonPositive, reciprocalOnePlus, sigmoidOf } from "./math";
import { ACT_SIGMOID, ACT_SOFTMAX } from "./probabilities";

/** Every lane gets the max (op = 0) or the sum (op = 1) of its voxel's lanes. */
// @ts-ignore: decorator
@inline function acrossClasses(v: v128, numClasses: i32, op: i32): v128 {
  let r = op == 0 ? f32x4.pmax(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2)) : f32x4.add(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
  if (numClasses == 4) {
    const swapped = v128.shuffle<f32>(r, r, 2, 3, 0, 1);
    r = op == 0 ? f32x4.pmax(r, swapped) : f32x4.add(r, swapped);
  }
  return r;
}

/** Softmax of each voxel in the vector x (max-shifted, so every exponent is ≤ 0). */
// @ts-ignore: decorator
@inline function softmax(x: v128, numClasses: i32): v128 {
  const e = expNonPositive<v128>(f32x4.sub(x, acrossClasses(x, numClasses, 0)));
  return f32x4.div(e, acrossClasses(e, numClasses, 1));
}

// @ts-ignore: decorator
@inline function softmaxAll(x: usize, n: i32, numClasses: i32, out: usize): f64 {
  let bad = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const xv = v128.load(x + (<usize>i << 2));
    bad = f32x4.add(bad, nonFinite<v128>(xv));
    v128.store(out + (<usize>i << 2), softmax(xv, numClasses));
  }
  return hsum<v128>(bad);
}

/**
 * Softmax probabilities of n = voxels × numClasses (2 or 4) channels-last
 * logits at `x`, written in the same layout to `out` (bytes). Returns the
 * number of non-finite logits.
 */
export function softmaxInterleaved(x: usize, n: i32, numClasses: i32, out: usize): f64 {
  if (!ASC_FEATURE_SIMD) return 0;
  return numClasses == 4 ? softmaxAll(x, n, 4, out) : softmaxAll(x, n, 2, out);
}

/** Per-lane coefficient j of the classes in the lanes (lane l: class l mod C). */
// @ts-ignore: decorator
@inline function coefficients(coef: usize, numClasses: i32, j: i32): v128 {
  const c2 = numClasses == 4 ? 2 : 0;
  const c3 = numClasses == 4 ? 3 : 1;
  const at = <usize>j << 2;
  let v = f32x4.splat(load<f32>(coefOf(coef, 0) + at));
  v = f32x4.replace_lane(v, 1, load<f32>(coefOf(coef, 1) + at));
  v = f32x4.replace_lane(v, 2, load<f32>(coefOf(coef, c2) + at));
  return f32x4.replace_lane(v, 3, load<f32>(coefOf(coef, c3) + at));
}

// @ts-ignore: decorator
@inline function backwardAll<T>(
  x: usize, t: usize, isMask: bool, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize,
): void {
  const a = coefficients(coef, numClasses, 0);
  const b = coefficients(coef, numClasses, 1);
  const k = coefficients(coef, numClasses, 2);
  const h = coefficients(coef, numClasses, 3);
  const u = coefficients(coef, numClasses, 4);
  for (let i = 0; i < n; i += 4) {
    const xv = v128.load(x + (<usize>i << 2));
    const g = isMask
      ? v128.load(t + (<usize>i << 2))
      : one<v128>(interleavedMask<T>(t + (<usize>i / <usize>numClasses) * sizeof<T>(), numClasses));
    let p = xv;
    let e = xv;
    let q = xv;
    if (act == ACT_SOFTMAX) p = softmax(xv, numClasses);
    else if (act == ACT_SIGMOID) {
      // σ'(x) = e·q², see math.ts
      e = expNegAbs<v128>(xv);
      q = reciprocalOnePlus<v128>(e);
      p = sigmoidOf<v128>(xv, e, q);
    }
    let r = lossSlope<v128>(p, g, a, b, k, h);
    if (act == ACT_SOFTMAX) {
      // the chain rule, plus the cross-entropy's p·Σ u·g − u·g (see backward.ts)
      const ug = f32x4.mul(u, g);
      r = f32x4.sub(f32x4.mul(p, f32x4.sub(r, acrossClasses(f32x4.sub(f32x4.mul(p, r), ug), numClasses, 1))), ug);
    }
    else if (act == ACT_SIGMOID) r = f32x4.mul(r, f32x4.mul(e, f32x4.mul(q, q)));
    v128.store(dx + (<usize>i << 2), r);
  }
}

// @ts-ignore: decorator
@inline function backwardOf<T>(x: usize, t: usize, isMask: bool, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  if (!ASC_FEATURE_SIMD) return;
  // one specialised loop per (classes, activation)
  if (numClasses == 4) {
    if (act == ACT_SOFTMAX) backwardAll<T>(x, t, isMask, n, 4, ACT_SOFTMAX, coef, dx);
    else if (act == ACT_SIGMOID) backwardAll<T>(x, t, isMask, n, 4, ACT_SIGMOID, coef, dx);
    else backwardAll<T>(x, t, isMask, n, 4, 0, coef, dx);
  } else {
    if (act == ACT_SOFTMAX) backwardAll<T>(x, t, isMask, n, 2, ACT_SOFTMAX, coef, dx);
    else if (act == ACT_SIGMOID) backwardAll<T>(x, t, isMask, n, 2, ACT_SIGMOID, coef, dx);
    else backwardAll<T>(x, t, isMask, n, 2, 0, coef, dx);
  }
}

/**
 * dL/dx of n = voxels × numClasses (2 or 4, n a multiple of 4) channels-last
 * elements at `x` against the float mask at `t` (same layout), written to `dx`
 * (same layout). `coef` holds COEFS f32 (a, b, k, h, u) per class; act as in backwardMask.
 */
export function backwardInterleavedMask(x: usize, t: usize, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  backwardOf<f32>(x, t, true, n, numClasses, act, coef, dx);
}

/** As backwardInterleavedMask, against n / numClasses u8 labels at `t`. */
export function backwardInterleavedU8(x: usize, t: usize, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  backwardOf<u8>(x, t, false, n, numClasses, act, coef, dx);
}

/** As backwardInterleavedU8, for u16 labels. */
export function backwardInterleavedU16(x: usize, t: usize, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  backwardOf<u16>(x, t, false, n, numClasses, act, coef, dx);
}

/** As backwardInterleavedU8, for i32 labels. */
export function backwardInterleavedI32(x: usize, t: usize, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  backwardOf<i32>(x, t, false, n, numClasses, act, coef, dx);
}

/** As backwardInterleavedU8, for f32 labels. */
export function backwardInterleavedF32(x: usize, t: usize, n: i32, numClasses: i32, act: i32, coef: usize, dx: usize): void {
  backwardOf<f32>(x, t, false, n, numClasses, act, coef, dx);
}
