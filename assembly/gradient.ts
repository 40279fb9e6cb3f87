// Pass 2: the gradient, from what pass 1 left in planar groups (activate.ts),
// written over it in the prediction's own layout. No exp: softmax left p,
// sigmoid left z = ±σ(−|x|).
//
// Every loss here is a function of the statistics, so
//   r = dL/dp = a + b·g + k·(p − g) + h·sign(p − g)
// with coefficients per class computed in float64 by the loss layer (hard
// targets: a = L_fp, b = L_tp − L_fp − L_fn, k = 2·L_se; soft labels: a ± h on
// either side of p = g, their mean at a tie). Then the activation's chain rule:
//   sigmoid  dx = r·σ'(x), σ'(x) = |z|·(1 − |z|), which keeps its digits where
//            p·(1 − p) from a rounded p has none;
//   softmax  dx_c = p_c·(r_c − Σ_k p_k·r_k), plus the weighted cross-entropy's
//            p_c·Σ_k u_k·g_k − u_c·g_c (u = 0 without it).
// For the softmax's dominant class (p > 1/2, at most one a voxel) r_c − Σ p·r
// cancels: when p ≈ 1 the sum is r_c up to float32 rounding, so the difference
// keeps no digit. Its gradient is taken instead as minus the sum of the other
// classes' — softmax gradients sum to zero over the classes — which are exact.
import {
  ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX, COEF_A, COEF_B, COEF_H, COEF_K, COEF_U, COEFS, LABEL_F32, LABEL_I32, LABEL_U16, LABEL_U8,
  MODE_HARD, MODE_SOFT, MODE_SQUARED, TARGET_MASK,
} from "./codes";
import { classAt, groupedVoxels } from "./blocks";
import { abs, add, choose, classMask, drop, gtMask, keep, labelMask, labelsAt, loadSplat, lt1, mul, one, splat, sub, width } from "./lanes";
import { storeChannelsLast, toChannelsLast } from "./layout";

/** Coefficient `field` of class c, in every lane. */
// @ts-ignore: decorator
@inline function coefOf<V>(coef: usize, c: i32, field: i32): V {
  return loadSplat<V>(coef + (<usize>(c * COEFS + field) << 2));
}

/** dL/dp for one class vector, from the target g and d = p − g (only the squared and soft modes read d). */
// @ts-ignore: decorator
@inline function slope<V>(d: V, g: V, coef: usize, c: i32, mode: i32): V {
  let r = coefOf<V>(coef, c, COEF_A);
  if (mode == MODE_SOFT) {
    const zero = splat<V>(0);
    const sign = sub<V>(lt1<V>(zero, d), lt1<V>(d, zero));
    return add<V>(r, mul<V>(coefOf<V>(coef, c, COEF_H), sign));
  }
  r = add<V>(r, mul<V>(coefOf<V>(coef, c, COEF_B), g));
  if (mode == MODE_SQUARED) r = add<V>(r, mul<V>(coefOf<V>(coef, c, COEF_K), d));
  return r;
}

/**
 * p − g, with (1 − g) − (1 − p) where g is near 1: from a rounded p ≈ 1 the
 * direct difference keeps no digit, while `comp`, 1 − p from the activation
 * (σ(−x), or the other classes' mass for the dominant class), is exact.
 */
// @ts-ignore: decorator
@inline function pMinusG<V>(p: V, g: V, comp: V): V {
  return choose<V>(gtMask<V>(g, splat<V>(0.5)), sub<V>(sub<V>(splat<V>(1), g), comp), sub<V>(p, g));
}

/** The sigmoid's p and 1 − p from z = ±σ(−|x|) (negative: p is the larger). */
// @ts-ignore: decorator
@inline function sigmoidP<V>(z: V, small: V, big: V): V {
  return choose<V>(gtMask<V>(splat<V>(0), z), big, small);
}

/** x·g for a mask value g, or x where the label mask g is set. */
// @ts-ignore: decorator
@inline function times<V>(x: V, g: V, isMask: bool): V {
  return isMask ? mul<V>(x, g) : keep<V>(x, g);
}

