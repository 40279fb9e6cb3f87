// Channels-last groups ↔ class-planar vectors (SIMD build). A group is four
// consecutive voxels: in channels-last order its 4·C floats are voxel by voxel
// (v0c0 v0c1 … v1c0 …); in planar order they are class by class, one f32x4
// per class holding the four voxels. The kernels compute on planar vectors —
// one exp, max and division serve four voxels, with no shuffle inside the
// arithmetic — and these in-register transposes convert at the edges.
// Every shuffle below is of a form V8 emits as one unpck or shufps.

/**
 * Class k's planar vector of the channels-last group (C ≤ 4) whose 4·C floats
 * are the vectors a, b, c, d (those past the C-th are ignored).
 */
// @ts-ignore: decorator
@inline export function classOf(a: v128, b: v128, c: v128, d: v128, C: i32, k: i32): v128 {
  if (C == 1) return a;
  if (C == 2) {
    // a = v0c0 v0c1 v1c0 v1c1, b = v2c0 v2c1 v3c0 v3c1
    return k == 0 ? v128.shuffle<f32>(a, b, 0, 2, 4, 6) : v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  }
  if (C == 3) {
    // a = v0c0 v0c1 v0c2 v1c0, b = v1c1 v1c2 v2c0 v2c1, c = v2c2 v3c0 v3c1 v3c2
    if (k == 0) return v128.shuffle<f32>(a, v128.shuffle<f32>(b, c, 2, 2, 5, 5), 0, 3, 4, 6); // a0 a3 b2 c1
    if (k == 1) return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 1, 1, 4, 4), v128.shuffle<f32>(b, c, 3, 3, 6, 6), 0, 2, 4, 6); // a1 b0 b3 c2
    return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 2, 5, 5), c, 0, 2, 4, 7); // a2 b1 c0 c3
  }
  // 4×4 transpose; the shared half-steps are computed once by the engine
  const ab = k < 2 ? v128.shuffle<f32>(a, b, 0, 4, 1, 5) : v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const cd = k < 2 ? v128.shuffle<f32>(c, d, 0, 4, 1, 5) : v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  return (k & 1) == 0 ? v128.shuffle<f32>(ab, cd, 0, 1, 4, 5) : v128.shuffle<f32>(ab, cd, 2, 3, 6, 7);
}

/** The inverse of classOf: the channels-last group of the planar vectors x0…x(C−1) (C ≤ 4), stored at `dst`. */
// @ts-ignore: decorator
@inline export function storeChannelsLast(x0: v128, x1: v128, x2: v128, x3: v128, C: i32, dst: usize): void {
  if (C == 1) v128.store(dst, x0);
  else if (C == 2) {
    v128.store(dst, v128.shuffle<f32>(x0, x1, 0, 4, 1, 5));
    v128.store(dst, v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), 16);
  } else if (C == 3) {
    // x0 y0 z0 x1 | y1 z1 x2 y2 | z2 x3 y3 z3
    v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(x0, x1, 0, 0, 4, 4), v128.shuffle<f32>(x2, x0, 0, 0, 5, 5), 0, 2, 4, 6));
    v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(x1, x2, 1, 1, 5, 5), v128.shuffle<f32>(x0, x1, 2, 2, 6, 6), 0, 2, 4, 6), 16);
    v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(x2, x0, 2, 2, 7, 7), v128.shuffle<f32>(x1, x2, 3, 3, 7, 7), 0, 2, 4, 6), 32);
  } else {
    const a = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
    const b = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
    const c = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
    const d = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
    v128.store(dst, v128.shuffle<f32>(a, c, 0, 1, 4, 5));
    v128.store(dst, v128.shuffle<f32>(a, c, 2, 3, 6, 7), 16);
    v128.store(dst, v128.shuffle<f32>(b, d, 0, 1, 4, 5), 32);
    v128.store(dst, v128.shuffle<f32>(b, d, 2, 3, 6, 7), 48);
  }
}

