// Pass 1, first half: the activation of one chunk of voxels, written in planar
// groups (see layout.ts) where pass 2 will read it — the caller's gradient
// array, or scratch — plus the per-voxel values the statistics need to stay
// exact for near-perfect predictions.
//
// Addressing. Element (voxel v, class c) of a chunk is at
//   channels-last  (ilv = 1): base + 4·(v·C + c) in the input, and in planar
//                  groups base + 4·(v0·C + c·W + v − v0) for the group of W
//                  voxels starting at v0 (W = 4, then 1 for the last nv mod 4);
//   channels-first (ilv = 0): base + 4·(v + c·ps), planar already.
// Per-voxel planes ("voxel" arguments) hold one float (or i32) per voxel.
//
// Softmax, in three passes over the chunk (it stays in cache): the class
// vectors minus their voxel's maximum; e^d over every element, four vectors at
// a time (the exp is the cost, and this loop is the same for any C); then the
// normalisation. For label maps the last pass also writes O, the probability
// mass outside each voxel's label, summed over the other classes, so that
// fn = Σ O for the label's class has no 1 − p (which has no correct digit when
// p rounds to 1); for masks it writes Q, the mass outside the dominant class
// (p > 1/2), which is 1 − p of that class. With the cross-entropy it writes
// −ln p of the label from log-sum-exp: ln(1 + Σ others) − d_label.
//
// Sigmoid, elementwise from e = e^−|x|: p = σ(x), its complement σ(−x), and
// for pass 2 z = ±σ(−|x|), the smaller of the two with the sign telling which
// (negative: p is the larger), so that σ'(x) = |z|(1 − |z|) keeps its digits.
import { classAt, groupedVoxels } from "./blocks";
import { add, choose, classMask, div, drop, gtMask, hsum, keep, labelsAt, mul, pmax, negateUnless, signMask, splat, sub, width } from "./lanes";
import { classOf, toPlanar } from "./layout";
import { expNonPositive, ln1p, negAbs } from "./math";
import {
  ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX, LABEL_F32, LABEL_I32, LABEL_U16, LABEL_U8, TARGET_MASK,
} from "./codes";

/** Loads the C class vectors of the input group at v0 into planar vectors at `dst` (16 bytes apart). */
// @ts-ignore: decorator
@inline function gatherGroup<V>(x: usize, v0: i32, C: i32, ilv: bool, xps: usize, dst: usize): void {
  if (ilv && isVector<V>()) {
    toPlanar(x + (<usize>(v0 * C) << 2), C, dst);
    return;
  }
  for (let c = 0; c < C; c++) store<V>(dst + <usize>c * sizeof<V>(), load<V>(classAt<V>(x, v0, c, C, ilv, xps)));
}

/**
 * Softmax, first pass over voxels [v0, v1): d = x − max over classes, into
 * keep; with the cross-entropy and labels, d of the label into `nll`; with
 * the cross-entropy and a mask, every d also into `dcopy` (keep's layout,
 * plane stride `dps`). Returns Σ (d − d): 0 when every logit is finite, NaN
 * otherwise (NaN and ±∞ give NaN in d − d), and it cannot overflow.
 */
// @ts-ignore: decorator
@inline function shiftRange<V, T>(
  x: usize, xps: usize, v0: i32, v1: i32, C: i32, ilv: bool, keepPtr: usize, kps: usize,
  labels: usize, nll: usize, dcopy: usize, dps: usize, ce: bool, mask: bool, tmp: usize,
): f64 {
  const W = width<V>();
  let check = splat<V>(0);
  for (let v = v0; v + W <= v1; v += W) {
    gatherGroup<V>(x, v, C, ilv, xps, tmp);
    let m = load<V>(tmp);
    for (let c = 1; c < C; c++) m = pmax<V>(m, load<V>(tmp + <usize>c * sizeof<V>()));
    let dl = splat<V>(0);
    const l = ce && !mask ? labelsAt<V, T>(labels + <usize>v * sizeof<T>()) : splat<V>(0);
    for (let c = 0; c < C; c++) {
      const d = sub<V>(load<V>(tmp + <usize>c * sizeof<V>()), m);
      store<V>(classAt<V>(keepPtr, v, c, C, ilv, kps), d);
      check = add<V>(check, sub<V>(d, d));
      if (ce) {
        if (mask) store<V>(classAt<V>(dcopy, v, c, C, ilv, dps), d);
        else dl = add<V>(dl, keep<V>(d, classMask<V>(l, c)));
      }
    }
    if (ce && !mask) store<V>(nll + (<usize>v << 2), dl);
  }
  return hsum<V>(check);
}

