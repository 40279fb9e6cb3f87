// The lane functions of math.ts over whole arrays: what the accuracy tests
// measure in ulps against float64 (test/math.test.ts). n floats from `src` to
// `dst` (bytes), SIMD four at a time where the build has it.
import { expNonPositive, ln, ln1p } from "./math";

const EXP = 0;
const LN = 1;
const LN1P = 2;

// @ts-ignore: decorator
@inline function apply<V>(fn: i32, x: V): V {
  if (fn == EXP) return expNonPositive<V>(x);
  if (fn == LN) return ln<V>(x);
  return ln1p<V>(x);
}

// @ts-ignore: decorator
@inline function over(fn: i32, src: usize, n: i32, dst: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), apply<v128>(fn, v128.load(src + (<usize>i << 2))));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), apply<f32>(fn, load<f32>(src + (<usize>i << 2))));
}

/** e^x for x ≤ 0. */
export function expArray(src: usize, n: i32, dst: usize): void {
  over(EXP, src, n, dst);
}

/** ln x for normal x > 0. */
export function lnArray(src: usize, n: i32, dst: usize): void {
  over(LN, src, n, dst);
}

/** ln(1 + x) for x ≥ 0. */
export function ln1pArray(src: usize, n: i32, dst: usize): void {
  over(LN1P, src, n, dst);
}
