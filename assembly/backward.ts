// Pass 2: the gradient. Every loss here is a function of the statistics, so
//   dL/dp_i = a + b·g_i + k·(p_i − g_i) + h·sign(p_i − g_i)
// with four coefficients per (batch item, class) computed in float64 by the loss
// layer (hard labels: a = L_fp, b = L_tp − L_fp − L_fn, k = 2·L_se; soft labels:
// a ± h on either side of p = g, the mean of both at a tie). `dprob*` writes
// dL/dp for one class plane; `chain` takes it through the activation back to the
// input's layout.
import { abs, add, div, labelMask, loadF, lt1, mul, one, scatterF, splat, sub, width } from "./lanes";
import { expNonPositive } from "./math";
import { ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX, loadVoxels } from "./probabilities";

// @ts-ignore: decorator
@inline function dprobRange<V, T>(
  p: usize, t: usize, i0: i32, i1: i32, cls: i32, isMask: bool,
  a: f32, b: f32, k: f32, h: f32, dp: usize,
): void {
  const W = width<V>();
  for (let i = i0; i + W <= i1; i += W) {
    const pi = loadF<V>(p + (<usize>i << 2));
    const gi = isMask ? loadF<V>(t + (<usize>i << 2)) : one<V>(labelMask<V, T>(t + <usize>i * sizeof<T>(), cls));
    const d = sub<V>(pi, gi);
    const sign = sub<V>(lt1<V>(gi, pi), lt1<V>(pi, gi));
    let r = add<V>(splat<V>(a), mul<V>(splat<V>(b), gi));
    r = add<V>(r, add<V>(mul<V>(splat<V>(k), d), mul<V>(splat<V>(h), sign)));
    store<V>(dp + (<usize>i << 2), r);
  }
}

// @ts-ignore: decorator
@inline function dprob<T>(
  p: usize, t: usize, n: i32, cls: i32, isMask: bool, a: f32, b: f32, k: f32, h: f32, dp: usize,
): void {
  if (!ASC_FEATURE_SIMD) {
    dprobRange<f32, T>(p, t, 0, n, cls, isMask, a, b, k, h, dp);
    return;
  }
  const main = n & ~3;
  dprobRange<v128, T>(p, t, 0, main, cls, isMask, a, b, k, h, dp);
  dprobRange<f32, T>(p, t, main, n, cls, isMask, a, b, k, h, dp);
}

/** dL/dp of n elements (probabilities at p, float mask at t; bytes) into `dp`. */
export function dprobMask(p: usize, t: usize, n: i32, a: f32, b: f32, k: f32, h: f32, dp: usize): void {
  dprob<f32>(p, t, n, 0, true, a, b, k, h, dp);
}

/** dL/dp of class `cls` for n voxels against the u8 label map at `t`. */
export function dprobLabelU8(p: usize, t: usize, n: i32, cls: i32, a: f32, b: f32, k: f32, h: f32, dp: usize): void {
  dprob<u8>(p, t, n, cls, false, a, b, k, h, dp);
}

/** As dprobLabelU8, for u16 labels. */
export function dprobLabelU16(p: usize, t: usize, n: i32, cls: i32, a: f32, b: f32, k: f32, h: f32, dp: usize): void {
  dprob<u16>(p, t, n, cls, false, a, b, k, h, dp);
}

/** As dprobLabelU8, for i32 labels. */
export function dprobLabelI32(p: usize, t: usize, n: i32, cls: i32, a: f32, b: f32, k: f32, h: f32, dp: usize): void {
  dprob<i32>(p, t, n, cls, false, a, b, k, h, dp);
}

/** As dprobLabelU8, for f32 labels. */
export function dprobLabelF32(p: usize, t: usize, n: i32, cls: i32, a: f32, b: f32, k: f32, h: f32, dp: usize): void {
  dprob<f32>(p, t, n, cls, false, a, b, k, h, dp);
}

// @ts-ignore: decorator
@inline function storeVoxels<V>(ptr: usize, vs: usize, v: V, contiguous: bool): void {
  if (contiguous) store<V>(ptr, v);
  else scatterF<V>(ptr, vs, v);
}

