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
 * uint8 with at most 4 classes, all in one pass: per vector two loads, and per
 * class two compares, one and, three subtractions into u8 lanes. Always four
 * classes (one copy of the loop keeps the module under the 4 KiB a browser
 * compiles synchronously); the counts of classes ≥ C are dropped, so labels 2
 * and 3 with C = 2 still show as a shortfall. Returns where the scalar loop
 * takes over.
 */
function countsU8Few(t: usize, p: usize, n: i32, C: i32, ignore: i32, useIgnore: bool, out: usize): i32 {
  const ign = i8x16.splat(<i8>ignore);
  const hasIgnore = useIgnore && ignore >= 0 && ignore < 256;
  const zero = i8x16.splat(0);
  let v = 0;
  while (v + 16 <= n) {
    const end = min(n & ~15, v + 255 * 16);
    let t0 = zero, t1 = zero, t2 = zero, t3 = zero;
    let p0 = zero, p1 = zero, p2 = zero, p3 = zero;
    let h0 = zero, h1 = zero, h2 = zero, h3 = zero;
    let ignored = zero;
    for (let i = v; i < end; i += 16) {
      let pv = v128.load(p + <usize>i);
      let tv = v128.load(t + <usize>i);
      if (hasIgnore) {
        // 255 in both maps where the target is ignored: no class (C ≤ 4), so counted for none
        const skip = i8x16.eq(tv, ign);
        ignored = i8x16.sub(ignored, skip);
        tv = v128.or(tv, skip);
        pv = v128.or(pv, skip);
      }
      let mt = i8x16.eq(tv, zero);
      let mp = i8x16.eq(pv, zero);
      t0 = i8x16.sub(t0, mt);
      p0 = i8x16.sub(p0, mp);
      h0 = i8x16.sub(h0, v128.and(mt, mp));
      mt = i8x16.eq(tv, i8x16.splat(1));
      mp = i8x16.eq(pv, i8x16.splat(1));
      t1 = i8x16.sub(t1, mt);
      p1 = i8x16.sub(p1, mp);
      h1 = i8x16.sub(h1, v128.and(mt, mp));
      mt = i8x16.eq(tv, i8x16.splat(2));
      mp = i8x16.eq(pv, i8x16.splat(2));
      t2 = i8x16.sub(t2, mt);
      p2 = i8x16.sub(p2, mp);
      h2 = i8x16.sub(h2, v128.and(mt, mp));
      mt = i8x16.eq(tv, i8x16.splat(3));
      mp = i8x16.eq(pv, i8x16.splat(3));
      t3 = i8x16.sub(t3, mt);
      p3 = i8x16.sub(p3, mp);
      h3 = i8x16.sub(h3, v128.and(mt, mp));
    }
    bumpClass(out, 0, t0, p0, h0);
    bumpClass(out, 1, t1, p1, h1);
    if (C > 2) bumpClass(out, 2, t2, p2, h2);
    if (C > 3) bumpClass(out, 3, t3, p3, h3);
    if (hasIgnore) bump(out, C * COUNTS, total8(ignored));
    v = end;
  }
  return v;
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
