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

/** 1.0 in the lanes where a == b, else 0.0. */
// @ts-ignore: decorator
@inline export function eq1<V>(a: V, b: V): V {
  if (isVector<V>()) return v128.and(f32x4.eq(a, b), f32x4.splat(1));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a == b);
}

/** 1.0 in the lanes where a != b (true for NaN), else 0.0. */
// @ts-ignore: decorator
@inline export function ne1<V>(a: V, b: V): V {
  if (isVector<V>()) return v128.and(f32x4.ne(a, b), f32x4.splat(1));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a != b);
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
 * 1.0 in the lanes whose label (type T, W of them at `ptr`, bytes) equals `cls`.
 * Integer labels are compared as i32 so that any class id works for any width.
 */
// @ts-ignore: decorator
@inline export function labelIs<V, T>(ptr: usize, cls: i32): V {
  if (isVector<V>()) {
    let eq: v128;
    if (isFloat<T>()) eq = f32x4.eq(v128.load(ptr), f32x4.splat(<f32>cls));
    else if (sizeof<T>() == 1) {
      const l = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(ptr)));
      eq = i32x4.eq(l, i32x4.splat(cls));
    } else if (sizeof<T>() == 2) eq = i32x4.eq(i32x4.extend_low_i16x8_u(v128.load64_zero(ptr)), i32x4.splat(cls));
    else eq = i32x4.eq(v128.load(ptr), i32x4.splat(cls));
    return v128.and(eq, f32x4.splat(1));
  }
  if (isFloat<T>()) return select<f32>(1, 0, load<f32>(ptr) == <f32>cls) as V;
  return select<f32>(1, 0, <i32>load<T>(ptr) == cls) as V;
}
