// Lane-generic arithmetic. Every kernel is written once over a lane type V:
// v128 (four f32 lanes) in the SIMD build, f32 (one lane) in the scalar build
// and in the scalar tail of the SIMD build. `isVector<V>()` is a compile-time
// constant, so each helper folds to a single instruction.

// @ts-ignore: decorator
@inline export function width<V>(): i32 {
  return isVector<V>() ? 4 : 1;
}

// @ts-ignore: decorator
@inline export function splat<V>(x: f32): V {
  if (isVector<V>()) return f32x4.splat(x);
  return x as V;
}

// @ts-ignore: decorator
@inline export function add<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.add(a, b);
  // @ts-ignore: V is f32 here
  return a + b;
}

// @ts-ignore: decorator
@inline export function sub<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.sub(a, b);
  // @ts-ignore: V is f32 here
  return a - b;
}

// @ts-ignore: decorator
@inline export function mul<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.mul(a, b);
  // @ts-ignore: V is f32 here
  return a * b;
}

// @ts-ignore: decorator
@inline export function div<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.div(a, b);
  // @ts-ignore: V is f32 here
  return a / b;
}

/** a < b ? a : b per lane (one instruction; a NaN in b is dropped, one in a kept). */
// @ts-ignore: decorator
@inline export function pmin<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.pmin(b, a);
  // @ts-ignore: V is f32 here
  return select<f32>(a, b, a < b);
}

/** a < b ? b : a per lane (one instruction; a NaN in a is kept, one in b dropped). */
// @ts-ignore: decorator
@inline export function pmax<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.pmax(a, b);
  // @ts-ignore: V is f32 here
  return select<f32>(b, a, a < b);
}

// @ts-ignore: decorator
@inline export function abs<V>(a: V): V {
  if (isVector<V>()) return f32x4.abs(a);
  // @ts-ignore: V is f32 here
  return Mathf.abs(a);
}

// @ts-ignore: decorator
@inline export function roundEven<V>(a: V): V {
  if (isVector<V>()) return f32x4.nearest(a);
  // @ts-ignore: V is f32 here
  return nearest<f32>(a);
}

/** 1.0 in the lanes where a < b, else 0.0. */
// @ts-ignore: decorator
@inline export function lt1<V>(a: V, b: V): V {
  if (isVector<V>()) return v128.and(f32x4.lt(a, b), f32x4.splat(1));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a < b);
}

/** 1.0 in the lanes where a != b (true for NaN), else 0.0. */
// @ts-ignore: decorator
@inline export function ne1<V>(a: V, b: V): V {
  if (isVector<V>()) return v128.and(f32x4.ne(a, b), f32x4.splat(1));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a != b);
}

/** 1.0 in the lanes holding NaN or ±Infinity (x − x is NaN exactly there). */
// @ts-ignore: decorator
@inline export function nonFinite<V>(x: V): V {
  return ne1<V>(sub<V>(x, x), splat<V>(0));
}

/** `ifTrue` in the lanes where a < b, else `ifFalse`. */
// @ts-ignore: decorator
@inline export function selectLt<V>(a: V, b: V, ifTrue: V, ifFalse: V): V {
  if (isVector<V>()) return v128.bitselect(ifTrue, ifFalse, f32x4.lt(a, b));
  // @ts-ignore: V is f32 here
  return select<f32>(ifTrue, ifFalse, a < b);
}

/** Sum of the lanes, in float64. */
// @ts-ignore: decorator
@inline export function hsum<V>(a: V): f64 {
  if (isVector<V>()) {
    return (
      <f64>f32x4.extract_lane(a, 0) +
      <f64>f32x4.extract_lane(a, 1) +
      <f64>f32x4.extract_lane(a, 2) +
      <f64>f32x4.extract_lane(a, 3)
    );
  }
  return <f64>(a as f32);
}

/** Lane j of `a`, widened to float64. */
// @ts-ignore: decorator
@inline export function lane<V>(a: V, j: i32): f64 {
  if (isVector<V>()) {
    // extract_lane needs a constant index
    if (j == 0) return <f64>f32x4.extract_lane(a, 0);
    if (j == 1) return <f64>f32x4.extract_lane(a, 1);
    if (j == 2) return <f64>f32x4.extract_lane(a, 2);
    return <f64>f32x4.extract_lane(a, 3);
  }
  return <f64>(a as f32);
}

/** W consecutive f32 at `ptr` (bytes). */
// @ts-ignore: decorator
@inline export function loadF<V>(ptr: usize): V {
  return load<V>(ptr);
}

/** W f32 with a stride of `stride` elements, starting at `ptr` (bytes). */
// @ts-ignore: decorator
@inline export function gatherF<V>(ptr: usize, stride: usize): V {
  if (isVector<V>()) {
    let v = v128.load32_zero(ptr);
    v = v128.load32_lane(ptr + (stride << 2), v, 1);
    v = v128.load32_lane(ptr + (stride << 3), v, 2);
    return v128.load32_lane(ptr + stride * 12, v, 3);
  }
  return load<V>(ptr);
}

/** W values of one class of W consecutive voxels, `vs` floats apart. */
// @ts-ignore: decorator
@inline export function loadVoxels<V>(ptr: usize, vs: usize, contiguous: bool): V {
  return contiguous ? load<V>(ptr) : gatherF<V>(ptr, vs);
}

