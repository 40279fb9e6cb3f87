// Lane-generic arithmetic. Every kernel is written once over a lane type V:
// v128 (four f32 lanes) in the SIMD build, f32 (one lane) in the scalar build
// and in the scalar tail of the SIMD build. `isVector<V>()` is a compile-time
// constant, so each helper folds to a single instruction (or a few).

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

/** a < b ? a : b per lane (one instruction; a NaN in a is dropped, one in b kept). */
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

/** One float at `ptr` in every lane (a kernel coefficient). */
// @ts-ignore: decorator
@inline export function loadSplat<V>(ptr: usize): V {
  if (isVector<V>()) return v128.load32_splat(ptr);
  return load<V>(ptr);
}

// Masks. In the SIMD build a mask lane is all ones or all zeros (so that
// selecting is one bitwise op); in the scalar build it is 1.0 or 0.0 (so that
// selecting is one exact multiply). Use them only through the helpers below.

/** The mask of a > b. */
// @ts-ignore: decorator
@inline export function gtMask<V>(a: V, b: V): V {
  if (isVector<V>()) return f32x4.gt(a, b);
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a > b) as V;
}

/** The mask of the lanes whose label at `ptr` (W labels of type T) equals `cls`. */
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
 * W labels of type T at `ptr` as i32 lanes (SIMD) or one float (scalar), for
 * comparing with several classes; a float label that is not a whole number
 * matches no class (SIMD: it becomes −1; scalar: it stays fractional).
 */
// @ts-ignore: decorator
@inline export function labelsAt<V, T>(ptr: usize): V {
  if (isVector<V>()) {
    if (isFloat<T>()) {
      const l = v128.load(ptr);
      const whole = f32x4.eq(l, f32x4.floor(l));
      return v128.bitselect(i32x4.trunc_sat_f32x4_s(l), i32x4.splat(-1), whole);
    }
    if (sizeof<T>() == 1) return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(ptr)));
    if (sizeof<T>() == 2) return i32x4.extend_low_i16x8_u(v128.load64_zero(ptr));
    return v128.load(ptr);
  }
  if (isFloat<T>()) return load<f32>(ptr) as V;
  return <f32>load<T>(ptr) as V;
}

/** The mask of the lanes of `labels` (from labelsAt) equal to `cls`. */
// @ts-ignore: decorator
@inline export function classMask<V>(labels: V, cls: i32): V {
  if (isVector<V>()) return i32x4.eq(labels, i32x4.splat(cls));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, labels == <f32>cls) as V;
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

/** a where the mask is set, else b. */
// @ts-ignore: decorator
@inline export function choose<V>(m: V, a: V, b: V): V {
  if (isVector<V>()) return v128.bitselect(a, b, m);
  // @ts-ignore: V is f32 here
  return select<f32>(a, b, m != 0);
}

/** The mask of the lanes whose sign bit is set (x < 0, and −0). */
// @ts-ignore: decorator
@inline export function signMask<V>(x: V): V {
  if (isVector<V>()) return i32x4.shr_s(x, 31);
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, (reinterpret<i32>(<f32>x) >> 31) != 0) as V;
}

/** x where the mask is set, −x where it is clear (for x ≥ 0: sets the sign bit). */
// @ts-ignore: decorator
@inline export function negateUnless<V>(x: V, m: V): V {
  if (isVector<V>()) return v128.or(x, v128.andnot(f32x4.splat(-0.0), m));
  // @ts-ignore: V is f32 here
  return select<f32>(<f32>x, -(<f32>x), m != 0) as V;
}

/** 1.0 where the mask is set, else 0.0. */
// @ts-ignore: decorator
@inline export function one<V>(m: V): V {
  if (isVector<V>()) return v128.and(m, f32x4.splat(1));
  return m;
}

/** 1.0 in the lanes where a < b, else 0.0. */
// @ts-ignore: decorator
@inline export function lt1<V>(a: V, b: V): V {
  if (isVector<V>()) return v128.and(f32x4.lt(a, b), f32x4.splat(1));
  // @ts-ignore: V is f32 here
  return select<f32>(1, 0, a < b);
}
