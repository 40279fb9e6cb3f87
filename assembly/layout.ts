// Channels-last groups ↔ class-planar vectors (SIMD build). A group is four
// consecutive voxels: in channels-last order its 4·C floats are voxel by voxel
// (v0c0 v0c1 … v1c0 …); in planar order they are class by class, one f32x4
// per class holding the four voxels. The kernels compute on planar vectors —
// one exp, max and division serve four voxels, with no shuffle inside the
// arithmetic — and these in-register transposes convert at the edges.
// Every shuffle below is of a form V8 emits as one unpck or shufps.

/** The C planar vectors of the channels-last group at `src`, stored at `dst` (16 bytes apart). */
// @ts-ignore: decorator
@inline export function toPlanar(src: usize, C: i32, dst: usize): void {
  if (!ASC_FEATURE_SIMD) return; // the scalar build's groups are single voxels: nothing to transpose
  if (C == 1) v128.store(dst, v128.load(src));
  else if (C == 2) planar2(src, dst);
  else if (C == 3) planar3(src, dst);
  else if (C == 4) transpose4(src, <usize>16, dst, <usize>16);
  else if ((C & 3) == 0) {
    // four classes at a time: voxel j's classes c..c+3 are one f32x4
    for (let c = 0; c < C; c += 4) transpose4(src + (<usize>c << 2), <usize>C << 2, dst + (<usize>c << 4), 16);
  } else {
    const vs = <usize>C << 2;
    for (let c = 0; c < C; c++) {
      const s = src + (<usize>c << 2);
      let v = v128.load32_zero(s);
      v = v128.load32_lane(s + vs, v, 1);
      v = v128.load32_lane(s + 2 * vs, v, 2);
      v128.store(dst + (<usize>c << 4), v128.load32_lane(s + 3 * vs, v, 3));
    }
  }
}

/** The inverse of toPlanar: C planar vectors at `src` to the channels-last group at `dst`. */
// @ts-ignore: decorator
@inline export function toChannelsLast(src: usize, C: i32, dst: usize): void {
  if (!ASC_FEATURE_SIMD) return;
  if (C == 1) v128.store(dst, v128.load(src));
  else if (C == 2) channelsLast2(src, dst);
  else if (C == 3) channelsLast3(src, dst);
  else if (C == 4) transpose4(src, <usize>16, dst, <usize>16);
  else if ((C & 3) == 0) {
    for (let c = 0; c < C; c += 4) transpose4(src + (<usize>c << 4), 16, dst + (<usize>c << 2), <usize>C << 2);
  } else {
    const vs = <usize>C << 2;
    for (let c = 0; c < C; c++) {
      const d = dst + (<usize>c << 2);
      const v = v128.load(src + (<usize>c << 4));
      v128.store32_lane(d, v, 0);
      v128.store32_lane(d + vs, v, 1);
      v128.store32_lane(d + 2 * vs, v, 2);
      v128.store32_lane(d + 3 * vs, v, 3);
    }
  }
}

/** 4×4 transpose: rows at src + k·ss (bytes) to rows at dst + k·ds. */
// @ts-ignore: decorator
@inline function transpose4(src: usize, ss: usize, dst: usize, ds: usize): void {
  const a = v128.load(src);
  const b = v128.load(src + ss);
  const c = v128.load(src + 2 * ss);
  const d = v128.load(src + 3 * ss);
  const ab0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const ab1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const cd0 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const cd1 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5));
  v128.store(dst + ds, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7));
  v128.store(dst + 2 * ds, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5));
  v128.store(dst + 3 * ds, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function planar2(src: usize, dst: usize): void {
  // a = v0c0 v0c1 v1c0 v1c1, b = v2c0 v2c1 v3c0 v3c1
  const a = v128.load(src);
  const b = v128.load(src, 16);
  v128.store(dst, v128.shuffle<f32>(a, b, 0, 2, 4, 6));
  v128.store(dst, v128.shuffle<f32>(a, b, 1, 3, 5, 7), 16);
}

// @ts-ignore: decorator
@inline function channelsLast2(src: usize, dst: usize): void {
  const x = v128.load(src);
  const y = v128.load(src, 16);
  v128.store(dst, v128.shuffle<f32>(x, y, 0, 4, 1, 5));
  v128.store(dst, v128.shuffle<f32>(x, y, 2, 6, 3, 7), 16);
}

// @ts-ignore: decorator
@inline function planar3(src: usize, dst: usize): void {
  // a = v0c0 v0c1 v0c2 v1c0, b = v1c1 v1c2 v2c0 v2c1, c = v2c2 v3c0 v3c1 v3c2
  const a = v128.load(src);
  const b = v128.load(src, 16);
  const c = v128.load(src, 32);
  // class 0: a0 a3 b2 c1
  v128.store(dst, v128.shuffle<f32>(a, v128.shuffle<f32>(b, c, 2, 2, 5, 5), 0, 3, 4, 6));
  // class 1: a1 b0 b3 c2
  v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(a, b, 1, 1, 4, 4), v128.shuffle<f32>(b, c, 3, 3, 6, 6), 0, 2, 4, 6), 16);
  // class 2: a2 b1 c0 c3
  v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 2, 5, 5), c, 0, 2, 4, 7), 32);
}

// @ts-ignore: decorator
@inline function channelsLast3(src: usize, dst: usize): void {
  // classes x, y, z → x0 y0 z0 x1 | y1 z1 x2 y2 | z2 x3 y3 z3
  const x = v128.load(src);
  const y = v128.load(src, 16);
  const z = v128.load(src, 32);
  v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(x, y, 0, 0, 4, 4), v128.shuffle<f32>(z, x, 0, 0, 5, 5), 0, 2, 4, 6));
  v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(y, z, 1, 1, 5, 5), v128.shuffle<f32>(x, y, 2, 2, 6, 6), 0, 2, 4, 6), 16);
  v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(z, x, 2, 2, 7, 7), v128.shuffle<f32>(y, z, 3, 3, 7, 7), 0, 2, 4, 6), 32);
}
