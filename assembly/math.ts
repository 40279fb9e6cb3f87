// exp and ln on lanes, accurate to about one float32 ulp (checked in ulps
// against float64 in test/math.test.ts). No fused multiply-add: WebAssembly
// SIMD has none outside relaxed SIMD.
import { add, div, mul, pmax, splat, sub } from "./lanes";

const LOG2E: f32 = 1.44269504;
// Cody–Waite split of ln 2: LN2_HI has 9 significant bits, so n·LN2_HI is
// exact for |n| ≤ 126 and x − n·LN2_HI loses nothing.
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// 1.5·2^23 + 127. Adding it rounds x·log2e to the nearest integer n (ties to
// even) and leaves n + 127 in the low mantissa bits, so that one shift builds
// 2^n: cheaper than nearest + truncation (V8's saturating truncation is five
// instructions).
const SHIFTER: f32 = 12583039.0;
// Below this e^x is subnormal in float32; arguments are clamped here, so the
// smallest result is 2^-126 ≈ 1.2e-38 instead of a subnormal or garbage bits.
export const EXP_MIN: f32 = -87.33654;

// e^r = 1 + r + r²·(C2 + C3·r + C4·r² + C5·r³ + C6·r⁴) on |r| ≤ ln2/2: the
// minimax polynomial of degree 6 for error in ulps (fitted by linear
// programming); its own error is 0.04 ulp, so rounding dominates. Degree 5 is
// 1.35 ulp before rounding: not ~1 ulp.
const C2: f32 = 0.49999991059303284;
const C3: f32 = 0.1666651964187622;
const C4: f32 = 0.0416690856218338;
const C5: f32 = 0.008368846960365772;
const C6: f32 = 0.0013780406443402171;

/**
 * e^x for x ≤ 0 (softmax subtracts the maximum, sigmoid takes e^-|x|):
 * x = n·ln2 + r, e^r by the polynomial above, 2^n built in the exponent bits.
 * The polynomial is evaluated in Estrin's form: one more multiply than
 * Horner's, but a dependency chain half as long, which is what limits a loop
 * of exps. e^0 is exactly 1. NaN stays NaN; x < -87.34 gives 2^-126.
 */
// @ts-ignore: decorator
@inline export function expNonPositive<V>(x: V): V {
  const xc = pmax<V>(x, splat<V>(EXP_MIN)); // keeps NaN
  const j = add<V>(mul<V>(xc, splat<V>(LOG2E)), splat<V>(SHIFTER));
  const n = sub<V>(j, splat<V>(SHIFTER));
  const r = sub<V>(sub<V>(xc, mul<V>(n, splat<V>(LN2_HI))), mul<V>(n, splat<V>(LN2_LO)));
  const r2 = mul<V>(r, r);
  const r4 = mul<V>(r2, r2);
  const low = add<V>(splat<V>(C2), mul<V>(splat<V>(C3), r));
  const high = add<V>(splat<V>(C4), mul<V>(splat<V>(C5), r));
  const q = add<V>(add<V>(low, mul<V>(r2, high)), mul<V>(r4, splat<V>(C6)));
  const er = add<V>(splat<V>(1), add<V>(r, mul<V>(r2, q)));
  return mul<V>(er, pow2Shifted<V>(j));
}

/** 2^n from j = n + SHIFTER: the low bits of j, moved into the exponent field. */
// @ts-ignore: decorator
@inline function pow2Shifted<V>(j: V): V {
  if (isVector<V>()) {
    // @ts-ignore: V is v128 here
    return <V>i32x4.shl(<v128>j, 23);
  }
  // @ts-ignore: V is f32 here
  return reinterpret<f32>(reinterpret<i32>(<f32>j) << 23) as V;
}

/** −|x|, by setting the sign bit. */
// @ts-ignore: decorator
@inline export function negAbs<V>(x: V): V {
  if (isVector<V>()) {
    // @ts-ignore: V is v128 here
    return <V>v128.or(<v128>x, f32x4.splat(-0.0));
  }
  // @ts-ignore: V is f32 here
  return -Mathf.abs(<f32>x) as V;
}

const SQRT2: f32 = 1.41421356;
const LN2: f32 = 0.693147181;

/**
 * ln u for normal u > 0: u = 2^e·m with m in [√½, √2), and
 * ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, by its odd series to s⁹
 * (truncation < 3e-9 relative). Error about 1 ulp away from u = 1.
 */
// @ts-ignore: decorator
@inline export function ln<V>(u: V): V {
  let e: V;
  let m: V;
  if (isVector<V>()) {
    // @ts-ignore: V is v128 here
    const bits = <v128>u;
    let mv = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
    let ev = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127)));
    // m ≥ √2: halve it, count one more in the exponent
    const big = f32x4.ge(mv, f32x4.splat(SQRT2));
    mv = v128.bitselect(f32x4.mul(mv, f32x4.splat(0.5)), mv, big);
    ev = f32x4.add(ev, v128.and(big, f32x4.splat(1)));
    // @ts-ignore: V is v128 here
    m = <V>mv;
    // @ts-ignore: V is v128 here
    e = <V>ev;
  } else {
    // @ts-ignore: V is f32 here
    const bits = reinterpret<i32>(<f32>u);
    let mf = reinterpret<f32>((bits & 0x007fffff) | 0x3f800000);
    let ef = <f32>((bits >>> 23) - 127);
    if (mf >= SQRT2) {
      mf *= 0.5;
      ef += 1;
    }
    // @ts-ignore: V is f32 here
    m = <V>mf;
    // @ts-ignore: V is f32 here
    e = <V>ef;
  }
  const s = div<V>(sub<V>(m, splat<V>(1)), add<V>(m, splat<V>(1)));
  const s2 = mul<V>(s, s);
  let q = splat<V>(1.0 / 9.0);
  q = add<V>(mul<V>(q, s2), splat<V>(1.0 / 7.0));
  q = add<V>(mul<V>(q, s2), splat<V>(1.0 / 5.0));
  q = add<V>(mul<V>(q, s2), splat<V>(1.0 / 3.0));
  q = add<V>(mul<V>(q, s2), splat<V>(1.0));
  return add<V>(mul<V>(e, splat<V>(LN2)), mul<V>(mul<V>(splat<V>(2), s), q));
}

/**
 * ln(1 + y) for y ≥ 0, keeping its digits when y is tiny: with w = 1 + y
 * rounded, ln w − ((w − 1) − y)/w corrects for the rounding of w.
 */
// @ts-ignore: decorator
@inline export function ln1p<V>(y: V): V {
  const w = add<V>(splat<V>(1), y);
  return sub<V>(ln<V>(w), div<V>(sub<V>(sub<V>(w, splat<V>(1)), y), w));
}
