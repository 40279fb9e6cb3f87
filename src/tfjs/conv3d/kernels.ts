// Runs the Conv3D and max-pooling kernels (assembly/conv3d/) on a memory: the tfjs wasm
// backend's, where tensors already lie, or our own for the cpu backend, where
// they are copied in. Each call takes one scratch block for the geometry, the
// packed filter, a zero voxel and (filter gradient) dy padded to whole blocks,
// and gives it back before it returns, also when it throws.
import { type backend_util, util } from "@tensorflow/tfjs-core";
import type { Allocator } from "../../heap.js";
import { blockOf, GEOMETRY, geometryOf, packedLength, packFilter } from "./geometry.js";

/** The kernel module's exports (assembly/conv3d/index.ts). */
export interface Conv3DExports {
  LANES: WebAssembly.Global;
  conv3dForward(x: number, w: number, zeros: number, y: number, geo: number, nv: number): void;
  conv3dInputGrad(dy: number, w: number, zeros: number, dx: number, geo: number, nv: number): void;
  conv3dFilterGrad(x: number, dy: number, dyc: number, dw: number, geo: number, nv: number): void;
  maxPool(x: number, y: number, geo: number): void;
  maxPoolGrad(dy: number, x: number, dx: number, geo: number): void;
}

/** The kernels instantiated on a memory, with the allocator that owns it. */
export interface Conv3DRuntime {
  kernels: Conv3DExports;
  heap: Allocator;
  lanes: number;
}

type Info = backend_util.Conv3DInfo;
const taps = (info: Info) => info.filterDepth * info.filterHeight * info.filterWidth;
const GEOMETRY_BYTES = 16 * Math.ceil((GEOMETRY.GEOMETRY_FIELDS * 4) / 16);

/**
 * Writes `info`'s geometry and lays out `floats` (16-byte aligned) after it in
 * one block, runs `fn`, frees the block.
 */
function withScratch<T>(rt: Conv3DRuntime, info: Info, floats: number[], fn: (geo: number, parts: number[]) => T): T {
  const bytes = floats.map((n) => 16 * Math.ceil((4 * n) / 16));
  // 15 bytes more, so that the parts start 16-byte aligned whatever the allocator's alignment
  const total = GEOMETRY_BYTES + bytes.reduce((a, b) => a + b, 0) + 15;
  const block = rt.heap.alloc(total);
  const base = Math.ceil(block / 16) * 16;
  try {
    const parts: number[] = [];
    let at = base + GEOMETRY_BYTES;
    for (const b of bytes) {
      parts.push(at);
      at += b;
    }
    new Int32Array(rt.heap.memory.buffer, base, GEOMETRY.GEOMETRY_FIELDS).set(geometryOf(info));
    return fn(base, parts);
  } finally {
    rt.heap.release(block, total);
  }
}

const memoryOf = (rt: Conv3DRuntime) => rt.heap.memory.buffer;

/**
 * The gather both directions share: the forward pass (source x, outputs y) or,
 * `transposed`, the input gradient (source dy, outputs dx, the filter
 * transposed in its channel axes). Operands are byte offsets of float32
 * tensors in the runtime's memory.
 */
function gather(rt: Conv3DRuntime, info: Info, src: number, filter: number, dst: number, transposed: boolean): void {
  const [sourceChannels, outputs] = transposed
    ? [info.outChannels, info.inChannels]
    : [info.inChannels, info.outChannels];
  const { nv, width } = blockOf(outputs, rt.lanes);
  const packed = packedLength(taps(info), info.inChannels, info.outChannels, width, transposed);
  withScratch(rt, info, [packed, sourceChannels], (geo, [w, zeros]) => {
    const buffer = memoryOf(rt);
    const f = new Float32Array(buffer, filter, util.sizeFromShape(info.filterShape));
    packFilter(
      f,
      taps(info),
      info.inChannels,
      info.outChannels,
      width,
      transposed,
      new Float32Array(buffer, w!, packed),
    );
    new Float32Array(buffer, zeros!, sourceChannels).fill(0);
    const run = transposed ? rt.kernels.conv3dInputGrad : rt.kernels.conv3dForward;
    run(src, w!, zeros!, dst, geo, nv);
  });
}

/** y = conv3d(x, filter). */
export function forward(rt: Conv3DRuntime, info: Info, x: number, filter: number, y: number): void {
  gather(rt, info, x, filter, y, false);
}

/** dx of conv3d(x, filter) from dy. */
export function inputGrad(rt: Conv3DRuntime, info: Info, dy: number, filter: number, dx: number): void {
  gather(rt, info, dy, filter, dx, true);
}

/** dW of conv3d(x, filter) from x and dy. */
export function filterGrad(rt: Conv3DRuntime, info: Info, x: number, dy: number, dw: number): void {
  const { nv, width } = blockOf(info.outChannels, rt.lanes);
  const Co = info.outChannels;
  const dyc = width * Math.ceil(Co / width);
  const voxels = util.sizeFromShape(info.outShape) / Co;
  // dy is read a block of channels at a time: pad its voxels to whole blocks unless they are
  withScratch(rt, info, [dyc === Co ? 0 : voxels * dyc], (geo, [padded]) => {
    const buffer = memoryOf(rt);
    if (dyc !== Co) {
      const from = new Float32Array(buffer, dy, voxels * Co);
      const to = new Float32Array(buffer, padded!, voxels * dyc);
      to.fill(0);
      for (let v = 0; v < voxels; v++) for (let c = 0; c < Co; c++) to[v * dyc + c] = from[v * Co + c]!;
    }
    rt.kernels.conv3dFilterGrad(x, dyc === Co ? dy : padded!, dyc, dw, geo, nv);
  });
}

/** y = maxPool3d(x), `info` from backend_util.computePool3DInfo. */
export function maxPool(rt: Conv3DRuntime, info: Info, x: number, y: number): void {
  withScratch(rt, info, [], (geo) => rt.kernels.maxPool(x, y, geo));
}

/** dx of maxPool3d(x) from dy. */
export function maxPoolGrad(rt: Conv3DRuntime, info: Info, dy: number, x: number, dx: number): void {
  withScratch(rt, info, [], (geo) => rt.kernels.maxPoolGrad(dy, x, dx, geo));
}