/** e^x in place over n contiguous floats at p (every x ≤ 0), four vectors at a time. */
// @ts-ignore: decorator
@inline function expInPlace(p: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= n; i += 16) {
      const q = p + (<usize>i << 2);
      const e0 = expNonPositive<v128>(v128.load(q));
      const e1 = expNonPositive<v128>(v128.load(q, 16));
      const e2 = expNonPositive<v128>(v128.load(q, 32));
      const e3 = expNonPositive<v128>(v128.load(q, 48));
      v128.store(q, e0);
      v128.store(q, e1, 16);
      v128.store(q, e2, 32);
      v128.store(q, e3, 48);
    }
    for (; i + 4 <= n; i += 4) {
      const q = p + (<usize>i << 2);
      v128.store(q, expNonPositive<v128>(v128.load(q)));
    }
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, expNonPositive<f32>(load<f32>(q)));
  }
}

/**
 * Softmax, last pass over voxels [v0, v1): e in keep → p = e/Σe in place.
 * Labels: O per voxel into `voxel`, the labels as lanes into `lab32`, with the
 * cross-entropy −ln p of the label into `nll` (which held d of the label).
 * Masks: 1 − p per element into `comp` (plane stride cps) — for the dominant
 * class, the sum of the others — and with the cross-entropy ln Σe into `nll`.
 */
// @ts-ignore: decorator
@inline function normaliseRange<V, T>(
  v0: i32, v1: i32, C: i32, ilv: bool, keepPtr: usize, kps: usize,
  labels: usize, voxel: usize, lab32: usize, comp: usize, cps: usize, nll: usize, ce: bool, mask: bool,
): void {
  const W = width<V>();
  for (let v = v0; v + W <= v1; v += W) {
    let total = splat<V>(0);
    // Σ of the e < 1: all classes but the maximum when it is unique (e of the maximum is exactly 1)
    let below = splat<V>(0);
    for (let c = 0; c < C; c++) {
      const e = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
      total = add<V>(total, e);
      if (ce) below = add<V>(below, keep<V>(e, gtMask<V>(splat<V>(1), e)));
    }
    const r = div<V>(splat<V>(1), total);
    const l = mask ? splat<V>(0) : labelsAt<V, T>(labels + <usize>v * sizeof<T>());
    let outside = splat<V>(0);
    for (let c = 0; c < C; c++) {
      const at = classAt<V>(keepPtr, v, c, C, ilv, kps);
      const p = mul<V>(load<V>(at), r);
      store<V>(at, p);
      // labels: O = Σ p of the classes that are not the label; masks: Q = Σ p ≤ 1/2
      outside = add<V>(outside, drop<V>(p, mask ? gtMask<V>(p, splat<V>(0.5)) : classMask<V>(l, c)));
    }
    const o = <usize>v << 2;
    if (mask) {
      for (let c = 0; c < C; c++) {
        const p = load<V>(classAt<V>(keepPtr, v, c, C, ilv, kps));
        store<V>(classAt<V>(comp, v, c, C, ilv, cps), choose<V>(gtMask<V>(p, splat<V>(0.5)), outside, sub<V>(splat<V>(1), p)));
      }
    } else {
      store<V>(voxel + o, outside);
      store<V>(lab32 + o, l);
    }
    if (ce) {
      // ln Σe = ln(1 + others), others exactly the sum below the maximum when it is
      // unique, and Σe − 1 (≥ 1, no cancellation) when it is tied
      const others = choose<V>(gtMask<V>(splat<V>(2), total), below, sub<V>(total, splat<V>(1)));
      const lse = ln1p<V>(others);
      store<V>(nll + o, mask ? lse : sub<V>(lse, load<V>(nll + o)));
    }
  }
}

