// Storing the valid part of a block of output channels.
import { width } from "../lanes";

/** Stores the first `lanes` values of the two vectors (v0, v1) at out. */
// @ts-ignore: decorator
@inline export function storeFirst<V>(out: usize, v0: V, v1: V, lanes: i32): void {
  const W = width<V>();
  if (lanes >= W) store<V>(out, v0);
  else storeLanes<V>(out, v0, lanes);
  if (lanes > W) {
    if (lanes >= 2 * W) store<V>(out, v1, W << 2);
    else storeLanes<V>(out + (<usize>W << 2), v1, lanes - W);
  }
}

/** Stores lanes [0, n) of v at out, for n < width (SIMD only: a scalar lane is whole). */
// @ts-ignore: decorator
@inline function storeLanes<V>(out: usize, v: V, n: i32): void {
  if (isVector<V>()) {
    v128.store32_lane(out, <v128>v, 0);
    if (n > 1) v128.store32_lane(out, <v128>v, 1, 4);
    if (n > 2) v128.store32_lane(out, <v128>v, 2, 8);
  }
}
