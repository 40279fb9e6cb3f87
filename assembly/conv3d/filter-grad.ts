// Conv3D filter gradient: dW[f][ci][co] = Σ over batch and outputs o of
// x[o·s − p + f·d][ci] · dy[o][co].
//
// Per tap, the outputs whose source lies inside x form a box (a range per
// axis, from floor divisions that are right for negative numerators too), so
// the inner loop has no bounds check. A tile is 4 input channels × one block
// of L = NV·W output channels: 4·NV accumulators in registers, fed per output
// voxel by four splats of x and NV loads of dy. The host passes dy with its
// channels padded to a multiple of L (`dyc` floats a voxel), so those loads
// never leave the tensor; the input channels of a partial tile repeat the last
// one and are not stored.
import { add, loadSplat, mul, splat, width } from "../lanes";
import { storeFirst } from "./store";
import { A_DILATION, A_IN, A_OUT, A_PAD, A_STRIDE, A_TAPS, axis, field, floorDiv, G_BATCH, G_IN_CHANNELS, G_OUT_CHANNELS } from "./geometry";

/** The first output along axis a whose tap f reads inside x. */
// @ts-ignore: decorator
@inline function firstOutput(geo: usize, a: i32, f: i32): i32 {
  const off = axis(geo, a, A_PAD) - f * axis(geo, a, A_DILATION);
  // o·s − off ≥ 0  ⇔  o ≥ ⌈off / s⌉
  const lo = -floorDiv(-off, axis(geo, a, A_STRIDE));
  return max(lo, 0);
}

/** One past the last output along axis a whose tap f reads inside x. */
// @ts-ignore: decorator
@inline function endOutput(geo: usize, a: i32, f: i32): i32 {
  const off = axis(geo, a, A_PAD) - f * axis(geo, a, A_DILATION);
  // o·s − off ≤ I − 1  ⇔  o ≤ ⌊(I − 1 + off) / s⌋
  const hi = floorDiv(axis(geo, a, A_IN) - 1 + off, axis(geo, a, A_STRIDE)) + 1;
  return min(hi, axis(geo, a, A_OUT));
}

/** dW into `dw` [taps][Ci][Co], from x [B, I…, Ci] and dy [B, O…, dyc]. */
export function filterGrad<V, N>(x: usize, dy: usize, dyc: i32, dw: usize, geo: usize): void {
  const NV = <i32>sizeof<N>();
  const W = width<V>();
  const L = NV * W;
  const B = field(geo, G_BATCH);
  const Ci = field(geo, G_IN_CHANNELS), Co = field(geo, G_OUT_CHANNELS);
  const I0 = axis(geo, 0, A_IN), I1 = axis(geo, 1, A_IN), I2 = axis(geo, 2, A_IN);
  const O0 = axis(geo, 0, A_OUT), O1 = axis(geo, 1, A_OUT), O2 = axis(geo, 2, A_OUT);
  const F0 = axis(geo, 0, A_TAPS), F1 = axis(geo, 1, A_TAPS), F2 = axis(geo, 2, A_TAPS);
  const s0 = axis(geo, 0, A_STRIDE), s1 = axis(geo, 1, A_STRIDE), s2 = axis(geo, 2, A_STRIDE);
  const xVoxel: usize = <usize>Ci << 2;
  const dyVoxel: usize = <usize>dyc << 2;
  const xStep: usize = <usize>s2 * xVoxel;
  for (let f0 = 0; f0 < F0; f0++) {
    const lo0 = firstOutput(geo, 0, f0), hi0 = endOutput(geo, 0, f0);
    const off0 = axis(geo, 0, A_PAD) - f0 * axis(geo, 0, A_DILATION);
    for (let f1 = 0; f1 < F1; f1++) {
      const lo1 = firstOutput(geo, 1, f1), hi1 = endOutput(geo, 1, f1);
      const off1 = axis(geo, 1, A_PAD) - f1 * axis(geo, 1, A_DILATION);
      for (let f2 = 0; f2 < F2; f2++) {
        const lo2 = firstOutput(geo, 2, f2), hi2 = endOutput(geo, 2, f2);
        const off2 = axis(geo, 2, A_PAD) - f2 * axis(geo, 2, A_DILATION);
        const tap = (f0 * F1 + f1) * F2 + f2;
        for (let ci = 0; ci < Ci; ci += 4) {
          // a partial tile repeats the last channel (never stored)
          const c1: usize = <usize>min(ci + 1, Ci - 1) << 2, c2: usize = <usize>min(ci + 2, Ci - 1) << 2;
          const c3: usize = <usize>min(ci + 3, Ci - 1) << 2;
          for (let co = 0; co < Co; co += L) {
            let a00 = splat<V>(0), a10 = splat<V>(0), a20 = splat<V>(0), a30 = splat<V>(0);
            let a01 = splat<V>(0), a11 = splat<V>(0), a21 = splat<V>(0), a31 = splat<V>(0);
            for (let n = 0; n < B; n++) {
              for (let o0 = lo0; o0 < hi0; o0++) {
                for (let o1 = lo1; o1 < hi1; o1++) {
                  let xp = x + (<usize>((n * I0 + o0 * s0 - off0) * I1 + o1 * s1 - off1) * <usize>I2 + <usize>(lo2 * s2 - off2)) * xVoxel + (<usize>ci << 2);
                  let gp = dy + (<usize>((n * O0 + o0) * O1 + o1) * <usize>O2 + <usize>lo2) * dyVoxel + (<usize>co << 2);
                  for (let o2 = lo2; o2 < hi2; o2++, xp += xStep, gp += dyVoxel) {
                    const x0 = loadSplat<V>(xp), x1 = loadSplat<V>(xp - (<usize>ci << 2) + c1);
                    const x2 = loadSplat<V>(xp - (<usize>ci << 2) + c2), x3 = loadSplat<V>(xp - (<usize>ci << 2) + c3);
                    const g0 = load<V>(gp);
                    a00 = add<V>(a00, mul<V>(x0, g0));
                    a10 = add<V>(a10, mul<V>(x1, g0));
                    a20 = add<V>(a20, mul<V>(x2, g0));
                    a30 = add<V>(a30, mul<V>(x3, g0));
                    if (NV > 1) {
                      const g1 = load<V>(gp, W << 2);
                      a01 = add<V>(a01, mul<V>(x0, g1));
                      a11 = add<V>(a11, mul<V>(x1, g1));
                      a21 = add<V>(a21, mul<V>(x2, g1));
                      a31 = add<V>(a31, mul<V>(x3, g1));
                    }
                  }
                }
              }
            }
            const out = dw + ((<usize>(tap * Ci + ci) * <usize>Co + <usize>co) << 2);
            const row: usize = <usize>Co << 2;
            const lanes = min(L, Co - co);
            storeFirst<V>(out, a00, a01, lanes);
            if (ci + 1 < Ci) storeFirst<V>(out + row, a10, a11, lanes);
            if (ci + 2 < Ci) storeFirst<V>(out + 2 * row, a20, a21, lanes);
            if (ci + 3 < Ci) storeFirst<V>(out + 3 * row, a30, a31, lanes);
          }
        }
      }
    }
  }
}
