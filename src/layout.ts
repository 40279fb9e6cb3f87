// Where element (b, c, v) of a prediction lies in its flat array.
import type { Layout } from "./options.js";

/**
 * The index of class c of voxel v of batch item b in a [B, S, C]
 * (channels-last) or [B, C, S] (channels-first) array of S voxels and C
 * classes; with one class the two are the same.
 */
export function elementIndex(layout: Layout, C: number, S: number): (b: number, c: number, v: number) => number {
  return layout === "channels-last" || C === 1 ? (b, c, v) => (b * S + v) * C + c : (b, c, v) => (b * C + c) * S + v;
}
