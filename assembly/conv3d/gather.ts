// Conv3D forward and input gradient as one gather: every output voxel sums,
// over the filter taps, its source voxel's channels times the tap's weights.
//
//   forward        y[o]  = Σ_f x[o·s − p + f·d] · W[f]
//   input gradient dx[i] = Σ_f dy[(i + p − f·d) / s] · W[f]ᵀ   (where s divides)
//
// The weights come packed by the host, [block][tap][source channel][L lanes]:
// lane l of block b is output channel b·L + l, zero past the last one, so the
// inner loop is one splat of a source channel and NV aligned loads of weights.
// A tile is T = 4 output voxels along the width axis × one block of L = NV·W
// output channels: 4·NV accumulators that stay in registers. A tile voxel
// whose source lies in the padding reads `zeros` (a zero source voxel), so the
// inner loop has no branch. For the input gradient a tile takes every s-th
// voxel (one residue class of the width stride): they share their valid taps,
// and their sources are consecutive.
import { add, loadSplat, mul, splat, width } from "../lanes";
import { storeFirst } from "./store";
import { A_DILATION, A_IN, A_OUT, A_PAD, A_STRIDE, A_TAPS, axis, field, floorDiv, G_BATCH, G_IN_CHANNELS, G_OUT_CHANNELS } from "./geometry";

/** Output voxels per tile. */
const T = 4;

/** Output channel vectors per tile: u8 one, u16 two (its size in bytes). */
export type OneVector = u8;
export type TwoVectors = u16;
/** Direction: forward (x → y) or the input gradient (dy → dx). */
export type Forward = u8;
export type InputGradient = u16;

/**
 * The source coordinate along axis `a` that tap f of output coordinate o reads:
 * forward o·s − p + f·d; input gradient (o + p − f·d)/s, or i32.MIN_VALUE where
 * s does not divide it. The caller checks the range.
 */
// @ts-ignore: decorator
@inline function sourceOf(geo: usize, a: i32, o: i32, f: i32, grad: bool): i32 {
  const s = axis(geo, a, A_STRIDE);
  const off = axis(geo, a, A_PAD) - f * axis(geo, a, A_DILATION);
  if (!grad) return o * s - off;
  const t = o + off;
  const q = floorDiv(t, s);
  return q * s == t ? q : i32.MIN_VALUE;
}

