// Pass 2: the gradient, in one pass over the voxels. Every loss here is a
// function of the statistics, so
//   dL/dp = a + b·g + k·(p − g) + h·sign(p − g)
// with four coefficients per class, computed in float64 by the loss layer
// (hard labels: a = L_fp, b = L_tp − L_fp − L_fn, k = 2·L_se; soft labels: a ± h
// on either side of p = g, their mean at a tie). The activation's chain rule is
// fused: sigmoid dx = dp·σ'(x), softmax dx_c = p_c·(dp_c − Σ_k p_k·dp_k).
// With softmax a weighted cross-entropy term can ride along: Σ_k u_k·g_k·(−ln p_k)
// adds p_c·Σ_k u_k·g_k − u_c·g_c to dx_c (u = 0 without it). Each class has
// COEFS floats of coefficients: a, b, k, h, u.
import { add, div, labelMask, loadVoxels, lt1, mul, one, pmax, splat, storeVoxels, sub, width } from "./lanes";
import { expNegAbs, expNonPositive, reciprocalOnePlus, sigmoidOf } from "./math";
import { ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX } from "./probabilities";

/** dL/dp = a + b·g + k·(p − g) + h·sign(p − g), lane by lane. */
// @ts-ignore: decorator
@inline export function lossSlope<V>(p: V, g: V, a: V, b: V, k: V, h: V): V {
  const d = sub<V>(p, g);
  const sign = sub<V>(lt1<V>(g, p), lt1<V>(p, g));
  return add<V>(add<V>(a, mul<V>(b, g)), add<V>(mul<V>(k, d), mul<V>(h, sign)));
}

/** Coefficient floats per class: a, b, k, h, u and padding, 32 bytes. */
export const COEFS = 8;

/** Byte offset of class c's coefficients. */
// @ts-ignore: decorator
@inline export function coefOf(coef: usize, c: i32): usize {
  return coef + (<usize>c << 5);
}

/** dL/dp from p, g and the class's coefficients at `coef` (f32 a, b, k, h, ...). */
// @ts-ignore: decorator
@inline function dprob<V>(p: V, g: V, coef: usize): V {
  const a = splat<V>(load<f32>(coef));
  const b = splat<V>(load<f32>(coef, 4));
  const k = splat<V>(load<f32>(coef, 8));
  const h = splat<V>(load<f32>(coef, 12));
  return lossSlope<V>(p, g, a, b, k, h);
}

/** Target of class c for W voxels: the mask (input's layout) or 1.0 where the label is c. */
// @ts-ignore: decorator
@inline function target<V, T>(tv: usize, vs: usize, cs: usize, c: i32, isMask: bool, contiguous: bool): V {
  if (isMask) return loadVoxels<V>(tv + ((<usize>c * cs) << 2), vs, contiguous);
  return one<V>(labelMask<V, T>(tv, c));
}

