// Probabilities from the network's output, one chunk of voxels at a time, written
// as class planes. The input may be in either layout: element (voxel v, class c)
// is at x + (v·vs + c·cs) floats, so channels-last is (vs, cs) = (C, 1) and
// channels-first (1, plane length). Planes out make every later kernel contiguous.
import { add, div, hsum, loadVoxels, nonFinite, pmax, splat, sub, width } from "./lanes";
import { expNonPositive, sigmoid } from "./math";

export const ACT_NONE = 0;
export const ACT_SIGMOID = 1;
export const ACT_SOFTMAX = 2;

// @ts-ignore: decorator
@inline function activateRange<V>(
  x: usize, vs: usize, cs: usize, v0: i32, v1: i32, numClasses: i32, act: i32,
  out: usize, os: usize, contiguous: bool,
): f64 {
  const W = width<V>();
  let bad = splat<V>(0);
  for (let v = v0; v + W <= v1; v += W) {
    const xv = x + ((<usize>v * vs) << 2);
    const ov = out + (<usize>v << 2);
    if (act == ACT_SOFTMAX) {
      // max-shifted: every exponent is ≤ 0, so nothing overflows
      let m = splat<V>(-Infinity);
      for (let c = 0; c < numClasses; c++) {
        const xc = loadVoxels<V>(xv + ((<usize>c * cs) << 2), vs, contiguous);
        bad = add<V>(bad, nonFinite<V>(xc));
        m = pmax<V>(xc, m);
      }
      let total = splat<V>(0);
      for (let c = 0; c < numClasses; c++) {
        const e = expNonPositive<V>(sub<V>(loadVoxels<V>(xv + ((<usize>c * cs) << 2), vs, contiguous), m));
        store<V>(ov + ((<usize>c * os) << 2), e);
        total = add<V>(total, e);
      }
      for (let c = 0; c < numClasses; c++) {
        const o = ov + ((<usize>c * os) << 2);
        store<V>(o, div<V>(load<V>(o), total));
      }
    } else {
      for (let c = 0; c < numClasses; c++) {
        const xc = loadVoxels<V>(xv + ((<usize>c * cs) << 2), vs, contiguous);
        bad = add<V>(bad, nonFinite<V>(xc));
        store<V>(ov + ((<usize>c * os) << 2), act == ACT_SIGMOID ? sigmoid<V>(xc) : xc);
      }
    }
  }
  return hsum<V>(bad);
}

/**
 * Probabilities of `nVox` voxels × `numClasses` classes from the input at `x`
 * (bytes; strides vs, cs in floats), written to class planes at `out` (bytes)
 * with plane stride `os` floats. act: 0 none (copy), 1 sigmoid, 2 softmax over
 * classes. Returns the number of non-finite inputs seen.
 */
export function activate(
  x: usize, vs: i32, cs: i32, nVox: i32, numClasses: i32, act: i32, out: usize, os: i32,
): f64 {
  // one specialised loop per (activation, contiguity)
  if (vs == 1) {
    if (act == ACT_SOFTMAX) return activateAll(x, 1, cs, nVox, numClasses, ACT_SOFTMAX, out, os, true);
    if (act == ACT_SIGMOID) return activateAll(x, 1, cs, nVox, numClasses, ACT_SIGMOID, out, os, true);
    return activateAll(x, 1, cs, nVox, numClasses, ACT_NONE, out, os, true);
  }
  if (act == ACT_SOFTMAX) return activateAll(x, vs, cs, nVox, numClasses, ACT_SOFTMAX, out, os, false);
  if (act == ACT_SIGMOID) return activateAll(x, vs, cs, nVox, numClasses, ACT_SIGMOID, out, os, false);
  return activateAll(x, vs, cs, nVox, numClasses, ACT_NONE, out, os, false);
}

// @ts-ignore: decorator
@inline function activateAll(
  x: usize, vs: usize, cs: usize, nVox: i32, numClasses: i32, act: i32, out: usize, os: usize, contiguous: bool,
): f64 {
  if (!ASC_FEATURE_SIMD) return activateRange<f32>(x, vs, cs, 0, nVox, numClasses, act, out, os, contiguous);
  const main = nVox & ~3;
  return (
    activateRange<v128>(x, vs, cs, 0, main, numClasses, act, out, os, contiguous) +
    activateRange<f32>(x, vs, cs, main, nVox, numClasses, act, out, os, contiguous)
  );
}
