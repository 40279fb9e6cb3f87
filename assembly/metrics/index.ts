// Hard-metric counts of two label maps, a wasm program of its own (seconds to
// compile), instantiated on the core runtime's memory: it owns no memory, has
// no data segment and allocates nothing.
//
// For n voxels of a target t and a prediction p (same integer type), and
// classes 0…C−1, adds to out (u32 per field, [C][COUNTS] then IGNORED):
//   truth_c = Σ [t = c],  predicted_c = Σ [p = c and t ≠ ignore],
//   tp_c = Σ [t = c and p = c],  ignored = Σ [t = ignore]
// Labels that are no class (and not the ignore value) count nowhere: the host
// finds them by the totals falling short. uint8 runs 16 voxels a vector:
// compare masks (all ones = −1) subtracted into u8 lanes, widened to the u32
// totals every 255 vectors, before a lane can wrap.

export const COUNTS: i32 = 3;
export const COUNT_TRUTH: i32 = 0;
export const COUNT_PREDICTED: i32 = 1;
export const COUNT_TP: i32 = 2;
export const LABEL_U8: i32 = 1;
export const LABEL_U16: i32 = 2;
export const LABEL_I32: i32 = 3;

// @ts-ignore: decorator
@inline function bump(out: usize, field: i32, by: u32): void {
  const p = out + (<usize>field << 2);
  store<u32>(p, load<u32>(p) + by);
}

/** Adds class c's three u8-lane accumulators to its u32 counts. */
// @ts-ignore: decorator
@inline function bumpClass(out: usize, c: i32, truth: v128, predicted: v128, tp: v128): void {
  const o = out + (<usize>(c * COUNTS) << 2);
  bump(o, COUNT_TRUTH, total8(truth));
  bump(o, COUNT_PREDICTED, total8(predicted));
  bump(o, COUNT_TP, total8(tp));
}

/** Sum of the 16 u8 lanes of v. */
// @ts-ignore: decorator
@inline function total8(v: v128): u32 {
  const w = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v));
  return <u32>(i32x4.extract_lane(w, 0) + i32x4.extract_lane(w, 1) + i32x4.extract_lane(w, 2) + i32x4.extract_lane(w, 3));
}

/**
 * uint8, vectors of 16 voxels: one pass over each block per class (a block,
 * 4 KiB of each map, stays in L1), so ~9 vector ops per class and 16 voxels;
 * worth it up to 8 classes. Returns where the scalar loop takes over.
 */
function countsU8Simd(t: usize, p: usize, n: i32, C: i32, ignore: i32, useIgnore: bool, out: usize): i32 {
  const ign = i8x16.splat(<i8>ignore);
  const hasIgnore = useIgnore && ignore >= 0 && ignore < 256;
  let v = 0;
  while (v + 16 <= n) {
    // one block: at most 255 vectors, so that no u8 lane wraps
    const end = min(n & ~15, v + 255 * 16);
    for (let c = 0; c < C; c++) {
      const cls = i8x16.splat(<i8>c);
      let truth = i8x16.splat(0);
      let predicted = i8x16.splat(0);
      let tp = i8x16.splat(0);
      for (let i = v; i < end; i += 16) {
        const tv = v128.load(t + <usize>i);
        const pv = v128.load(p + <usize>i);
        let mt = i8x16.eq(tv, cls);
        let mp = i8x16.eq(pv, cls);
        if (hasIgnore) {
          const skip = i8x16.eq(tv, ign);
          mt = v128.andnot(mt, skip);
          mp = v128.andnot(mp, skip);
        }
        truth = i8x16.sub(truth, mt);
        predicted = i8x16.sub(predicted, mp);
        tp = i8x16.sub(tp, v128.and(mt, mp));
      }
      const o = out + (<usize>(c * COUNTS) << 2);
      bump(o, COUNT_TRUTH, total8(truth));
      bump(o, COUNT_PREDICTED, total8(predicted));
      bump(o, COUNT_TP, total8(tp));
    }
    if (hasIgnore) {
      let ignored = i8x16.splat(0);
      for (let i = v; i < end; i += 16) ignored = i8x16.sub(ignored, i8x16.eq(v128.load(t + <usize>i), ign));
      bump(out, C * COUNTS, total8(ignored));
    }
    v = end;
  }
  return v;
}

/**
 * uint8 with at most 4 classes: two passes over each block (it stays in L1),
 * two classes each, so that six u8 accumulators, the data and the masks fit
 * the registers; per vector two loads, and per class two compares, one and,
 * three subtractions. The ignore label sets both maps to 255 where the target
 * holds it (a label no class here has), in a copy of the loop of its own.
 * Counts of classes ≥ C are dropped, so labels 2 and 3 with C = 2 still show
 * as a shortfall. Returns where the scalar loop takes over.
 */