/**
 * slope() with g a mask value, or a label mask (then the hard slope is a + b
 * where the label is the class); p and its exact complement for the other modes.
 */
// @ts-ignore: decorator
@inline function slopeOf<V>(p: V, comp: V, g: V, coef: usize, c: i32, mode: i32, isMask: bool): V {
  if (mode == MODE_HARD && !isMask) return add<V>(coefOf<V>(coef, c, COEF_A), keep<V>(coefOf<V>(coef, c, COEF_B), g));
  const gv = isMask ? g : one<V>(g);
  return slope<V>(mode == MODE_HARD ? gv : pMinusG<V>(p, gv, comp), gv, coef, c, mode);
}

/** The gradient of the W voxels at v, all classes, into the C vectors at `out` (16 bytes apart in SIMD). */
// @ts-ignore: decorator
@inline function groupGradient<V, T>(
  keepPtr: usize, kps: usize, t: usize, tps: usize, v: i32, C: i32, ilv: bool, act: i32, tkind: i32,
  mode: i32, ce: bool, coef: usize, rs: usize, out: usize,
): void {
  const isMask = tkind == TARGET_MASK;
  const l = isMask ? splat<V>(0) : labelsAt<V, T>(t + <usize>v * sizeof<T>());
  // softmax, squared and soft modes: the mass outside the dominant class, its exact 1 − p
  let Q = splat<V>(0);
  if (act == ACT_SOFTMAX && mode != MODE_HARD) {
    for (let c = 0; c < C; c++) {
      const p = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
      Q = add<V>(Q, drop<V>(p, gtMask<V>(p, splat<V>(0.5))));
    }
  }
  let s = splat<V>(0); // softmax: Σ p·r less the cross-entropy's Σ u·g
  for (let c = 0; c < C; c++) {
    const stored = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
    const g = isMask ? load<V>(classAt<V>(t, v, c, C, ilv, tps)) : one<V>(classMask<V>(l, c));
    const at = out + <usize>c * sizeof<V>();
    if (act == ACT_SIGMOID) {
      // z < 0: p = 1 − |z|, else p = |z|; σ' = |z|(1 − |z|)
      const small = abs<V>(stored);
      const big = sub<V>(splat<V>(1), small);
      const d = mode == MODE_HARD ? g : pMinusG<V>(sigmoidP<V>(stored, small, big), g, sigmoidP<V>(stored, big, small));
      store<V>(at, mul<V>(slope<V>(d, g, coef, c, mode), mul<V>(small, big)));
    } else if (act == ACT_SOFTMAX) {
      const comp = choose<V>(gtMask<V>(stored, splat<V>(0.5)), Q, sub<V>(splat<V>(1), stored));
      const r = slope<V>(mode == MODE_HARD ? g : pMinusG<V>(stored, g, comp), g, coef, c, mode);
      store<V>(rs + <usize>c * sizeof<V>(), r);
      s = add<V>(s, mul<V>(stored, r));
      if (ce) s = sub<V>(s, mul<V>(coefOf<V>(coef, c, COEF_U), g));
    } else {
      store<V>(at, slope<V>(sub<V>(stored, g), g, coef, c, mode));
    }
  }
  if (act != ACT_SOFTMAX) return;
  // every class but the dominant one, and minus their sum for the dominant one
  let others = splat<V>(0);
  for (let c = 0; c < C; c++) {
    const p = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
    let dx = mul<V>(p, sub<V>(load<V>(rs + <usize>c * sizeof<V>()), s));
    if (ce) {
      const g = isMask ? load<V>(classAt<V>(t, v, c, C, ilv, tps)) : one<V>(classMask<V>(l, c));
      dx = sub<V>(dx, mul<V>(coefOf<V>(coef, c, COEF_U), g));
    }
    store<V>(out + <usize>c * sizeof<V>(), dx);
    others = add<V>(others, drop<V>(dx, gtMask<V>(p, splat<V>(0.5))));
  }
  const minusOthers = sub<V>(splat<V>(0), others);
  for (let c = 0; c < C; c++) {
    const p = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
    const at = out + <usize>c * sizeof<V>();
    store<V>(at, choose<V>(gtMask<V>(p, splat<V>(0.5)), minusOthers, load<V>(at)));
  }
}