/** The C planar vectors of the channels-last group at `src`, stored at `dst` (16 bytes apart); any C. */
// @ts-ignore: decorator
@inline export function toPlanar(src: usize, C: i32, dst: usize): void {
  if (!ASC_FEATURE_SIMD) return; // the scalar build's groups are single voxels: nothing to transpose
  if (C <= 4) {
    const a = v128.load(src);
    const b = C > 1 ? v128.load(src, 16) : a;
    const c = C > 2 ? v128.load(src, 32) : a;
    const d = C > 3 ? v128.load(src, 48) : a;
    v128.store(dst, classOf(a, b, c, d, C, 0));
    if (C > 1) v128.store(dst, classOf(a, b, c, d, C, 1), 16);
    if (C > 2) v128.store(dst, classOf(a, b, c, d, C, 2), 32);
    if (C > 3) v128.store(dst, classOf(a, b, c, d, C, 3), 48);
  } else if ((C & 3) == 0) {
    // four classes at a time: voxel j's classes k..k+3 are one f32x4
    const vs = <usize>C << 2;
    for (let k = 0; k < C; k += 4) {
      const s = src + (<usize>k << 2);
      const a = v128.load(s);
      const b = v128.load(s + vs);
      const c = v128.load(s + 2 * vs);
      const d = v128.load(s + 3 * vs);
      const o = dst + (<usize>k << 4);
      v128.store(o, classOf(a, b, c, d, 4, 0));
      v128.store(o, classOf(a, b, c, d, 4, 1), 16);
      v128.store(o, classOf(a, b, c, d, 4, 2), 32);
      v128.store(o, classOf(a, b, c, d, 4, 3), 48);
    }
  } else {
    const vs = <usize>C << 2;
    for (let k = 0; k < C; k++) {
      const s = src + (<usize>k << 2);
      let v = v128.load32_zero(s);
      v = v128.load32_lane(s + vs, v, 1);
      v = v128.load32_lane(s + 2 * vs, v, 2);
      v128.store(dst + (<usize>k << 4), v128.load32_lane(s + 3 * vs, v, 3));
    }
  }
}

/** The inverse of toPlanar: C planar vectors at `src` to the channels-last group at `dst`; any C. */
// @ts-ignore: decorator
@inline export function toChannelsLast(src: usize, C: i32, dst: usize): void {
  if (!ASC_FEATURE_SIMD) return;
  if (C <= 4) {
    const x0 = v128.load(src);
    storeChannelsLast(
      x0, C > 1 ? v128.load(src, 16) : x0, C > 2 ? v128.load(src, 32) : x0, C > 3 ? v128.load(src, 48) : x0, C, dst,
    );
  } else if ((C & 3) == 0) {
    const vs = <usize>C << 2;
    for (let k = 0; k < C; k += 4) {
      // four voxels' classes k..k+3: the 4×4 transpose is its own inverse
      const s = src + (<usize>k << 4);
      const a = v128.load(s);
      const b = v128.load(s, 16);
      const c = v128.load(s, 32);
      const d = v128.load(s, 48);
      const o = dst + (<usize>k << 2);
      v128.store(o, classOf(a, b, c, d, 4, 0));
      v128.store(o + vs, classOf(a, b, c, d, 4, 1));
      v128.store(o + 2 * vs, classOf(a, b, c, d, 4, 2));
      v128.store(o + 3 * vs, classOf(a, b, c, d, 4, 3));
    }
  } else {
    const vs = <usize>C << 2;
    for (let k = 0; k < C; k++) {
      const d = dst + (<usize>k << 2);
      const v = v128.load(src + (<usize>k << 4));
      v128.store32_lane(d, v, 0);
      v128.store32_lane(d + vs, v, 1);
      v128.store32_lane(d + 2 * vs, v, 2);
      v128.store32_lane(d + 3 * vs, v, 3);
    }
  }
}