// @ts-ignore: decorator
@inline function chainRange<V>(
  x: usize, vs: usize, cs: usize, p: usize, dp: usize, ps: usize, v0: i32, v1: i32,
  numClasses: i32, act: i32, dx: usize, dcs: usize, contiguous: bool,
): void {
  const W = width<V>();
  for (let v = v0; v + W <= v1; v += W) {
    const xv = (<usize>v * vs) << 2;
    const pv = <usize>v << 2;
    if (act == ACT_SOFTMAX) {
      // dx_c = p_c·(dp_c − Σ_k p_k·dp_k)
      let s = splat<V>(0);
      for (let c = 0; c < numClasses; c++) {
        const o = pv + ((<usize>c * ps) << 2);
        s = add<V>(s, mul<V>(load<V>(p + o), load<V>(dp + o)));
      }
      for (let c = 0; c < numClasses; c++) {
        const o = pv + ((<usize>c * ps) << 2);
        const g = mul<V>(load<V>(p + o), sub<V>(load<V>(dp + o), s));
        storeVoxels<V>(dx + xv + ((<usize>c * dcs) << 2), vs, g, contiguous);
      }
    } else {
      for (let c = 0; c < numClasses; c++) {
        let g = load<V>(dp + pv + ((<usize>c * ps) << 2));
        if (act == ACT_SIGMOID) {
          // σ'(x) = e/(1 + e)² with e = e^-|x|: no cancellation, unlike p·(1 − p)
          const xc = loadVoxels<V>(x + xv + ((<usize>c * cs) << 2), vs, contiguous);
          const e = expNonPositive<V>(sub<V>(splat<V>(0), abs<V>(xc)));
          const r = div<V>(splat<V>(1), add<V>(splat<V>(1), e));
          g = mul<V>(g, mul<V>(e, mul<V>(r, r)));
        }
        storeVoxels<V>(dx + xv + ((<usize>c * dcs) << 2), vs, g, contiguous);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function chainAll(
  x: usize, vs: usize, cs: usize, p: usize, dp: usize, ps: usize, nVox: i32,
  numClasses: i32, act: i32, dx: usize, dcs: usize, contiguous: bool,
): void {
  if (!ASC_FEATURE_SIMD) {
    chainRange<f32>(x, vs, cs, p, dp, ps, 0, nVox, numClasses, act, dx, dcs, contiguous);
    return;
  }
  const main = nVox & ~3;
  chainRange<v128>(x, vs, cs, p, dp, ps, 0, main, numClasses, act, dx, dcs, contiguous);
  chainRange<f32>(x, vs, cs, p, dp, ps, main, nVox, numClasses, act, dx, dcs, contiguous);
}

/**
 * dL/dx for `nVox` voxels × `numClasses` classes from the input `x` (voxel
 * stride vs, class stride cs, floats; read for sigmoid), the probabilities `p`
 * and dL/dp `dp` (class planes, plane stride ps floats). Written to `dx` with
 * the input's voxel stride and class stride `dcs`. act: 0 none, 1 sigmoid,
 * 2 softmax. Pointers in bytes.
 */
export function chain(
  x: usize, vs: i32, cs: i32, p: usize, dp: usize, ps: i32, nVox: i32, numClasses: i32, act: i32, dx: usize, dcs: i32,
): void {
  if (vs == 1) {
    if (act == ACT_SOFTMAX) chainAll(x, 1, cs, p, dp, ps, nVox, numClasses, ACT_SOFTMAX, dx, dcs, true);
    else if (act == ACT_SIGMOID) chainAll(x, 1, cs, p, dp, ps, nVox, numClasses, ACT_SIGMOID, dx, dcs, true);
    else chainAll(x, 1, cs, p, dp, ps, nVox, numClasses, ACT_NONE, dx, dcs, true);
  } else {
    if (act == ACT_SOFTMAX) chainAll(x, vs, cs, p, dp, ps, nVox, numClasses, ACT_SOFTMAX, dx, dcs, false);
    else if (act == ACT_SIGMOID) chainAll(x, vs, cs, p, dp, ps, nVox, numClasses, ACT_SIGMOID, dx, dcs, false);
    else chainAll(x, vs, cs, p, dp, ps, nVox, numClasses, ACT_NONE, dx, dcs, false);
  }
}