/**
 * Softmax of voxels [v0, v1) for C ≤ 4, in registers: the same results as the
 * three passes below (shiftRange, expInPlace, normaliseRange) in one loop.
 */
// @ts-ignore: decorator
@inline function softmaxSmall<V, T>(
  x: usize, xps: usize, v0: i32, v1: i32, C: i32, ilv: bool, keepPtr: usize, kps: usize,
  labels: usize, voxel: usize, lab32: usize, comp: usize, cps: usize, nll: usize, dcopy: usize, ce: bool, mask: bool,
): f64 {
  const W = width<V>();
  const zero = splat<V>(0);
  let check = zero;
  for (let v = v0; v + W <= v1; v += W) {
    let x0: V, x1: V, x2: V, x3: V;
    if (isVector<V>() && ilv) {
      const src = x + (<usize>(v * C) << 2);
      const a = v128.load(src);
      const b = C > 1 ? v128.load(src, 16) : a;
      const c = C > 2 ? v128.load(src, 32) : a;
      const d = C > 3 ? v128.load(src, 48) : a;
      // @ts-ignore: V is v128 here
      x0 = <V>classOf(a, b, c, d, C, 0);
      // @ts-ignore: V is v128 here
      x1 = <V>classOf(a, b, c, d, C, 1);
      // @ts-ignore: V is v128 here
      x2 = C > 2 ? <V>classOf(a, b, c, d, C, 2) : zero;
      // @ts-ignore: V is v128 here
      x3 = C > 3 ? <V>classOf(a, b, c, d, C, 3) : zero;
    } else {
      x0 = load<V>(classAt<V>(x, v, 0, C, ilv, xps));
      x1 = load<V>(classAt<V>(x, v, 1, C, ilv, xps));
      x2 = C > 2 ? load<V>(classAt<V>(x, v, 2, C, ilv, xps)) : zero;
      x3 = C > 3 ? load<V>(classAt<V>(x, v, 3, C, ilv, xps)) : zero;
    }
    let m = pmax<V>(x0, x1);
    if (C > 2) m = pmax<V>(m, x2);
    if (C > 3) m = pmax<V>(m, x3);
    const d0 = sub<V>(x0, m);
    const d1 = sub<V>(x1, m);
    const d2 = C > 2 ? sub<V>(x2, m) : zero;
    const d3 = C > 3 ? sub<V>(x3, m) : zero;
    check = add<V>(check, add<V>(add<V>(sub<V>(d0, d0), sub<V>(d1, d1)), add<V>(sub<V>(d2, d2), sub<V>(d3, d3))));
    const e0 = expNonPositive<V>(d0);
    const e1 = expNonPositive<V>(d1);
    const e2 = C > 2 ? expNonPositive<V>(d2) : zero;
    const e3 = C > 3 ? expNonPositive<V>(d3) : zero;
    const total = add<V>(add<V>(e0, e1), add<V>(e2, e3));
    const r = div<V>(splat<V>(1), total);
    const p0 = mul<V>(e0, r);
    const p1 = mul<V>(e1, r);
    const p2 = mul<V>(e2, r);
    const p3 = mul<V>(e3, r);
    store<V>(classAt<V>(keepPtr, v, 0, C, ilv, kps), p0);
    store<V>(classAt<V>(keepPtr, v, 1, C, ilv, kps), p1);
    if (C > 2) store<V>(classAt<V>(keepPtr, v, 2, C, ilv, kps), p2);
    if (C > 3) store<V>(classAt<V>(keepPtr, v, 3, C, ilv, kps), p3);
    const o = <usize>v << 2;
    const l = mask ? zero : labelsAt<V, T>(labels + <usize>v * sizeof<T>());
    if (mask) {
      // Q, the mass outside the dominant class (p > 1/2): 1 − p of that class, exactly
      const h = splat<V>(0.5);
      const q0 = gtMask<V>(p0, h), q1 = gtMask<V>(p1, h), q2 = gtMask<V>(p2, h), q3 = gtMask<V>(p3, h);
      const Q = add<V>(add<V>(drop<V>(p0, q0), drop<V>(p1, q1)), add<V>(drop<V>(p2, q2), drop<V>(p3, q3)));
      const one = splat<V>(1);
      store<V>(classAt<V>(comp, v, 0, C, ilv, cps), choose<V>(q0, Q, sub<V>(one, p0)));
      store<V>(classAt<V>(comp, v, 1, C, ilv, cps), choose<V>(q1, Q, sub<V>(one, p1)));
      if (C > 2) store<V>(classAt<V>(comp, v, 2, C, ilv, cps), choose<V>(q2, Q, sub<V>(one, p2)));
      if (C > 3) store<V>(classAt<V>(comp, v, 3, C, ilv, cps), choose<V>(q3, Q, sub<V>(one, p3)));
    } else {
      // O, the mass outside the label: 1 − p of the label's class, exactly
      let O = add<V>(drop<V>(p0, classMask<V>(l, 0)), drop<V>(p1, classMask<V>(l, 1)));
      if (C > 2) O = add<V>(O, drop<V>(p2, classMask<V>(l, 2)));
      if (C > 3) O = add<V>(O, drop<V>(p3, classMask<V>(l, 3)));
      store<V>(voxel + o, O);
      store<V>(lab32 + o, l);
    }
    if (ce) {
      // ln Σe = ln(1 + others): see normaliseRange
      const one = splat<V>(1);
      const below = add<V>(
        add<V>(keep<V>(e0, gtMask<V>(one, e0)), keep<V>(e1, gtMask<V>(one, e1))),
        add<V>(keep<V>(e2, gtMask<V>(one, e2)), keep<V>(e3, gtMask<V>(one, e3))),
      );
      const lse = ln1p<V>(choose<V>(gtMask<V>(splat<V>(2), total), below, sub<V>(total, one)));
      if (mask) {
        store<V>(nll + o, lse);
        store<V>(classAt<V>(dcopy, v, 0, C, ilv, cps), d0);
        store<V>(classAt<V>(dcopy, v, 1, C, ilv, cps), d1);
        if (C > 2) store<V>(classAt<V>(dcopy, v, 2, C, ilv, cps), d2);
        if (C > 3) store<V>(classAt<V>(dcopy, v, 3, C, ilv, cps), d3);
      } else {
        let dl = add<V>(keep<V>(d0, classMask<V>(l, 0)), keep<V>(d1, classMask<V>(l, 1)));
        if (C > 2) dl = add<V>(dl, keep<V>(d2, classMask<V>(l, 2)));
        if (C > 3) dl = add<V>(dl, keep<V>(d3, classMask<V>(l, 3)));
        store<V>(nll + o, sub<V>(lse, dl));
      }
    }
  }
  return hsum<V>(check);
}

