// The geometry block the Conv3D kernels read (assembly/conv3d/geometry.ts),
// written from tfjs's own Conv3DInfo so that padding and output sizes are
// exactly tfjs's. The field indices mirror the kernels' exports and are
// checked against them when the kernels are instantiated.
import type { backend_util } from "@tensorflow/tfjs-core";

export const GEOMETRY = {
  G_BATCH: 0,
  G_IN_CHANNELS: 1,
  G_OUT_CHANNELS: 2,
  G_AXES: 3,
  AXIS_FIELDS: 6,
  A_IN: 0,
  A_OUT: 1,
  A_TAPS: 2,
  A_STRIDE: 3,
  A_DILATION: 4,
  A_PAD: 5,
  GEOMETRY_FIELDS: 21,
} as const;

/** Throws unless the module's exported field indices are ours. */
export function checkGeometry(exports: WebAssembly.Exports): void {
  for (const [name, value] of Object.entries(GEOMETRY)) {
    const global = exports[name] as WebAssembly.Global | undefined;
    if (global?.value !== value) {
      throw new Error(
        `dice-wasm: the Conv3D kernels' ${name} is ${global?.value}, the host's ${value}: rebuild (npm run build:wasm)`,
      );
    }
  }
}

/** The geometry of a convolution, as Int32Array fields. */
export function geometryOf(info: backend_util.Conv3DInfo): Int32Array {
  const g = new Int32Array(GEOMETRY.GEOMETRY_FIELDS);
  g[GEOMETRY.G_BATCH] = info.batchSize;
  g[GEOMETRY.G_IN_CHANNELS] = info.inChannels;
  g[GEOMETRY.G_OUT_CHANNELS] = info.outChannels;
  const axes = [
    [info.inDepth, info.outDepth, info.filterDepth, info.strideDepth, info.dilationDepth, info.padInfo.front],
    [info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.dilationHeight, info.padInfo.top],
    [info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.dilationWidth, info.padInfo.left],
  ];
  axes.forEach((fields, a) => {
    g.set(fields, GEOMETRY.G_AXES + a * GEOMETRY.AXIS_FIELDS);
  });
  return g;
}

/** Output channel vectors per block (1 or 2) and the lanes of a block, for `channels` outputs. */
export function blockOf(channels: number, lanes: number): { nv: 1 | 2; width: number } {
  const nv = channels > lanes ? 2 : 1;
  return { nv, width: nv * lanes };
}

/**
 * The filter [taps, Ci, Co] packed for the gather kernel: [block][tap][k][width]
 * with lane l of block b the output channel b·width + l (0 past the last).
 * Forward: k = ci, outputs co. Input gradient (`transposed`): k = co, outputs ci.
 */
export function packFilter(
  filter: Float32Array,
  taps: number,
  ci: number,
  co: number,
  width: number,
  transposed: boolean,
  out: Float32Array,
): void {
  const [K, outputs] = transposed ? [co, ci] : [ci, co];
  const blocks = Math.ceil(outputs / width);
  out.fill(0, 0, blocks * taps * K * width);
  for (let t = 0; t < taps; t++) {
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < co; o++) {
        const value = filter[(t * ci + i) * co + o]!;
        const [k, c] = transposed ? [o, i] : [i, o];
        const b = Math.floor(c / width);
        out[((b * taps + t) * K + k) * width + (c - b * width)] = value;
      }
    }
  }
}

/** Floats of the packed filter. */
export function packedLength(taps: number, ci: number, co: number, width: number, transposed: boolean): number {
  const [K, outputs] = transposed ? [co, ci] : [ci, co];
  return Math.ceil(outputs / width) * taps * K * width;
}