function countsU8Few(t: usize, p: usize, n: i32, C: i32, ignore: i32, useIgnore: bool, out: usize): i32 {
  const hasIgnore = useIgnore && ignore >= 0 && ignore < 256;
  let v = 0;
  while (v + 16 <= n) {
    const end = min(n & ~15, v + 255 * 16);
    for (let c = 0; c < 4; c += 2) {
      if (hasIgnore) countPair(t, p, v, end, c, C, true, ignore, out);
      else countPair(t, p, v, end, c, C, false, 0, out);
    }
    if (hasIgnore) {
      const ign = i8x16.splat(<i8>ignore);
      let ignored = i8x16.splat(0);
      for (let i = v; i < end; i += 16) ignored = i8x16.sub(ignored, i8x16.eq(v128.load(t + <usize>i), ign));
      bump(out, C * COUNTS, total8(ignored));
    }
    v = end;
  }
  return v;
}

/** Classes c and c + 1 of voxels [v, end) (a block of ≤ 255 vectors), into their u32 counts. */
// @ts-ignore: decorator
@inline function countPair(
  t: usize, p: usize, v: i32, end: i32, c: i32, C: i32, withIgnore: bool, ignore: i32, out: usize,
): void {
  const zero = i8x16.splat(0);
  const a = i8x16.splat(<i8>c);
  const b = i8x16.splat(<i8>(c + 1));
  const ign = i8x16.splat(<i8>ignore);
  let ta = zero, pa = zero, ha = zero, tb = zero, pb = zero, hb = zero;
  for (let i = v; i < end; i += 16) {
    let tv = v128.load(t + <usize>i);
    let pv = v128.load(p + <usize>i);
    if (withIgnore) {
      const skip = i8x16.eq(tv, ign);
      tv = v128.or(tv, skip);
      pv = v128.or(pv, skip);
    }
    let mt = i8x16.eq(tv, a);
    let mp = i8x16.eq(pv, a);
    ta = i8x16.sub(ta, mt);
    pa = i8x16.sub(pa, mp);
    ha = i8x16.sub(ha, v128.and(mt, mp));
    mt = i8x16.eq(tv, b);
    mp = i8x16.eq(pv, b);
    tb = i8x16.sub(tb, mt);
    pb = i8x16.sub(pb, mp);
    hb = i8x16.sub(hb, v128.and(mt, mp));
  }
  if (c < C) bumpClass(out, c, ta, pa, ha);
  if (c + 1 < C) bumpClass(out, c + 1, tb, pb, hb);
}

/** Voxels [v, n) one at a time, any label type. */
// @ts-ignore: decorator
@inline function countsScalar<T>(
  t: usize, p: usize, v: i32, n: i32, C: i32, ignore: i32, useIgnore: bool, out: usize,
): void {
  for (; v < n; v++) {
    const tl = <i32>load<T>(t + (<usize>v << alignof<T>()));
    const pl = <i32>load<T>(p + (<usize>v << alignof<T>()));
    if (useIgnore && tl == ignore) {
      bump(out, C * COUNTS, 1);
      continue;
    }
    // unsigned compares: negative labels are no class either
    if (<u32>tl < <u32>C) bump(out + (<usize>(tl * COUNTS) << 2), COUNT_TRUTH, 1);
    if (<u32>pl < <u32>C) {
      bump(out + (<usize>(pl * COUNTS) << 2), COUNT_PREDICTED, 1);
      if (pl == tl) bump(out + (<usize>(pl * COUNTS) << 2), COUNT_TP, 1);
    }
  }
}

/** Adds the counts of n voxels of labels `kind` at t and p (bytes) to `out`; `ignore` applies when useIgnore ≠ 0. */
export function labelCounts(t: usize, p: usize, n: i32, C: i32, kind: i32, ignore: i32, useIgnore: i32, out: usize): void {
  const use = useIgnore != 0;
  if (kind == LABEL_U8) {
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      if (C >= 2 && C <= 4) v = countsU8Few(t, p, n, C, ignore, use, out);
      else if (C <= 8) v = countsU8Simd(t, p, n, C, ignore, use, out);
    }
    countsScalar<u8>(t, p, v, n, C, ignore, use, out);
  } else if (kind == LABEL_U16) countsScalar<u16>(t, p, 0, n, C, ignore, use, out);
  else countsScalar<i32>(t, p, 0, n, C, ignore, use, out);
}

/**
 * Class scores to labels: for each of n voxels the first class with the
 * largest score, a NaN counting as larger than any number, as torch.argmax
 * (which MONAI's metrics use) does. Channels-last when planeStride is 0 (C floats a voxel), else
 * class c of voxel v at v + c·planeStride. Labels written as `kind`.
 */
export function argmaxLabels(scores: usize, n: i32, C: i32, planeStride: i32, out: usize, kind: i32): void {
  const step: usize = planeStride == 0 ? 4 : <usize>planeStride << 2;
  for (let v = 0; v < n; v++) {
    let at = planeStride == 0 ? scores + (<usize>(v * C) << 2) : scores + (<usize>v << 2);
    let best = load<f32>(at);
    let label = 0;
    for (let c = 1; c < C; c++) {
      at += step;
      const s = load<f32>(at);
      // the first NaN wins, and nothing replaces it (s > NaN is false)
      if (s > best || (s != s && best == best)) {
        best = s;
        label = c;
      }
    }
    if (kind == LABEL_U8) store<u8>(out + <usize>v, <u8>label);
    else if (kind == LABEL_U16) store<u16>(out + (<usize>v << 1), <u16>label);
    else store<i32>(out + (<usize>v << 2), label);
  }
}