/**
 * Sigmoid over n contiguous elements (one run of the chunk): from x at `src`,
 * z = ±σ(−|x|) into `z` (pass 2's input), p into `p`, 1 − p into `comp`.
 */
// @ts-ignore: decorator
@inline function sigmoidRun(src: usize, n: i32, z: usize, p: usize, comp: usize): f64 {
  let i = 0;
  let check: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    // four vectors an iteration: independent exps for the processor to overlap
    let sum = f32x4.splat(0);
    for (; i + 16 <= n; i += 16) {
      const o = <usize>i << 2;
      const s0 = sigmoidAt<v128>(src, z, p, comp, o);
      const s1 = sigmoidAt<v128>(src, z, p, comp, o + 16);
      const s2 = sigmoidAt<v128>(src, z, p, comp, o + 32);
      const s3 = sigmoidAt<v128>(src, z, p, comp, o + 48);
      sum = f32x4.add(sum, f32x4.add(f32x4.add(f32x4.sub(s0, s0), f32x4.sub(s1, s1)), f32x4.add(f32x4.sub(s2, s2), f32x4.sub(s3, s3))));
    }
    for (; i + 4 <= n; i += 4) {
      const x = sigmoidAt<v128>(src, z, p, comp, <usize>i << 2);
      sum = f32x4.add(sum, f32x4.sub(x, x));
    }
    check = hsum<v128>(sum);
  }
  for (; i < n; i++) {
    const x = sigmoidAt<f32>(src, z, p, comp, <usize>i << 2);
    check += <f64>(x - x);
  }
  return check;
}