/** Adds one tap's contribution: K source channels at p0…p3 times the packed weights at w. */
// @ts-ignore: decorator
@inline function tileOf<V, N, Dir>(
  src: usize, w: usize, zeros: usize, dst: usize, geo: usize, n: i32, o0: i32, o1: i32, o2: i32, block: i32,
): void {
  const NV = <i32>sizeof<N>();
  const grad = sizeof<Dir>() == 2;
  const W = width<V>();
  const L = NV * W;
  // source and destination extents: x and y forward, dy and dx for the gradient
  const srcE0 = axis(geo, 0, grad ? A_OUT : A_IN), dstE0 = axis(geo, 0, grad ? A_IN : A_OUT);
  const srcE1 = axis(geo, 1, grad ? A_OUT : A_IN), dstE1 = axis(geo, 1, grad ? A_IN : A_OUT);
  const srcE2 = axis(geo, 2, grad ? A_OUT : A_IN), dstE2 = axis(geo, 2, grad ? A_IN : A_OUT);
  const K = field(geo, grad ? G_OUT_CHANNELS : G_IN_CHANNELS);
  const KD = field(geo, grad ? G_IN_CHANNELS : G_OUT_CHANNELS);
  const F0 = axis(geo, 0, A_TAPS), F1 = axis(geo, 1, A_TAPS), F2 = axis(geo, 2, A_TAPS);
  const s2 = axis(geo, 2, A_STRIDE);
  // tile voxel j is at o2 + j·step; its source for a tap at first + j·inc
  const step = grad ? s2 : 1;
  const inc = grad ? 1 : s2;
  let count = (dstE2 - o2 + step - 1) / step;
  if (count > T) count = T;
  const voxel: usize = <usize>K << 2;
  const wTap: usize = <usize>(K * L) << 2;
  let a00 = splat<V>(0), a10 = splat<V>(0), a20 = splat<V>(0), a30 = splat<V>(0);
  let a01 = splat<V>(0), a11 = splat<V>(0), a21 = splat<V>(0), a31 = splat<V>(0);
  let wp = w + <usize>block * <usize>(F0 * F1 * F2) * wTap;
  for (let f0 = 0; f0 < F0; f0++) {
    const i0 = sourceOf(geo, 0, o0, f0, grad);
    if (i0 < 0 || i0 >= srcE0) {
      wp += <usize>(F1 * F2) * wTap;
      continue;
    }
    for (let f1 = 0; f1 < F1; f1++) {
      const i1 = sourceOf(geo, 1, o1, f1, grad);
      if (i1 < 0 || i1 >= srcE1) {
        wp += <usize>F2 * wTap;
        continue;
      }
      const row = src + <usize>((n * srcE0 + i0) * srcE1 + i1) * <usize>srcE2 * voxel;
      for (let f2 = 0; f2 < F2; f2++, wp += wTap) {
        const first = sourceOf(geo, 2, o2, f2, grad);
        if (first == i32.MIN_VALUE) continue;
        const i = first, j1 = first + inc, j2 = first + 2 * inc, j3 = first + 3 * inc;
        const p0 = i >= 0 && i < srcE2 ? row + <usize>i * voxel : zeros;
        const p1 = count > 1 && j1 >= 0 && j1 < srcE2 ? row + <usize>j1 * voxel : zeros;
        const p2 = count > 2 && j2 >= 0 && j2 < srcE2 ? row + <usize>j2 * voxel : zeros;
        const p3 = count > 3 && j3 >= 0 && j3 < srcE2 ? row + <usize>j3 * voxel : zeros;
        if (p0 == zeros && p1 == zeros && p2 == zeros && p3 == zeros) continue;
        let q = wp;
        for (let k: usize = 0; k < voxel; k += 4, q += <usize>L << 2) {
          const x0 = loadSplat<V>(p0 + k), x1 = loadSplat<V>(p1 + k);
          const x2 = loadSplat<V>(p2 + k), x3 = loadSplat<V>(p3 + k);
          const w0 = load<V>(q);
          a00 = add<V>(a00, mul<V>(x0, w0));
          a10 = add<V>(a10, mul<V>(x1, w0));
          a20 = add<V>(a20, mul<V>(x2, w0));
          a30 = add<V>(a30, mul<V>(x3, w0));
          if (NV > 1) {
            const w1 = load<V>(q, W << 2);
            a01 = add<V>(a01, mul<V>(x0, w1));
            a11 = add<V>(a11, mul<V>(x1, w1));
            a21 = add<V>(a21, mul<V>(x2, w1));
            a31 = add<V>(a31, mul<V>(x3, w1));
          }
        }
      }
    }
  }
  // the tile's voxels, block `block` of their channels
  const out = dst + (<usize>((n * dstE0 + o0) * dstE1 + o1) * <usize>dstE2 + <usize>o2) * (<usize>KD << 2) + (<usize>(block * L) << 2);
  const stride: usize = <usize>(step * KD) << 2;
  const lanes = min(L, KD - block * L);
  storeFirst<V>(out, a00, a01, lanes);
  if (count > 1) storeFirst<V>(out + stride, a10, a11, lanes);
  if (count > 2) storeFirst<V>(out + 2 * stride, a20, a21, lanes);
  if (count > 3) storeFirst<V>(out + 3 * stride, a30, a31, lanes);
}

/** The whole convolution (or input gradient) into dst, one tile at a time. */
export function gatherConv<V, N, Dir>(src: usize, w: usize, zeros: usize, dst: usize, geo: usize): void {
  const grad = sizeof<Dir>() == 2;
  const L = <i32>sizeof<N>() * width<V>();
  const B = field(geo, G_BATCH);
  const D0 = axis(geo, 0, grad ? A_IN : A_OUT), D1 = axis(geo, 1, grad ? A_IN : A_OUT), D2 = axis(geo, 2, grad ? A_IN : A_OUT);
  const KD = field(geo, grad ? G_IN_CHANNELS : G_OUT_CHANNELS);
  const blocks = (KD + L - 1) / L;
  // the input gradient walks each residue class of the width stride on its own
  const step = grad ? axis(geo, 2, A_STRIDE) : 1;
  for (let n = 0; n < B; n++) {
    for (let o0 = 0; o0 < D0; o0++) {
      for (let o1 = 0; o1 < D1; o1++) {
        for (let r = 0; r < step && r < D2; r++) {
          for (let o2 = r; o2 < D2; o2 += T * step) {
            for (let b = 0; b < blocks; b++) tileOf<V, N, Dir>(src, w, zeros, dst, geo, n, o0, o1, o2, b);
          }
        }
      }
    }
  }
}
