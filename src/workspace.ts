// The layout of the workspace the passes stream chunks through, in one place:
// sized by the runtime at init() and before every loss, used by the Stream.
import { COEFS, STATS } from "./kernel-codes.js";

/** Floats per chunk buffer: 64 KiB, so the working set of a chunk stays in L2. */
export const CHUNK_ELEMENTS = 16384;

/** The chunk buffers, each V·C floats (see src/passes.ts for what goes where). */
export const BUFFERS = [
  "input",
  "target",
  "keep",
  "probability",
  "complement",
  "shifted",
  "targetPlanar",
  // ignoreIndex with a float mask: what is kept, per element, and the target with the rest zeroed
  "elementMarks",
  "targetKept",
] as const;
export type BufferName = (typeof BUFFERS)[number];
/**
 * The per-voxel planes, each V floats: O (outside the label), labels as lanes,
 * −ln p of the label (ln Σe for masks); for ignoreIndex and mask, what is kept
 * (1 or 0, "voxelMarks") and the chunk of the mask option.
 */
export const PLANES = ["outside", "labels", "nll", "voxelMarks", "voxelMask"] as const;
export type PlaneName = (typeof PLANES)[number];

/** Byte offsets (from the workspace's start) of its parts for C classes and W lanes. */
export interface WorkspaceLayout {
  /** whole voxels per chunk, a multiple of 16 so that chunks split on mini-blocks */
  voxels: number;
  buffers: Record<BufferName, number>;
  planes: Record<PlaneName, number>;
  /** float64 statistics blocks, [C][STATS][W] */
  out: number;
  /** float32 kernel coefficients, [C][COEFS] */
  coef: number;
  /** scratch for the kernels: 2·C vectors */
  tmp: number;
  bytes: number;
}

export function workspaceLayout(C: number, lanes: number): WorkspaceLayout {
  const voxels = Math.max(16, Math.floor(CHUNK_ELEMENTS / C / 16) * 16);
  let at = 0;
  const take = (bytes: number) => {
    const start = at;
    at += bytes;
    return start;
  };
  const buffers = Object.fromEntries(BUFFERS.map((name) => [name, take(voxels * C * 4)])) as Record<BufferName, number>;
  const planes = Object.fromEntries(PLANES.map((name) => [name, take(voxels * 4)])) as Record<PlaneName, number>;
  const out = take(C * STATS * lanes * 8);
  const coef = take(C * COEFS * 4);
  const tmp = take(2 * C * 16);
  return { voxels, buffers, planes, out, coef, tmp, bytes: at };
}

/** Classes the workspace reserved by init() covers without growing (in either build). */
export const CLASSES_AT_INIT = 1024;
