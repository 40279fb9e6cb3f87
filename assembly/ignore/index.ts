// Voxels and elements the losses leave out (`ignoreIndex`, `mask`): a program
// of its own (it compiles in seconds), instantiated on the loss kernels' memory,
// with no data segment and no allocation. The host calls it on each chunk
// between the loss kernels:
//   pass 1, after the activation: keepVoxels (or keepElements for a float
//     mask target) marks what stays; dropVoxels / dropElements zero the
//     activation of the rest, and labelsKept rewrites their labels as −1, so
//     that they add nothing to any statistic;
//   pass 2, after the gradient: the same marks zero their gradient.
// Marks are floats, 1 (keep) or 0 (drop): one per voxel, or one per element in
// the chunk's planar groups (see ../layout.ts).
import { classAt, groupedVoxels } from "../blocks";
import { LABEL_F32, LABEL_I32, LABEL_U16, LABEL_U8 } from "../codes";
import { add, choose, countIn, countLane, drop, gtMask, labelsAt, one, pmax, splat, sub, width } from "../lanes";

/** The lanes of a vector of W values of type T at ptr that equal x (x a whole number; floats compared as floats). */
// @ts-ignore: decorator
@inline function equalTo<V, T>(ptr: usize, x: f64): V {
  if (isVector<V>()) {
    if (isFloat<T>()) {
      // a whole number float32 cannot hold equals no float32 label (as the scalar tail compares in float64)
      if (<f64><f32>x != x) return i32x4.splat(0);
      return f32x4.eq(v128.load(ptr), f32x4.splat(<f32>x));
    }
    // beyond i32 no label of an integer type can equal it
    if (x < -2147483648 || x > 2147483647) return i32x4.splat(0);
    return i32x4.eq(labelsAt<V, T>(ptr), i32x4.splat(<i32>x));
  }
  return splat<V>(select<f32>(1, 0, <f64>load<T>(ptr) == x));
}

/** The lanes of a vector of W mask values of type M at ptr that are 0, and (into `bad`) those neither 0 nor 1. */
// @ts-ignore: decorator
@inline function maskZero<V, M>(ptr: usize, bad: usize): V {
  const zero = equalTo<V, M>(ptr, 0);
  const notBinary = drop<V>(drop<V>(isVector<V>() ? i32x4.splat(-1) : splat<V>(1), zero), equalTo<V, M>(ptr, 1));
  store<V>(bad, isVector<V>() ? v128.or(load<V>(bad), notBinary) : add<V>(load<V>(bad), notBinary));
  return zero;
}

// @ts-ignore: decorator
@inline function voxelRange<V, T, M>(
  labels: usize, ignore: f64, useIgnore: bool, mask: usize, useMask: bool, v0: i32, v1: i32, keep: usize, bad: usize,
): f64 {
  const W = width<V>();
  let count = splat<V>(0);
  for (let v = v0; v < v1; v += W) {
    let out = isVector<V>() ? i32x4.splat(0) : splat<V>(0);
    if (useIgnore) out = equalTo<V, T>(labels + <usize>v * sizeof<T>(), ignore);
    if (useMask) {
      const zero = maskZero<V, M>(mask + <usize>v * sizeof<M>(), bad);
      out = isVector<V>() ? v128.or(out, zero) : pmax<V>(out, zero);
    }
    store<V>(keep + (<usize>v << 2), sub<V>(splat<V>(1), one<V>(out)));
    count = countIn<V>(count, out);
  }
  let dropped: f64 = 0;
  for (let j = 0; j < W; j++) dropped += countLane<V>(count, j);
  return dropped;
}

// @ts-ignore: decorator
@inline function voxelLoop<T, M>(
  labels: usize, ignore: f64, useIgnore: bool, mask: usize, useMask: bool, nv: i32, keep: usize, bad: usize,
): f64 {
  const grouped = groupedVoxels(nv);
  let dropped: f64 = 0;
  let anyBad = false;
  if (ASC_FEATURE_SIMD) {
    store<v128>(bad, i32x4.splat(0));
    dropped += voxelRange<v128, T, M>(labels, ignore, useIgnore, mask, useMask, 0, grouped, keep, bad);
    anyBad = v128.any_true(load<v128>(bad));
  }
  // the tail's flags in a float after the vector's
  const tail = bad + 16;
  store<f32>(tail, 0);
  dropped += voxelRange<f32, T, M>(labels, ignore, useIgnore, mask, useMask, grouped, nv, keep, tail);
  return anyBad || load<f32>(tail) != 0 ? -1 : dropped;
}