/**
 * The softmax gradient of the W voxels at v for C ≤ 4, in registers: what
 * groupGradient computes, written to `dst` in the prediction's layout.
 */
// @ts-ignore: decorator
@inline function softmaxGroupSmall<V, T>(
  keepPtr: usize, kps: usize, t: usize, tps: usize, v: i32, C: i32, ilv: bool, tkind: i32,
  mode: i32, ce: bool, coef: usize, dst: usize, dps: usize,
): void {
  const zero = splat<V>(0);
  const isMask = tkind == TARGET_MASK;
  const p0 = load<V>(classAt<V>(keepPtr, v, 0, C, ilv, kps));
  const p1 = load<V>(classAt<V>(keepPtr, v, 1, C, ilv, kps));
  const p2 = C > 2 ? load<V>(classAt<V>(keepPtr, v, 2, C, ilv, kps)) : zero;
  const p3 = C > 3 ? load<V>(classAt<V>(keepPtr, v, 3, C, ilv, kps)) : zero;
  // g: the mask's value, or for labels the class mask (SIMD: all ones where the label is the class)
  let g0: V, g1: V, g2: V, g3: V;
  if (isMask) {
    g0 = load<V>(classAt<V>(t, v, 0, C, ilv, tps));
    g1 = load<V>(classAt<V>(t, v, 1, C, ilv, tps));
    g2 = C > 2 ? load<V>(classAt<V>(t, v, 2, C, ilv, tps)) : zero;
    g3 = C > 3 ? load<V>(classAt<V>(t, v, 3, C, ilv, tps)) : zero;
  } else {
    const l = labelsAt<V, T>(t + <usize>v * sizeof<T>());
    g0 = classMask<V>(l, 0);
    g1 = classMask<V>(l, 1);
    g2 = C > 2 ? classMask<V>(l, 2) : zero;
    g3 = C > 3 ? classMask<V>(l, 3) : zero;
  }
  // the squared and soft modes read p − g: 1 − p of the dominant class (p > 1/2) is the others' mass
  const h = splat<V>(0.5);
  const m0 = gtMask<V>(p0, h), m1 = gtMask<V>(p1, h), m2 = gtMask<V>(p2, h), m3 = gtMask<V>(p3, h);
  let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
  if (mode != MODE_HARD) {
    const one1 = splat<V>(1);
    const Q = add<V>(add<V>(drop<V>(p0, m0), drop<V>(p1, m1)), add<V>(drop<V>(p2, m2), drop<V>(p3, m3)));
    c0 = choose<V>(m0, Q, sub<V>(one1, p0));
    c1 = choose<V>(m1, Q, sub<V>(one1, p1));
    c2 = choose<V>(m2, Q, sub<V>(one1, p2));
    c3 = choose<V>(m3, Q, sub<V>(one1, p3));
  }
  const r0 = slopeOf<V>(p0, c0, g0, coef, 0, mode, isMask);
  const r1 = slopeOf<V>(p1, c1, g1, coef, 1, mode, isMask);
  const r2 = C > 2 ? slopeOf<V>(p2, c2, g2, coef, 2, mode, isMask) : zero;
  const r3 = C > 3 ? slopeOf<V>(p3, c3, g3, coef, 3, mode, isMask) : zero;
  let s = add<V>(add<V>(mul<V>(p0, r0), mul<V>(p1, r1)), add<V>(mul<V>(p2, r2), mul<V>(p3, r3)));
  // the cross-entropy's u·g, subtracted from s and from each class's gradient
  const u0 = ce ? times<V>(coefOf<V>(coef, 0, COEF_U), g0, isMask) : zero;
  const u1 = ce ? times<V>(coefOf<V>(coef, 1, COEF_U), g1, isMask) : zero;
  const u2 = ce && C > 2 ? times<V>(coefOf<V>(coef, 2, COEF_U), g2, isMask) : zero;
  const u3 = ce && C > 3 ? times<V>(coefOf<V>(coef, 3, COEF_U), g3, isMask) : zero;
  if (ce) s = sub<V>(s, add<V>(add<V>(u0, u1), add<V>(u2, u3)));
  // every class but the dominant one, and minus their sum for the dominant one
  const f0 = drop<V>(sub<V>(mul<V>(p0, sub<V>(r0, s)), u0), m0);
  const f1 = drop<V>(sub<V>(mul<V>(p1, sub<V>(r1, s)), u1), m1);
  const f2 = C > 2 ? drop<V>(sub<V>(mul<V>(p2, sub<V>(r2, s)), u2), m2) : zero;
  const f3 = C > 3 ? drop<V>(sub<V>(mul<V>(p3, sub<V>(r3, s)), u3), m3) : zero;
  const minusOthers = sub<V>(zero, add<V>(add<V>(f0, f1), add<V>(f2, f3)));
  const o0 = add<V>(f0, keep<V>(minusOthers, m0));
  const o1 = add<V>(f1, keep<V>(minusOthers, m1));
  const o2 = add<V>(f2, keep<V>(minusOthers, m2));
  const o3 = add<V>(f3, keep<V>(minusOthers, m3));
  if (isVector<V>() && ilv) {
    // @ts-ignore: V is v128 here
    storeChannelsLast(<v128>o0, <v128>o1, <v128>o2, <v128>o3, C, dst + (<usize>(v * C) << 2));
  } else {
    store<V>(classAt<V>(dst, v, 0, C, ilv, dps), o0);
    store<V>(classAt<V>(dst, v, 1, C, ilv, dps), o1);
    if (C > 2) store<V>(classAt<V>(dst, v, 2, C, ilv, dps), o2);
    if (C > 3) store<V>(classAt<V>(dst, v, 3, C, ilv, dps), o3);
  }
}

