// The layout of the workspace the passes stream chunks through, in one place:
// sized by the runtime at init() and before every loss, used by the Stream.

/** Floats per chunk buffer: 64 KiB, so the working set of a chunk stays in L2. */
export const CHUNK_ELEMENTS = 16384;
/** Statistics a kernel accumulates per class: tp, fp, fn, se, count, ce. */
export const STATS = 6;
/** Kernel coefficients per class, float32: a, b, k, h, u and padding (assembly/backward.ts COEFS). */
export const COEFS = 8;
/** Chunk buffers: input, target, probabilities, target planes, gradient. */
const BUFFERS = 5;

/** Byte offsets (from the workspace's start) of its parts for C classes and W lanes. */
export interface WorkspaceLayout {
  /** whole voxels per chunk, a multiple of 16 so that chunks split on mini-blocks */
  voxels: number;
  /** chunk buffer i starts at i · buffer */
  buffer: number;
  /** float64 statistics blocks, [C][STATS][W] */
  out: number;
  /** float32 kernel coefficients, [C][COEFS] */
  coef: number;
  /** scratch for the backward kernel: 2 · C vectors */
  tmp: number;
  bytes: number;
}

export function workspaceLayout(C: number, lanes: number): WorkspaceLayout {
  const voxels = Math.max(16, Math.floor(CHUNK_ELEMENTS / C / 16) * 16);
  const buffer = voxels * C * 4;
  const out = BUFFERS * buffer;
  const coef = out + C * STATS * lanes * 8;
  const tmp = coef + C * COEFS * 4;
  return { voxels, buffer, out, coef, tmp, bytes: tmp + 2 * C * 16 };
}

/** Classes the workspace reserved by init() covers without growing (in either build). */
export const CLASSES_AT_INIT = 1024;