// @ts-ignore: decorator
@inline function voxelsWith<T>(labels: usize, ignore: f64, useIgnore: bool, mask: usize, mkind: i32, nv: i32, keep: usize, bad: usize): f64 {
  // mkind: no mask (0), or LABEL_U8 / LABEL_F32 for its type
  if (mkind == LABEL_U8) return voxelLoop<T, u8>(labels, ignore, useIgnore, mask, true, nv, keep, bad);
  if (mkind == LABEL_F32) return voxelLoop<T, f32>(labels, ignore, useIgnore, mask, true, nv, keep, bad);
  return voxelLoop<T, u8>(labels, ignore, useIgnore, 0, false, nv, keep, bad);
}

/**
 * Marks the nv voxels of a chunk: 0 where the label (of kind lkind) equals
 * `ignore` or the voxel mask (u8 or f32, of kind mkind) is 0, else 1. Returns
 * how many are dropped, or −1 when a mask value is neither 0 nor 1. tmp: 32
 * bytes of scratch.
 */
export function keepVoxels(labels: usize, lkind: i32, ignore: f64, mask: usize, mkind: i32, nv: i32, keep: usize, tmp: usize): f64 {
  if (lkind == LABEL_U8) return voxelsWith<u8>(labels, ignore, true, mask, mkind, nv, keep, tmp);
  if (lkind == LABEL_U16) return voxelsWith<u16>(labels, ignore, true, mask, mkind, nv, keep, tmp);
  if (lkind == LABEL_I32) return voxelsWith<i32>(labels, ignore, true, mask, mkind, nv, keep, tmp);
  if (lkind == LABEL_F32) return voxelsWith<f32>(labels, ignore, true, mask, mkind, nv, keep, tmp);
  return voxelsWith<u8>(0, ignore, false, mask, mkind, nv, keep, tmp);
}

// @ts-ignore: decorator
@inline function labelsRange<V, T>(labels: usize, keep: usize, v0: i32, v1: i32, out: usize, asFloat: bool): void {
  const W = width<V>();
  for (let v = v0; v < v1; v += W) {
    const kept = gtMask<V>(load<V>(keep + (<usize>v << 2)), splat<V>(0));
    const at = out + (<usize>v << 2);
    if (isVector<V>()) {
      // i32 lanes, as labelsAt reads them for a vector; as floats for LABEL_F32
      const l = v128.bitselect(labelsAt<V, T>(labels + <usize>v * sizeof<T>()), i32x4.splat(-1), kept);
      store<V>(at, asFloat ? f32x4.convert_i32x4_s(l) : l);
    } else store<f32>(at, select<f32>(<f32>load<T>(labels + <usize>v * sizeof<T>()), -1, load<f32>(keep + (<usize>v << 2)) != 0));
  }
}

// @ts-ignore: decorator
@inline function labelsLoop<T>(labels: usize, keep: usize, nv: i32, out: usize, asFloat: bool): void {
  const grouped = groupedVoxels(nv);
  if (ASC_FEATURE_SIMD) labelsRange<v128, T>(labels, keep, 0, grouped, out, asFloat);
  labelsRange<f32, T>(labels, keep, grouped, nv, out, asFloat);
}

/**
 * The labels of a chunk with −1 (no class) for dropped voxels, for the
 * statistics: as LABEL_LANES (i32 for the voxels of SIMD groups, floats after
 * them and in the scalar build), or as LABEL_F32 floats with `asFloat`.
 */
export function labelsKept(labels: usize, lkind: i32, keep: usize, nv: i32, out: usize, asFloat: i32): void {
  const f = asFloat != 0;
  if (lkind == LABEL_U8) labelsLoop<u8>(labels, keep, nv, out, f);
  else if (lkind == LABEL_U16) labelsLoop<u16>(labels, keep, nv, out, f);
  else if (lkind == LABEL_I32) labelsLoop<i32>(labels, keep, nv, out, f);
  else labelsLoop<f32>(labels, keep, nv, out, f);
}

