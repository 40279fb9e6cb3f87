// Addressing shared by the kernels: where a class vector of a chunk is, and
// the float64 output blocks the statistics are added to.
import { STATS } from "./codes";
import { width } from "./lanes";

/**
 * Address (bytes) of class c's vector of W voxels starting at voxel v0 of a
 * chunk at `base`:
 *   channels-last (ilv): planar groups, base + 4·(v0·C + c·W), i.e. groups of
 *     W voxels one after another, each holding its C class vectors in turn;
 *   channels-first: planes, base + 4·(v0 + c·ps).
 * With W = 1 (the scalar build, and the last nv mod 4 voxels of the SIMD
 * build) the channels-last case is the input's own voxel-major order.
 */
// @ts-ignore: decorator
@inline export function classAt<V>(base: usize, v0: i32, c: i32, C: i32, ilv: bool, ps: usize): usize {
  const W = width<V>();
  if (ilv) return base + (<usize>(v0 * C + c * W) << 2);
  return base + ((<usize>v0 + <usize>c * ps) << 2);
}

/** Lanes of an output block: the build's, whatever V a loop runs on. */
export const LANES: i32 = ASC_FEATURE_SIMD ? 4 : 1;

/** Byte offset of stat k, lane j in a class's output block (float64[STATS][LANES]). */
// @ts-ignore: decorator
@inline export function slot(out: usize, k: i32, j: i32): usize {
  return out + (<usize>(k * LANES + j) << 3);
}

/** Adds x to stat k, lane j of the block at `out`. */
// @ts-ignore: decorator
@inline export function addTo(out: usize, k: i32, j: i32, x: f64): void {
  store<f64>(slot(out, k, j), load<f64>(slot(out, k, j)) + x);
}

/** Byte offset of class c's output block. */
// @ts-ignore: decorator
@inline export function blockOf(out: usize, c: i32): usize {
  return out + (<usize>(c * STATS * LANES) << 3);
}

/** Voxels [0, n) of a chunk go in SIMD groups of four, the rest one at a time (the scalar build: all of them). */
// @ts-ignore: decorator
@inline export function groupedVoxels(nv: i32): i32 {
  return ASC_FEATURE_SIMD ? nv & ~3 : 0;
}