// @ts-ignore: decorator
@inline function gradientRange<V, T>(
  keepPtr: usize, kps: usize, t: usize, tps: usize, v0: i32, v1: i32, C: i32, ilv: bool, act: i32, tkind: i32,
  mode: i32, ce: bool, coef: usize, dst: usize, dps: usize, tmp: usize,
): void {
  const W = width<V>();
  const rs = tmp;
  const out = tmp + (<usize>C << 4);
  if (act == ACT_SOFTMAX && C <= 4) {
    for (let v = v0; v + W <= v1; v += W) softmaxGroupSmall<V, T>(keepPtr, kps, t, tps, v, C, ilv, tkind, mode, ce, coef, dst, dps);
    return;
  }
  for (let v = v0; v + W <= v1; v += W) {
    groupGradient<V, T>(keepPtr, kps, t, tps, v, C, ilv, act, tkind, mode, ce, coef, rs, out);
    // each group's output covers exactly its input, so dst may be keepPtr
    if (ilv && isVector<V>()) toChannelsLast(out, C, dst + (<usize>(v * C) << 2));
    else for (let c = 0; c < C; c++) store<V>(classAt<V>(dst, v, c, C, ilv, dps), load<V>(out + <usize>c * sizeof<V>()));
  }
}

/**
 * Sigmoid or no activation over one class plane (channels-first, or one
 * class): elementwise, so n voxels in a row, four vectors an iteration.
 */
