// Conv3D and its two gradients as float64 direct loops over tfjs's Conv3DInfo:
// the tests' reference for the kernels and for tfjs's cpu backend.
import type { backend_util } from "@tensorflow/tfjs-core";

type Info = backend_util.Conv3DInfo;

/** Calls visit(x index, filter index, y index) for every multiply-add of the convolution. */
function eachTerm(info: Info, visit: (xi: number, wi: number, yi: number) => void): void {
  const { batchSize: B, inChannels: Ci, outChannels: Co, padInfo } = info;
  const I = [info.inDepth, info.inHeight, info.inWidth];
  const O = [info.outDepth, info.outHeight, info.outWidth];
  const F = [info.filterDepth, info.filterHeight, info.filterWidth];
  const S = [info.strideDepth, info.strideHeight, info.strideWidth];
  const D = [info.dilationDepth, info.dilationHeight, info.dilationWidth];
  const P = [padInfo.front, padInfo.top, padInfo.left];
  for (let b = 0; b < B; b++)
    for (let o0 = 0; o0 < O[0]!; o0++)
      for (let o1 = 0; o1 < O[1]!; o1++)
        for (let o2 = 0; o2 < O[2]!; o2++)
          for (let f0 = 0; f0 < F[0]!; f0++)
            for (let f1 = 0; f1 < F[1]!; f1++)
              for (let f2 = 0; f2 < F[2]!; f2++) {
                const i0 = o0 * S[0]! - P[0]! + f0 * D[0]!;
                const i1 = o1 * S[1]! - P[1]! + f1 * D[1]!;
                const i2 = o2 * S[2]! - P[2]! + f2 * D[2]!;
                if (i0 < 0 || i0 >= I[0]! || i1 < 0 || i1 >= I[1]! || i2 < 0 || i2 >= I[2]!) continue;
                const x = (((b * I[0]! + i0) * I[1]! + i1) * I[2]! + i2) * Ci;
                const w = ((f0 * F[1]! + f1) * F[2]! + f2) * Ci * Co;
                const y = (((b * O[0]! + o0) * O[1]! + o1) * O[2]! + o2) * Co;
                for (let ci = 0; ci < Ci; ci++) for (let co = 0; co < Co; co++) visit(x + ci, w + ci * Co + co, y + co);
              }
}

const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

export function conv3dReference(info: Info, x: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const y = new Float64Array(size(info.outShape));
  eachTerm(info, (xi, wi, yi) => {
    y[yi]! += x[xi]! * w[wi]!;
  });
  return y;
}

export function inputGradReference(info: Info, dy: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(size(info.inShape));
  eachTerm(info, (xi, wi, yi) => {
    dx[xi]! += dy[yi]! * w[wi]!;
  });
  return dx;
}

export function filterGradReference(info: Info, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dw = new Float64Array(size(info.filterShape));
  eachTerm(info, (xi, wi, yi) => {
    dw[wi]! += x[xi]! * dy[yi]!;
  });
  return dw;
}

/**
 * 3D max pooling of x and its gradient from dy, `info` from computePool3DInfo,
 * by tfjs's rules: NaN never wins (a window of NaN pools to −∞ and passes no
 * gradient); the value is the window's first maximum in scan order (0 or −0
 * in a tie), the gradient goes to its last.
 */
export function maxPoolReference(
  info: Info,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
): { y: Float64Array; dx: Float64Array } {
  const C = info.inChannels;
  const y = new Float64Array(size(info.outShape)).fill(Number.NEGATIVE_INFINITY);
  const last = new Float64Array(y.length).fill(Number.NEGATIVE_INFINITY);
  const at = new Int32Array(y.length).fill(-1);
  eachTerm(info, (xi, _, yi) => {
    if (xi % C !== yi % C) return; // pooling is per channel
    if (x[xi]! > y[yi]!) y[yi] = x[xi]!;
    if (x[xi]! >= last[yi]!) [last[yi], at[yi]] = [x[xi]!, xi];
  });
  const dx = new Float64Array(size(info.inShape));
  at.forEach((xi, yi) => {
    if (xi >= 0) dx[xi]! += dy[yi]!;
  });
  return { y, dx };
}