/** Stores W values of one class of W consecutive voxels, `vs` floats apart. */
// @ts-ignore: decorator
@inline export function storeVoxels<V>(ptr: usize, vs: usize, v: V, contiguous: bool): void {
  if (contiguous) store<V>(ptr, v);
  else scatterF<V>(ptr, vs, v);
}

/** Stores W f32 with a stride of `stride` elements, starting at `ptr` (bytes). */
// @ts-ignore: decorator
@inline export function scatterF<V>(ptr: usize, stride: usize, v: V): void {
  if (isVector<V>()) {
    v128.store32_lane(ptr, v, 0);
    v128.store32_lane(ptr + (stride << 2), v, 1);
    v128.store32_lane(ptr + (stride << 3), v, 2);
    v128.store32_lane(ptr + stride * 12, v, 3);
  } else {
    store<V>(ptr, v);
  }
}

/**
 * Label masks. In the SIMD build a mask lane is all ones or all zeros (so that
 * selecting is one bitwise op); in the scalar build it is 1.0 or 0.0 (so that
 * selecting is one exact multiply). Use them only through keep, drop and one.
 */
// @ts-ignore: decorator
@inline export function labelMask<V, T>(ptr: usize, cls: i32): V {
  if (isVector<V>()) {
    if (isFloat<T>()) return f32x4.eq(v128.load(ptr), f32x4.splat(<f32>cls));
    if (sizeof<T>() == 1) {
      return i32x4.eq(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(ptr))), i32x4.splat(cls));
    }
    if (sizeof<T>() == 2) return i32x4.eq(i32x4.extend_low_i16x8_u(v128.load64_zero(ptr)), i32x4.splat(cls));
    return i32x4.eq(v128.load(ptr), i32x4.splat(cls));
  }
  if (isFloat<T>()) return select<f32>(1, 0, load<f32>(ptr) == <f32>cls) as V;
  return select<f32>(1, 0, <i32>load<T>(ptr) == cls) as V;
}

/**
 * SIMD only: the mask of one f32x4 of a channels-last volume with C = 4 (one
 * voxel, classes 0–3 in the lanes) or C = 2 (two voxels, classes 0 1 0 1),
 * against the labels at `ptr`.
 */
// @ts-ignore: decorator
@inline export function interleavedMask<T>(ptr: usize, numClasses: i32): v128 {
  if (numClasses == 4) {
    // one label against 0 1 2 3, compared at the label's own width: every
    // byte (or half) of lane c holds c, so a lane is all ones exactly on a match
    if (isFloat<T>()) return f32x4.eq(v128.load32_splat(ptr), f32x4(0, 1, 2, 3));
    if (sizeof<T>() == 1) return i8x16.eq(v128.load8_splat(ptr), i8x16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
    if (sizeof<T>() == 2) return i16x8.eq(v128.load16_splat(ptr), i16x8(0, 0, 1, 1, 2, 2, 3, 3));
    return i32x4.eq(v128.load32_splat(ptr), i32x4(0, 1, 2, 3));
  }
  const pair = i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(labelAt<T>(ptr, 0)), 2, labelAt<T>(ptr, 1)), 3, labelAt<T>(ptr, 1));
  return i32x4.eq(pair, i32x4(0, 1, 0, 1));
}

/** Label k at `ptr` as i32 (a float label that is not whole becomes a non-class). */
// @ts-ignore: decorator
@inline function labelAt<T>(ptr: usize, k: i32): i32 {
  if (isFloat<T>()) {
    const l = load<f32>(ptr + (<usize>k << 2));
    return l == Mathf.floor(l) && l >= 0 && l < 2147483648 ? <i32>l : -1;
  }
  return <i32>load<T>(ptr + <usize>k * sizeof<T>());
}

/** Adds 1 to the count lanes where the mask is set (integer lanes in SIMD: a set mask lane is −1). */
// @ts-ignore: decorator
@inline export function countIn<V>(count: V, m: V): V {
  if (isVector<V>()) return i32x4.sub(count, m);
  // @ts-ignore: V is f32 here
  return count + m;
}

/** Count lane j as float64. */
// @ts-ignore: decorator
@inline export function countLane<V>(count: V, j: i32): f64 {
  if (isVector<V>()) {
    if (j == 0) return <f64>i32x4.extract_lane(count, 0);
    if (j == 1) return <f64>i32x4.extract_lane(count, 1);
    if (j == 2) return <f64>i32x4.extract_lane(count, 2);
    return <f64>i32x4.extract_lane(count, 3);
  }
  return <f64>(count as f32);
}

/** x where the mask is set, else 0. */
// @ts-ignore: decorator
@inline export function keep<V>(x: V, m: V): V {
  if (isVector<V>()) return v128.and(x, m);
  // @ts-ignore: V is f32 here
  return x * m;
}

/** x where the mask is clear, else 0. */
// @ts-ignore: decorator
@inline export function drop<V>(x: V, m: V): V {
  if (isVector<V>()) return v128.andnot(x, m);
  // @ts-ignore: V is f32 here
  return x * (1 - m);
}

/** 1.0 where the mask is set, else 0.0. */
// @ts-ignore: decorator
@inline export function one<V>(m: V): V {
  if (isVector<V>()) return v128.and(m, f32x4.splat(1));
  return m;
}