// @ts-ignore: decorator
@inline function planeGradient<T>(
  keepPtr: usize, t: usize, n: i32, c: i32, act: i32, tkind: i32, mode: i32, coef: usize, dst: usize,
): void {
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    for (; v + 16 <= n; v += 16) {
      elementGradient<v128, T>(keepPtr, t, v, c, act, tkind, mode, coef, dst);
      elementGradient<v128, T>(keepPtr, t, v + 4, c, act, tkind, mode, coef, dst);
      elementGradient<v128, T>(keepPtr, t, v + 8, c, act, tkind, mode, coef, dst);
      elementGradient<v128, T>(keepPtr, t, v + 12, c, act, tkind, mode, coef, dst);
    }
    for (; v + 4 <= n; v += 4) elementGradient<v128, T>(keepPtr, t, v, c, act, tkind, mode, coef, dst);
  }
  for (; v < n; v++) elementGradient<f32, T>(keepPtr, t, v, c, act, tkind, mode, coef, dst);
}

/** dL/dx of the W voxels at v of a class plane, from z (sigmoid) or p (none). */
// @ts-ignore: decorator
@inline function elementGradient<V, T>(
  keepPtr: usize, t: usize, v: i32, c: i32, act: i32, tkind: i32, mode: i32, coef: usize, dst: usize,
): void {
  const o = <usize>v << 2;
  const stored = load<V>(keepPtr + o);
  const isMask = tkind == TARGET_MASK;
  const g = isMask ? load<V>(t + o) : labelMask<V, T>(t + <usize>v * sizeof<T>(), c);
  if (act == ACT_SIGMOID) {
    // z < 0: p = 1 − |z|, else p = |z|; σ' = |z|(1 − |z|)
    const small = abs<V>(stored);
    const big = sub<V>(splat<V>(1), small);
    const p = sigmoidP<V>(stored, small, big);
    const comp = sigmoidP<V>(stored, big, small);
    store<V>(dst + o, mul<V>(slopeOf<V>(p, comp, g, coef, c, mode, isMask), mul<V>(small, big)));
  } else store<V>(dst + o, slopeOf<V>(stored, sub<V>(splat<V>(1), stored), g, coef, c, mode, isMask));
}

// @ts-ignore: decorator
@inline function gradientOf<T>(
  keepPtr: usize, kps: usize, t: usize, tps: usize, nv: i32, C: i32, ilv: bool, act: i32, tkind: i32,
  mode: i32, ce: bool, coef: usize, dst: usize, dps: usize, tmp: usize,
): void {
  if (!ilv && act != ACT_SOFTMAX) {
    for (let c = 0; c < C; c++) {
      const ct = tkind == TARGET_MASK ? t + ((<usize>c * tps) << 2) : t;
      planeGradient<T>(keepPtr + ((<usize>c * kps) << 2), ct, nv, c, act, tkind, mode, coef, dst + ((<usize>c * dps) << 2));
    }
    return;
  }
  const main = groupedVoxels(nv);
  if (ASC_FEATURE_SIMD) gradientRange<v128, T>(keepPtr, kps, t, tps, 0, main, C, ilv, act, tkind, mode, ce, coef, dst, dps, tmp);
  gradientRange<f32, T>(keepPtr, kps, t, tps, main, nv, C, ilv, act, tkind, mode, ce, coef, dst, dps, tmp);
}