// @ts-ignore: decorator
@inline function backwardRange<V, T>(
  x: usize, vs: usize, cs: usize, t: usize, isMask: bool, v0: i32, v1: i32, numClasses: i32, act: i32,
  coef: usize, dx: usize, dcs: usize, tmp: usize, contiguous: bool,
): void {
  const W = width<V>();
  for (let v = v0; v + W <= v1; v += W) {
    const xv = x + ((<usize>v * vs) << 2);
    const tv = isMask ? t + ((<usize>v * vs) << 2) : t + <usize>v * sizeof<T>();
    const dv = dx + ((<usize>v * vs) << 2);
    if (act == ACT_SOFTMAX) {
      // p_c into tmp[c], then dp_c over it, then the softmax chain rule
      let m = splat<V>(-Infinity);
      for (let c = 0; c < numClasses; c++) {
        const xc = loadVoxels<V>(xv + ((<usize>c * cs) << 2), vs, contiguous);
        m = pmax<V>(xc, m);
        store<V>(tmp + <usize>c * sizeof<V>(), xc);
      }
      let total = splat<V>(0);
      for (let c = 0; c < numClasses; c++) {
        const o = tmp + <usize>c * sizeof<V>();
        const e = expNonPositive<V>(sub<V>(load<V>(o), m));
        store<V>(o, e);
        total = add<V>(total, e);
      }
      // s = Σ p·dp, less the cross-entropy's Σ u·g (which enters dx as p_c·Σ u·g)
      let s = splat<V>(0);
      for (let c = 0; c < numClasses; c++) {
        const o = tmp + <usize>c * sizeof<V>();
        const p = div<V>(load<V>(o), total);
        const g = target<V, T>(tv, vs, cs, c, isMask, contiguous);
        const d = dprob<V>(p, g, coefOf(coef, c));
        store<V>(o, p);
        store<V>(o + <usize>numClasses * sizeof<V>(), d);
        s = add<V>(s, sub<V>(mul<V>(p, d), mul<V>(splat<V>(load<f32>(coefOf(coef, c), 16)), g)));
      }
      for (let c = 0; c < numClasses; c++) {
        const o = tmp + <usize>c * sizeof<V>();
        const g = target<V, T>(tv, vs, cs, c, isMask, contiguous);
        const u = splat<V>(load<f32>(coefOf(coef, c), 16));
        const r = sub<V>(mul<V>(load<V>(o), sub<V>(load<V>(o + <usize>numClasses * sizeof<V>()), s)), mul<V>(u, g));
        storeVoxels<V>(dv + ((<usize>c * dcs) << 2), vs, r, contiguous);
      }
    } else {
      for (let c = 0; c < numClasses; c++) {
        const xc = loadVoxels<V>(xv + ((<usize>c * cs) << 2), vs, contiguous);
        const g = target<V, T>(tv, vs, cs, c, isMask, contiguous);
        let r: V;
        if (act == ACT_SIGMOID) {
          // σ'(x) = e·q², see math.ts
          const e = expNegAbs<V>(xc);
          const q = reciprocalOnePlus<V>(e);
          r = mul<V>(dprob<V>(sigmoidOf<V>(xc, e, q), g, coefOf(coef, c)), mul<V>(e, mul<V>(q, q)));
        } else {
          r = dprob<V>(xc, g, coefOf(coef, c));
        }
        storeVoxels<V>(dv + ((<usize>c * dcs) << 2), vs, r, contiguous);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function backwardAll<T>(
  x: usize, vs: usize, cs: usize, t: usize, isMask: bool, nVox: i32, numClasses: i32, act: i32,
  coef: usize, dx: usize, dcs: usize, tmp: usize, contiguous: bool,
): void {
  if (!ASC_FEATURE_SIMD) {
    backwardRange<f32, T>(x, vs, cs, t, isMask, 0, nVox, numClasses, act, coef, dx, dcs, tmp, contiguous);
    return;
  }
  const main = nVox & ~3;
  backwardRange<v128, T>(x, vs, cs, t, isMask, 0, main, numClasses, act, coef, dx, dcs, tmp, contiguous);
  backwardRange<f32, T>(x, vs, cs, t, isMask, main, nVox, numClasses, act, coef, dx, dcs, tmp, contiguous);
}

// @ts-ignore: decorator
@inline function backward<T>(
  x: usize, vs: i32, cs: i32, t: usize, isMask: bool, nVox: i32, numClasses: i32, act: i32,
  coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  // one specialised loop per (activation, contiguity)
  if (vs == 1) {
    if (act == ACT_SOFTMAX) backwardAll<T>(x, 1, cs, t, isMask, nVox, numClasses, ACT_SOFTMAX, coef, dx, dcs, tmp, true);
    else if (act == ACT_SIGMOID) backwardAll<T>(x, 1, cs, t, isMask, nVox, numClasses, ACT_SIGMOID, coef, dx, dcs, tmp, true);
    else backwardAll<T>(x, 1, cs, t, isMask, nVox, numClasses, ACT_NONE, coef, dx, dcs, tmp, true);
  } else {
    if (act == ACT_SOFTMAX) backwardAll<T>(x, vs, cs, t, isMask, nVox, numClasses, ACT_SOFTMAX, coef, dx, dcs, tmp, false);
    else if (act == ACT_SIGMOID) backwardAll<T>(x, vs, cs, t, isMask, nVox, numClasses, ACT_SIGMOID, coef, dx, dcs, tmp, false);
    else backwardAll<T>(x, vs, cs, t, isMask, nVox, numClasses, ACT_NONE, coef, dx, dcs, tmp, false);
  }
}

/**
 * dL/dx for `nVox` voxels × `numClasses` classes of the input at `x` (voxel
 * stride vs, class stride cs, in floats) against the float mask at `t` (same
 * layout), written to `dx` (voxel stride vs, class stride dcs). `coef` holds
 * COEFS f32 (a, b, k, h, u) per class; `tmp` is scratch for 2·numClasses·16 bytes.
 * act: 0 none, 1 sigmoid, 2 softmax. Pointers in bytes.
 */
export function backwardMask(
  x: usize, vs: i32, cs: i32, t: usize, nVox: i32, numClasses: i32, act: i32, coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  backward<f32>(x, vs, cs, t, true, nVox, numClasses, act, coef, dx, dcs, tmp);
}

/** As backwardMask, against nVox u8 labels at `t`. */
export function backwardLabelU8(
  x: usize, vs: i32, cs: i32, t: usize, nVox: i32, numClasses: i32, act: i32, coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  backward<u8>(x, vs, cs, t, false, nVox, numClasses, act, coef, dx, dcs, tmp);
}

/** As backwardLabelU8, for u16 labels. */
export function backwardLabelU16(
  x: usize, vs: i32, cs: i32, t: usize, nVox: i32, numClasses: i32, act: i32, coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  backward<u16>(x, vs, cs, t, false, nVox, numClasses, act, coef, dx, dcs, tmp);
}

/** As backwardLabelU8, for i32 labels. */
export function backwardLabelI32(
  x: usize, vs: i32, cs: i32, t: usize, nVox: i32, numClasses: i32, act: i32, coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  backward<i32>(x, vs, cs, t, false, nVox, numClasses, act, coef, dx, dcs, tmp);
}

/** As backwardLabelU8, for f32 labels. */
export function backwardLabelF32(
  x: usize, vs: i32, cs: i32, t: usize, nVox: i32, numClasses: i32, act: i32, coef: usize, dx: usize, dcs: i32, tmp: usize,
): void {
  backward<f32>(x, vs, cs, t, false, nVox, numClasses, act, coef, dx, dcs, tmp);
}