/** The sigmoid of the W inputs at src + o into z, p and comp (see activate()); returns them, for the checksum. */
// @ts-ignore: decorator
@inline function sigmoidAt<V>(src: usize, z: usize, p: usize, comp: usize, o: usize): V {
  const x = load<V>(src + o);
  const e = expNonPositive<V>(negAbs<V>(x));
  const big = div<V>(splat<V>(1), add<V>(splat<V>(1), e)); // σ(|x|)
  const small = mul<V>(e, big); // σ(−|x|)
  const negative = signMask<V>(x);
  if (isVector<V>()) {
    // x < 0: p is the small one. Both swapped by one xor with their difference (two ops fewer than two selects)
    // @ts-ignore: V is v128 here
    const swap = v128.and(v128.xor(<v128>big, <v128>small), <v128>negative);
    // @ts-ignore: V is v128 here
    store<V>(p + o, <V>v128.xor(<v128>big, swap));
    // @ts-ignore: V is v128 here
    store<V>(comp + o, <V>v128.xor(<v128>small, swap));
  } else {
    store<V>(p + o, choose<V>(negative, small, big));
    store<V>(comp + o, choose<V>(negative, big, small));
  }
  // z: the small one, negative where it is 1 − p (x ≥ 0)
  store<V>(z + o, negateUnless<V>(small, negative));
  return x;
}

// @ts-ignore: decorator
@inline function gatherRange<V>(x: usize, xps: usize, v0: i32, v1: i32, C: i32, ilv: bool, dst: usize, dps: usize, tmp: usize): f64 {
  const W = width<V>();
  let check = splat<V>(0);
  for (let v = v0; v + W <= v1; v += W) {
    if (isVector<V>() && ilv && C <= 4) {
      // in registers: load the group, transpose, store the class vectors
      const src = x + (<usize>(v * C) << 2);
      const a = v128.load(src);
      const b = C > 1 ? v128.load(src, 16) : a;
      const c = C > 2 ? v128.load(src, 32) : a;
      const d = C > 3 ? v128.load(src, 48) : a;
      const x0 = classOf(a, b, c, d, C, 0);
      const x1 = C > 1 ? classOf(a, b, c, d, C, 1) : f32x4.splat(0);
      const x2 = C > 2 ? classOf(a, b, c, d, C, 2) : f32x4.splat(0);
      const x3 = C > 3 ? classOf(a, b, c, d, C, 3) : f32x4.splat(0);
      const o = dst + (<usize>(v * C) << 2);
      v128.store(o, x0);
      if (C > 1) v128.store(o, x1, 16);
      if (C > 2) v128.store(o, x2, 32);
      if (C > 3) v128.store(o, x3, 48);
      const finite = f32x4.add(f32x4.add(f32x4.sub(x0, x0), f32x4.sub(x1, x1)), f32x4.add(f32x4.sub(x2, x2), f32x4.sub(x3, x3)));
      // @ts-ignore: V is v128 here
      check = <V>f32x4.add(<v128>check, finite);
      continue;
    }
    gatherGroup<V>(x, v, C, ilv, xps, tmp);
    for (let c = 0; c < C; c++) {
      const e = load<V>(tmp + <usize>c * sizeof<V>());
      store<V>(classAt<V>(dst, v, c, C, ilv, dps), e);
      check = add<V>(check, sub<V>(e, e));
    }
  }
  return hsum<V>(check);
}

