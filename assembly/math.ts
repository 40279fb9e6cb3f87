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
// ln 2 split as for exp, so that k·LN2_HI is exact for |k| ≤ 128.
const LN2_HI_LOG: f32 = 0.693145752; // 0x3f317200
const LN2_LO_LOG: f32 = 1.42860677e-6; // 0x35bfbe8e
// ln(1 + f) = 2·atanh(s), s = f/(2 + f): fdlibm's minimax coefficients for
// R(z) ≈ 2·atanh(s)/s − 2 in z = s², |s| ≤ 0.172.
const LG1: f32 = 0.666666627; // 0xaaaaaa.0p-24
const LG2: f32 = 0.400009722; // 0xccce13.0p-25
const LG3: f32 = 0.284987867; // 0x91e9ee.0p-25
const LG4: f32 = 0.242790788; // 0xf89e26.0p-26

/**
 * ln u for normal u > 0; with `correct`, ln(1 + y) where u = 1 + y rounded.
 * u = 2^k·m with m in [√½, √2), f = m − 1 (exact),
 * ln(1 + f) = f − (f²/2 − s·(f²/2 + R(s²))), s = f/(2 + f), as fdlibm's logf;
 * the rounding of u is added back as c/u with c = y − (u − 1), which is exact
 * (u − 1 is, for 1 ≤ u < 2^24, and c is the rounding error of a sum). About 1 ulp.
 */
// @ts-ignore: decorator
@inline function lnOf<V>(u: V, y: V, correct: bool): V {
  let k: V;
  let m: V;
  if (isVector<V>()) {
    // @ts-ignore: V is v128 here
    const bits = <v128>u;
    let mv = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
    let kv = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127)));
    // m ≥ √2: halve it, count one more in the exponent
    const big = f32x4.ge(mv, f32x4.splat(SQRT2));
    mv = v128.bitselect(f32x4.mul(mv, f32x4.splat(0.5)), mv, big);
    kv = f32x4.add(kv, v128.and(big, f32x4.splat(1)));
    // @ts-ignore: V is v128 here
    m = <V>mv;
    // @ts-ignore: V is v128 here
    k = <V>kv;
  } else {
    // @ts-ignore: V is f32 here
    const bits = reinterpret<i32>(<f32>u);
    let mf = reinterpret<f32>((bits & 0x007fffff) | 0x3f800000);
    let kf = <f32>((bits >>> 23) - 127);
    if (mf >= SQRT2) {
      mf *= 0.5;
      kf += 1;
    }
    // @ts-ignore: V is f32 here
    m = <V>mf;
    // @ts-ignore: V is f32 here
    k = <V>kf;
  }
  const f = sub<V>(m, splat<V>(1));
  const s = div<V>(f, add<V>(splat<V>(2), f));
  const z = mul<V>(s, s);
  const w = mul<V>(z, z);
  // Estrin's split of R: odd powers of w with LG2, LG4 (as fdlibm), even with LG1, LG3
  const R = add<V>(mul<V>(w, add<V>(splat<V>(LG2), mul<V>(w, splat<V>(LG4)))), mul<V>(z, add<V>(splat<V>(LG1), mul<V>(w, splat<V>(LG3)))));
  const hfsq = mul<V>(mul<V>(splat<V>(0.5), f), f);
  let lo = mul<V>(k, splat<V>(LN2_LO_LOG));
  if (correct) lo = add<V>(lo, div<V>(sub<V>(y, sub<V>(u, splat<V>(1))), u));
  return add<V>(mul<V>(k, splat<V>(LN2_HI_LOG)), sub<V>(f, sub<V>(hfsq, add<V>(mul<V>(s, add<V>(hfsq, R)), lo))));
}

/** ln u for normal u > 0, about 1 ulp. */
// @ts-ignore: decorator
@inline export function ln<V>(u: V): V {
  return lnOf<V>(u, u, false);
}

/** ln(1 + y) for y ≥ 0, keeping its digits when y is tiny; about 1 ulp. */
// @ts-ignore: decorator
@inline export function ln1p<V>(y: V): V {
  return lnOf<V>(add<V>(splat<V>(1), y), y, true);
}
