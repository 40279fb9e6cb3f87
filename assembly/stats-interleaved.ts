// The statistics of channels-last probabilities (no activation) with 2 or 4
// classes, read as they lie: an f32x4 holds whole voxels — one voxel's four
// classes, or two voxels' two — so lane j always holds class j mod C and a
// chunk needs no transpose into planar groups. SIMD build only (the scalar
// build's groups are single voxels anyway). Same terms and the same 7u bound
// as stats.ts: pairwise mini-blocks of 8 vectors (3u) into a Kahan sum per lane.
import { addTo, LANES } from "./blocks";
import { LABEL_F32, LABEL_I32, LABEL_U16, LABEL_U8, MODE_SOFT, MODE_SQUARED, STAT_COUNT, STAT_FN, STAT_FP, STAT_SE, STAT_TP, TARGET_MASK } from "./codes";
import { countLane, lane } from "./lanes";

/**
 * The target of the vector at element offset i: the mask itself, or the mask
 * of the lanes whose class is the voxel's label (at `labels`, one per voxel).
 */
// @ts-ignore: decorator
@inline function targetOf<T>(t: usize, i: i32, C: i32, isMask: bool): v128 {
  if (isMask) return v128.load(t + (<usize>i << 2));
  const at = t + (<usize>i / <usize>C) * sizeof<T>();
  if (C == 4) {
    // one label against 0 1 2 3, compared at the label's own width: every byte
    // (or half) of lane c holds c, so a lane is all ones exactly on a match
    if (isFloat<T>()) return f32x4.eq(v128.load32_splat(at), f32x4(0, 1, 2, 3));
    if (sizeof<T>() == 1) return i8x16.eq(v128.load8_splat(at), i8x16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
    if (sizeof<T>() == 2) return i16x8.eq(v128.load16_splat(at), i16x8(0, 0, 1, 1, 2, 2, 3, 3));
    return i32x4.eq(v128.load32_splat(at), i32x4(0, 1, 2, 3));
  }
  // two voxels: their labels in lanes 0–1 and 2–3, against 0 1 0 1
  const pair = i32x4.replace_lane(i32x4.splat(labelAt<T>(at, 0)), 2, labelAt<T>(at, 1));
  return i32x4.eq(i32x4.replace_lane(pair, 3, labelAt<T>(at, 1)), i32x4(0, 1, 0, 1));
}

/** Label k at `at` as i32; a float label that is not whole becomes −1, which matches no class. */
// @ts-ignore: decorator
@inline function labelAt<T>(at: usize, k: i32): i32 {
  if (isFloat<T>()) {
    const l = load<f32>(at + (<usize>k << 2));
    return l == Mathf.floor(l) && l >= 0 && l < 2147483648 ? <i32>l : -1;
  }
  return <i32>load<T>(at + <usize>k * sizeof<T>());
}

/** Statistic k's term for p and the target g (a mask value, or a label mask). */
// @ts-ignore: decorator
@inline function term(k: i32, p: v128, g: v128, isMask: bool, mode: i32): v128 {
  const one = f32x4.splat(1);
  if (!isMask) {
    if (k == STAT_TP) return v128.and(p, g);
    if (k == STAT_FP) return v128.andnot(p, g);
    if (k == STAT_FN) return v128.and(f32x4.sub(one, p), g);
    const d = f32x4.sub(p, v128.and(g, one));
    return f32x4.mul(d, d);
  }
  if (k == STAT_SE) {
    const d = f32x4.sub(p, g);
    return f32x4.mul(d, d);
  }
  if (mode == MODE_SOFT) {
    const zero = f32x4.splat(0);
    if (k == STAT_TP) return f32x4.pmin(g, p);
    // pmax keeps a NaN in its first argument, so NaN input reaches fp and fn
    if (k == STAT_FP) return f32x4.pmax(f32x4.sub(p, g), zero);
    return f32x4.pmax(f32x4.sub(g, p), zero);
  }
  if (k == STAT_TP) return f32x4.mul(p, g);
  if (k == STAT_FP) return f32x4.mul(p, f32x4.sub(one, g));
  return f32x4.mul(f32x4.sub(one, p), g);
}

/** Pairwise sum of statistic k's terms over the 8 vectors at `at`, targets g0…g7. */
// @ts-ignore: decorator
@inline function block8(
  k: i32, at: usize, g0: v128, g1: v128, g2: v128, g3: v128, g4: v128, g5: v128, g6: v128, g7: v128,
  isMask: bool, mode: i32,
): v128 {
  const t0 = term(k, v128.load(at), g0, isMask, mode);
  const t1 = term(k, v128.load(at, 16), g1, isMask, mode);
  const t2 = term(k, v128.load(at, 32), g2, isMask, mode);
  const t3 = term(k, v128.load(at, 48), g3, isMask, mode);
  const t4 = term(k, v128.load(at, 64), g4, isMask, mode);
  const t5 = term(k, v128.load(at, 80), g5, isMask, mode);
  const t6 = term(k, v128.load(at, 96), g6, isMask, mode);
  const t7 = term(k, v128.load(at, 112), g7, isMask, mode);
  return f32x4.add(f32x4.add(f32x4.add(t0, t1), f32x4.add(t2, t3)), f32x4.add(f32x4.add(t4, t5), f32x4.add(t6, t7)));
}

// @ts-ignore: decorator
@inline function interleavedOf<T>(p: usize, t: usize, n: i32, C: i32, isMask: bool, mode: i32, out: usize): void {
  let tpS = f32x4.splat(0), tpC = tpS, fpS = tpS, fpC = tpS, fnS = tpS, fnC = tpS, seS = tpS, seC = tpS;
  let count = tpS;
  let i = 0;
  for (; i + 32 <= n; i += 32) {
    const at = p + (<usize>i << 2);
    const g0 = targetOf<T>(t, i, C, isMask), g1 = targetOf<T>(t, i + 4, C, isMask);
    const g2 = targetOf<T>(t, i + 8, C, isMask), g3 = targetOf<T>(t, i + 12, C, isMask);
    const g4 = targetOf<T>(t, i + 16, C, isMask), g5 = targetOf<T>(t, i + 20, C, isMask);
    const g6 = targetOf<T>(t, i + 24, C, isMask), g7 = targetOf<T>(t, i + 28, C, isMask);
    if (!isMask) {
      // a set mask lane is −1: subtracting counts
      count = i32x4.sub(i32x4.sub(i32x4.sub(i32x4.sub(count, g0), g1), g2), g3);
      count = i32x4.sub(i32x4.sub(i32x4.sub(i32x4.sub(count, g4), g5), g6), g7);
    }
    // Kahan: y = x − c; s' = s + y; c = (s' − s) − y, once per mini-block and statistic
    let y = f32x4.sub(block8(STAT_TP, at, g0, g1, g2, g3, g4, g5, g6, g7, isMask, mode), tpC);
    let s = f32x4.add(tpS, y);
    tpC = f32x4.sub(f32x4.sub(s, tpS), y);
    tpS = s;
    y = f32x4.sub(block8(STAT_FP, at, g0, g1, g2, g3, g4, g5, g6, g7, isMask, mode), fpC);
    s = f32x4.add(fpS, y);
    fpC = f32x4.sub(f32x4.sub(s, fpS), y);
    fpS = s;
    y = f32x4.sub(block8(STAT_FN, at, g0, g1, g2, g3, g4, g5, g6, g7, isMask, mode), fnC);
    s = f32x4.add(fnS, y);
    fnC = f32x4.sub(f32x4.sub(s, fnS), y);
    fnS = s;
    if (mode == MODE_SQUARED) {
      y = f32x4.sub(block8(STAT_SE, at, g0, g1, g2, g3, g4, g5, g6, g7, isMask, mode), seC);
      s = f32x4.add(seS, y);
      seC = f32x4.sub(f32x4.sub(s, seS), y);
      seS = s;
    }
  }
  for (let j = 0; j < 4; j++) {
    addTo(out, STAT_TP, j, lane<v128>(tpS, j) - lane<v128>(tpC, j));
    addTo(out, STAT_FP, j, lane<v128>(fpS, j) - lane<v128>(fpC, j));
    addTo(out, STAT_FN, j, lane<v128>(fnS, j) - lane<v128>(fnC, j));
    addTo(out, STAT_SE, j, lane<v128>(seS, j) - lane<v128>(seC, j));
    addTo(out, STAT_COUNT, j, countLane<v128>(count, j));
  }
  // fewer than a mini-block left: vector by vector, each term in float64
  for (; i < n; i += 4) {
    const pv = v128.load(p + (<usize>i << 2));
    const g = targetOf<T>(t, i, C, isMask);
    for (let j = 0; j < 4; j++) {
      addTo(out, STAT_TP, j, lane<v128>(term(STAT_TP, pv, g, isMask, mode), j));
      addTo(out, STAT_FP, j, lane<v128>(term(STAT_FP, pv, g, isMask, mode), j));
      addTo(out, STAT_FN, j, lane<v128>(term(STAT_FN, pv, g, isMask, mode), j));
      if (mode == MODE_SQUARED) addTo(out, STAT_SE, j, lane<v128>(term(STAT_SE, pv, g, isMask, mode), j));
      if (!isMask) addTo(out, STAT_COUNT, j, countLane<v128>(i32x4.sub(i32x4.splat(0), g), j));
    }
  }
}

/** One wasm function per (target type, mode): see stats.ts. */
function interleavedLoop<T, M>(p: usize, t: usize, n: i32, C: i32, isMask: bool, out: usize): void {
  const mode = idof<M>() == idof<Squared>() ? MODE_SQUARED : idof<M>() == idof<Soft>() ? MODE_SOFT : 0;
  if (C == 4) interleavedOf<T>(p, t, n, 4, isMask, mode, out);
  else interleavedOf<T>(p, t, n, 2, isMask, mode, out);
}

class Hard {}
class Soft {}
class Squared {}

// @ts-ignore: decorator
@inline function byMode<T>(p: usize, t: usize, n: i32, C: i32, isMask: bool, mode: i32, out: usize): void {
  if (mode == MODE_SQUARED) interleavedLoop<T, Squared>(p, t, n, C, isMask, out);
  else if (mode == MODE_SOFT && isMask) interleavedLoop<T, Soft>(p, t, n, C, isMask, out);
  else interleavedLoop<T, Hard>(p, t, n, C, isMask, out);
}

/**
 * Adds the statistics of n = voxels × C (C = 2 or 4, n a multiple of 4)
 * channels-last probabilities at `p` against the mask at `t` (same layout) or
 * the voxels' labels of kind `tkind`, to the float64 block at `out`
 * ([STATS][LANES]; lane j holds class j mod C). Pointers in bytes.
 */
export function statsInterleaved(p: usize, t: usize, n: i32, C: i32, tkind: i32, mode: i32, out: usize): void {
  if (!ASC_FEATURE_SIMD || LANES != 4) return;
  if (tkind == TARGET_MASK) byMode<f32>(p, t, n, C, true, mode, out);
  else if (tkind == LABEL_U8) byMode<u8>(p, t, n, C, false, mode, out);
  else if (tkind == LABEL_U16) byMode<u16>(p, t, n, C, false, mode, out);
  else if (tkind == LABEL_I32) byMode<i32>(p, t, n, C, false, mode, out);
  else if (tkind == LABEL_F32) byMode<f32>(p, t, n, C, false, mode, out);
}