/**
 * Planar copy: the nv × C chunk at `x` (channels-last if ilv, else planes `xps`
 * floats apart) into planar groups at `dst` (planes `dps` apart when !ilv).
 * Returns Σ (x − x): 0 when every value is finite, else NaN.
 */
export function planar(x: usize, ilv: i32, xps: i32, nv: i32, C: i32, dst: usize, dps: i32, tmp: usize): f64 {
  // one specialised copy per common class count
  if (C == 2) return planarC(x, ilv, xps, nv, 2, dst, dps, tmp);
  if (C == 3) return planarC(x, ilv, xps, nv, 3, dst, dps, tmp);
  if (C == 4) return planarC(x, ilv, xps, nv, 4, dst, dps, tmp);
  return planarC(x, ilv, xps, nv, C, dst, dps, tmp);
}

// @ts-ignore: decorator
@inline function planarC(x: usize, ilv: i32, xps: i32, nv: i32, C: i32, dst: usize, dps: i32, tmp: usize): f64 {
  const main = groupedVoxels(nv);
  const il = ilv != 0;
  let check: f64 = 0;
  if (ASC_FEATURE_SIMD) check = gatherRange<v128>(x, xps, 0, main, C, il, dst, dps, tmp);
  return check + gatherRange<f32>(x, xps, main, nv, C, il, dst, dps, tmp);
}

/**
 * Pass 1's activation of a chunk of nv voxels × C classes (see the addressing
 * above; pointers in bytes, plane strides in floats):
 *   x, xps      the input (logits)
 *   out, ops    softmax: p; sigmoid: z = ±σ(−|x|) (pass 2's input); no
 *               activation: the input copied into planar groups
 *   p           sigmoid: p, planar groups with plane stride `sps`
 *   comp        sigmoid, and softmax with a mask: 1 − p, exact (plane stride `sps`)
 *   voxel       softmax with labels: per voxel, O (the mass outside the label)
 *   labels      the label map's chunk (target kind `tkind`), or 0 for a mask
 *   lab32       softmax with labels: the labels as i32, per voxel
 *   nll, dcopy  with the cross-entropy: −ln p of the label (labels), or ln Σe
 *               per voxel and d = x − max per element (masks, plane stride sps)
 *   tmp         scratch for C vectors
 * Returns Σ (x − x) over what it read: 0 when every input is finite, else NaN.
 */