// one wasm function per label type: smaller functions, which Binaryen optimises much faster
function gradientAct<T>(
  keepPtr: usize, kps: usize, t: usize, tps: usize, nv: i32, C: i32, ilv: bool, act: i32, tkind: i32,
  mode: i32, ce: bool, coef: usize, dst: usize, dps: usize, tmp: usize,
): void {
  // one specialised loop per (activation, mode, common class count)
  if (act == ACT_SOFTMAX) {
    if (ce) {
      if (mode != MODE_HARD) gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SOFTMAX, tkind, mode, true, coef, dst, dps, tmp);
      else if (C == 2) gradientOf<T>(keepPtr, kps, t, tps, nv, 2, ilv, ACT_SOFTMAX, tkind, 0, true, coef, dst, dps, tmp);
      else if (C == 3) gradientOf<T>(keepPtr, kps, t, tps, nv, 3, ilv, ACT_SOFTMAX, tkind, 0, true, coef, dst, dps, tmp);
      else if (C == 4) gradientOf<T>(keepPtr, kps, t, tps, nv, 4, ilv, ACT_SOFTMAX, tkind, 0, true, coef, dst, dps, tmp);
      else gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SOFTMAX, tkind, 0, true, coef, dst, dps, tmp);
    } else if (mode != 0) gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SOFTMAX, tkind, mode, false, coef, dst, dps, tmp);
    else if (C == 2) gradientOf<T>(keepPtr, kps, t, tps, nv, 2, ilv, ACT_SOFTMAX, tkind, 0, false, coef, dst, dps, tmp);
    else if (C == 3) gradientOf<T>(keepPtr, kps, t, tps, nv, 3, ilv, ACT_SOFTMAX, tkind, 0, false, coef, dst, dps, tmp);
    else if (C == 4) gradientOf<T>(keepPtr, kps, t, tps, nv, 4, ilv, ACT_SOFTMAX, tkind, 0, false, coef, dst, dps, tmp);
    else gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SOFTMAX, tkind, 0, false, coef, dst, dps, tmp);
  } else if (act == ACT_SIGMOID) {
    if (mode == MODE_HARD) gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SIGMOID, tkind, MODE_HARD, false, coef, dst, dps, tmp);
    else gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, ACT_SIGMOID, tkind, mode, false, coef, dst, dps, tmp);
  } else if (mode == MODE_HARD) gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, 0, tkind, MODE_HARD, false, coef, dst, dps, tmp);
  else gradientOf<T>(keepPtr, kps, t, tps, nv, C, ilv, 0, tkind, mode, false, coef, dst, dps, tmp);
}

/**
 * Pass 2 for a chunk of nv voxels × C classes: reads what pass 1 left at `keepPtr`
 * (planar groups, plane stride kps when !ilv) and writes dL/dx over it in the
 * prediction's layout. t: the target (a mask in planar groups with plane stride
 * tps, or nv labels of kind tkind); coef: COEFS floats per class (a, b, k, h, u);
 * dst: where dL/dx goes, in the prediction's layout (plane stride dps; it may
 * be keepPtr: each group's output covers exactly its input); tmp: scratch for
 * 2·C vectors. Pointers in bytes, strides in floats.
 */
export function gradient(
  keepPtr: usize, kps: i32, t: usize, tps: i32, nv: i32, C: i32, ilv: i32, act: i32, tkind: i32,
  mode: i32, ce: i32, coef: usize, dst: usize, dstPs: i32, tmp: usize,
): i32 {
  const k = <usize>kps, s = <usize>tps, il = ilv != 0, withCe = ce != 0, dps = <usize>dstPs;
  if (act != ACT_NONE && act != ACT_SIGMOID && act != ACT_SOFTMAX) return 0;
  if (mode != MODE_HARD && mode != MODE_SOFT && mode != MODE_SQUARED) return 0;
  // the cross-entropy's gradient comes with the softmax
  if (withCe && act != ACT_SOFTMAX) return 0;
  if (tkind == TARGET_MASK) gradientAct<f32>(keepPtr, k, t, s, nv, C, il, act, TARGET_MASK, mode, withCe, coef, dst, dps, tmp);
  else if (tkind == LABEL_U8) gradientAct<u8>(keepPtr, k, t, s, nv, C, il, act, LABEL_U8, mode, withCe, coef, dst, dps, tmp);
  else if (tkind == LABEL_U16) gradientAct<u16>(keepPtr, k, t, s, nv, C, il, act, LABEL_U16, mode, withCe, coef, dst, dps, tmp);
  else if (tkind == LABEL_I32) gradientAct<i32>(keepPtr, k, t, s, nv, C, il, act, LABEL_I32, mode, withCe, coef, dst, dps, tmp);
  else if (tkind == LABEL_F32) gradientAct<f32>(keepPtr, k, t, s, nv, C, il, act, LABEL_F32, mode, withCe, coef, dst, dps, tmp);
  else return 0;
  return 1;
}