// @ts-ignore: decorator
@inline function dropRange<V>(
  marks: usize, perElement: bool, v0: i32, v1: i32, C: i32, ilv: bool, mps: usize, x: usize, xps: usize,
): void {
  const W = width<V>();
  for (let v = v0; v < v1; v += W) {
    const voxelKept = perElement ? splat<V>(0) : gtMask<V>(load<V>(marks + (<usize>v << 2)), splat<V>(0));
    for (let c = 0; c < C; c++) {
      const kept = perElement ? gtMask<V>(load<V>(classAt<V>(marks, v, c, C, ilv, mps)), splat<V>(0)) : voxelKept;
      const at = classAt<V>(x, v, c, C, ilv, xps);
      store<V>(at, choose<V>(kept, load<V>(at), splat<V>(0)));
    }
  }
}

// one function for both kinds of marks: their loops are not the hot path
function dropAll(
  marks: usize, perElement: bool, nv: i32, C: i32, ilv: bool, mps: usize, x: usize, xps: usize, natural: bool,
): void {
  const grouped = groupedVoxels(nv);
  if (!(natural && ilv)) {
    if (ASC_FEATURE_SIMD) dropRange<v128>(marks, perElement, 0, grouped, C, ilv, mps, x, xps);
    dropRange<f32>(marks, perElement, grouped, nv, C, ilv, mps, x, xps);
    return;
  }
  // x voxel-major (a gradient in the prediction's own channels-last order), marks in planar groups
  for (let v = 0; v < nv; v++) {
    const voxelKept = perElement || load<f32>(marks + (<usize>v << 2)) != 0;
    for (let c = 0; c < C; c++) {
      const kept = perElement ? load<f32>(elementOf(marks, v, grouped, c, C, ilv, mps)) != 0 : voxelKept;
      const at = x + (<usize>(v * C + c) << 2);
      store<f32>(at, select<f32>(load<f32>(at), 0, kept));
    }
  }
}

/**
 * Zeroes every class of the dropped voxels in a chunk at x, plane stride xps
 * floats: in planar groups, or with `natural` in the prediction's own layout.
 */
export function dropVoxels(keep: usize, nv: i32, C: i32, ilv: i32, x: usize, xps: i32, natural: i32): void {
  dropAll(keep, false, nv, C, ilv != 0, 0, x, <usize>xps, natural != 0);
}

/** Zeroes the dropped elements (marks per element in planar groups, plane stride mps) in a chunk at x. */
export function dropElements(marks: usize, mps: i32, nv: i32, C: i32, ilv: i32, x: usize, xps: i32, natural: i32): void {
  dropAll(marks, true, nv, C, ilv != 0, <usize>mps, x, <usize>xps, natural != 0);
}

/**
 * A float mask target t (planar groups, stride tps): marks each element, 0
 * where it equals `ignore` (with useIgnore) or its voxel is dropped (`keep`,
 * when not 0), and copies the target with dropped elements zeroed to `kept`;
 * both with plane stride ops. Writes, as float64 at `counts`, the dropped
 * elements and the voxels dropped in some classes only.
 */
export function keepElements(
  t: usize, tps: i32, ignore: f32, useIgnore: i32, keep: usize, nv: i32, C: i32, ilv: i32,
  marks: usize, kept: usize, ops: i32, counts: usize,
): void {
  let dropped = 0;
  let partial = 0;
  const il = ilv != 0;
  const grouped = groupedVoxels(nv);
  for (let v = 0; v < nv; v++) {
    const voxelKept = keep == 0 || load<f32>(keep + (<usize>v << 2)) != 0;
    let n = 0;
    for (let c = 0; c < C; c++) {
      const g = load<f32>(elementOf(t, v, grouped, c, C, il, <usize>tps));
      const k = voxelKept && !(useIgnore != 0 && g == ignore);
      store<f32>(elementOf(marks, v, grouped, c, C, il, <usize>ops), select<f32>(1, 0, k));
      store<f32>(elementOf(kept, v, grouped, c, C, il, <usize>ops), select<f32>(g, 0, k));
      n += select<i32>(0, 1, k);
    }
    dropped += n;
    if (n > 0 && n < C) partial++;
  }
  store<f64>(counts, <f64>dropped);
  store<f64>(counts + 8, <f64>partial);
}

/** Address of element (voxel v, class c) of a chunk in planar groups: SIMD groups up to `grouped`, single voxels after. */
// @ts-ignore: decorator
@inline function elementOf(base: usize, v: i32, grouped: i32, c: i32, C: i32, ilv: bool, ps: usize): usize {
  if (ASC_FEATURE_SIMD && v < grouped) return classAt<v128>(base, v & ~3, c, C, ilv, ps) + (<usize>(v & 3) << 2);
  return classAt<f32>(base, v, c, C, ilv, ps);
}