export function activate(
  x: usize, ilv: i32, xps: i32, nv: i32, C: i32, act: i32, ce: i32,
  out: usize, ops: i32, p: usize, comp: usize, sps: i32,
  voxel: usize, labels: usize, tkind: i32, lab32: usize, nll: usize, dcopy: usize, tmp: usize,
): f64 {
  if (act == ACT_SOFTMAX) {
    if (ce != 0) return softmaxFor<WithCe>(x, ilv, xps, nv, C, tkind, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
    return softmaxFor<NoCe>(x, ilv, xps, nv, C, tkind, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  }
  if (act == ACT_SIGMOID && ilv == 0) {
    // planar already: the sigmoid reads the input where it lies, one run per class plane
    let check: f64 = 0;
    for (let c = 0; c < C; c++) {
      const s = (<usize>c * <usize>sps) << 2;
      check += sigmoidRun(x + ((<usize>c * <usize>xps) << 2), nv, out + ((<usize>c * <usize>ops) << 2), p + s, comp + s);
    }
    return check;
  }
  // anything else (channels-last, or no activation): into planar groups first,
  // then (sigmoid) elementwise over the chunk in place
  const check = planar(x, ilv, xps, nv, C, out, ops, tmp);
  if (act == ACT_SIGMOID) sigmoidRun(out, nv * C, out, p, comp);
  else if (act != ACT_NONE) return NaN;
  return check;
}

// Marker types: AssemblyScript specialises generics on types only, and each
// instantiation of softmaxOf is its own wasm function (see stats.ts).
class NoCe {}
class WithCe {}
class Mask {}

// @ts-ignore: decorator
@inline function softmaxFor<E>(
  x: usize, ilv: i32, xps: i32, nv: i32, C: i32, tkind: i32,
  out: usize, ops: i32, comp: usize, voxel: usize, labels: usize, lab32: usize, nll: usize, dcopy: usize, sps: i32, tmp: usize,
): f64 {
  if (tkind == TARGET_MASK) return softmaxOf<Mask, E>(x, ilv, xps, nv, C, out, ops, comp, voxel, 0, 0, nll, dcopy, sps, tmp);
  if (tkind == LABEL_U8) return softmaxOf<u8, E>(x, ilv, xps, nv, C, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  if (tkind == LABEL_U16) return softmaxOf<u16, E>(x, ilv, xps, nv, C, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  if (tkind == LABEL_I32) return softmaxOf<i32, E>(x, ilv, xps, nv, C, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  if (tkind == LABEL_F32) return softmaxOf<f32, E>(x, ilv, xps, nv, C, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  return NaN;
}

function softmaxOf<T, E>(
  x: usize, ilv: i32, xps: i32, nv: i32, C: i32,
  out: usize, ops: i32, comp: usize, voxel: usize, labels: usize, lab32: usize, nll: usize, dcopy: usize, sps: i32, tmp: usize,
): f64 {
  const ce = idof<E>() == idof<WithCe>();
  const mask = isReference<T>();
  // one specialised copy per common class count, so that the class loops are unrolled constants
  if (mask) {
    if (C == 2) return softmaxC<f32>(x, ilv, xps, nv, 2, true, ce, true, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
    if (C == 3) return softmaxC<f32>(x, ilv, xps, nv, 3, true, ce, true, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
    if (C == 4) return softmaxC<f32>(x, ilv, xps, nv, 4, true, ce, true, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
    return softmaxC<f32>(x, ilv, xps, nv, C, false, ce, true, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  }
  if (C == 2) return softmaxC<T>(x, ilv, xps, nv, 2, true, ce, false, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  if (C == 3) return softmaxC<T>(x, ilv, xps, nv, 3, true, ce, false, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  if (C == 4) return softmaxC<T>(x, ilv, xps, nv, 4, true, ce, false, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
  return softmaxC<T>(x, ilv, xps, nv, C, false, ce, false, out, ops, comp, voxel, labels, lab32, nll, dcopy, sps, tmp);
}

// @ts-ignore: decorator
@inline function softmaxC<T>(
  x: usize, ilv: i32, xps: i32, nv: i32, C: i32, small: bool, ce: bool, mask: bool,
  out: usize, ops: i32, comp: usize, voxel: usize, labels: usize, lab32: usize, nll: usize, dcopy: usize, sps: i32, tmp: usize,
): f64 {
  const il = ilv != 0;
  const main = groupedVoxels(nv);
  const xs = <usize>xps;
  const os = <usize>ops;
  const ds = <usize>sps;
  let check: f64 = 0;
  if (small) {
    if (ASC_FEATURE_SIMD) check = softmaxSmall<v128, T>(x, xs, 0, main, C, il, out, os, labels, voxel, lab32, comp, ds, nll, dcopy, ce, mask);
    return check + softmaxSmall<f32, T>(x, xs, main, nv, C, il, out, os, labels, voxel, lab32, comp, ds, nll, dcopy, ce, mask);
  }
  if (ASC_FEATURE_SIMD) check = shiftRange<v128, T>(x, xs, 0, main, C, il, out, os, labels, nll, dcopy, ds, ce, mask, tmp);
  check += shiftRange<f32, T>(x, xs, main, nv, C, il, out, os, labels, nll, dcopy, ds, ce, mask, tmp);
  if (il) expInPlace(out, nv * C);
  else for (let c = 0; c < C; c++) expInPlace(out + ((<usize>c * os) << 2), nv);
  if (ASC_FEATURE_SIMD) normaliseRange<v128, T>(0, main, C, il, out, os, labels, voxel, lab32, comp, ds, nll, ce, mask);
  normaliseRange<f32, T>(main, nv, C, il, out, os, labels, voxel, lab32, comp, ds, nll, ce, mask);
  return check;
}
