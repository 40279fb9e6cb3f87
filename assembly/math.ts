// exp and sigmoid on lanes, accurate to about one float32 ulp.
import { abs, add, div, mul, pmax, roundEven, selectLt, splat, sub } from "./lanes";

const LOG2E: f32 = 1.44269504;
// Cody–Waite split of ln 2: LN2_HI has few bits, so n·LN2_HI is exact for |n| ≤ 126.
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// Below this e^x is subnormal in float32; arguments are clamped here, so the
// smallest result is 2^-126 ≈ 1.2e-38 instead of a subnormal or 0: nothing a
// probability, a sum or a gradient in float32 can tell apart.
const EXP_MIN: f32 = -87.33654;

/**
 * e^x for x ≤ 0 (larger x are not used: softmax subtracts the maximum, sigmoid
 * uses e^-|x|). x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial
 * to degree 7 (truncation < 6e-9 relative), 2^n built in the exponent bits.
 * Error about 1 ulp; NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function expNonPositive<V>(x: V): V {
  const xc = pmax<V>(x, splat<V>(EXP_MIN)); // keeps NaN
  const n = roundEven<V>(mul<V>(xc, splat<V>(LOG2E)));
  const r = sub<V>(sub<V>(xc, mul<V>(n, splat<V>(LN2_HI))), mul<V>(n, splat<V>(LN2_LO)));
  let q = splat<V>(1.0 / 5040.0);
  q = add<V>(mul<V>(q, r), splat<V>(1.0 / 720.0));
  q = add<V>(mul<V>(q, r), splat<V>(1.0 / 120.0));
  q = add<V>(mul<V>(q, r), splat<V>(1.0 / 24.0));
  q = add<V>(mul<V>(q, r), splat<V>(1.0 / 6.0));
  q = add<V>(mul<V>(q, r), splat<V>(0.5));
  q = add<V>(mul<V>(q, r), splat<V>(1.0));
  q = add<V>(mul<V>(q, r), splat<V>(1.0));
  return mul<V>(q, pow2<V>(n));
}

/** 2^n for whole n in [-126, 127], by writing the exponent field. */
// @ts-ignore: decorator
@inline function pow2<V>(n: V): V {
  if (isVector<V>()) {
    return i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  }
  // @ts-ignore: V is f32 here
  return reinterpret<f32>((<i32>n + 127) << 23) as V;
}

// Sigmoid from e = e^-|x| and q = 1/(1 + e), so that nothing overflows:
// σ(x) = q for x ≥ 0, e·q for x < 0, and σ'(x) = e·q², which keeps its digits
// where p·(1 − p) has none (p rounds to 1).

/** e^-|x| */
// @ts-ignore: decorator
@inline export function expNegAbs<V>(x: V): V {
  return expNonPositive<V>(sub<V>(splat<V>(0), abs<V>(x)));
}

/** 1 / (1 + e) */
// @ts-ignore: decorator
@inline export function reciprocalOnePlus<V>(e: V): V {
  return div<V>(splat<V>(1), add<V>(splat<V>(1), e));
}

/** σ(x) from e = e^-|x| and q = 1/(1 + e). */
// @ts-ignore: decorator
@inline export function sigmoidOf<V>(x: V, e: V, q: V): V {
  return selectLt<V>(x, splat<V>(0), mul<V>(e, q), q);
}

/** 1 / (1 + e^-x) */
// @ts-ignore: decorator
@inline export function sigmoid<V>(x: V): V {
  const e = expNegAbs<V>(x);
  return sigmoidOf<V>(x, e, reciprocalOnePlus<V>(e));
}

const SQRT2: f32 = 1.41421356;
const LN2: f32 = 0.693147181;
// The smallest normal float32, 2^-126: probabilities are clamped here before a
// log, so −log p is at most 87.34 instead of +∞ (see crossEntropy in stats.ts).
export const P_MIN: f32 = 1.17549435e-38;

/**
 * −ln p for p in [2^-126, 1]: p = 2^e·m with m in [√½, √2), and
 * ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, by its odd series to s⁹
 * (truncation < 3e-9 relative). Error about 1 ulp. Not inlined: it is only
 * used with the cross-entropy, and inlining it into every unrolled stats loop
 * made the build ten times slower for no measurable gain.
 */
export function negLog<V>(p: V): V {
  let e: V;
  let m: V;
  if (isVector<V>()) {
    // @ts-ignore: V is v128 here
    const bits = <v128>p;
    // @ts-ignore: V is v128 here
    m = <V>v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
    // @ts-ignore: V is v128 here
    e = <V>f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127)));
    // m ≥ √2: halve it, count one more in the exponent
    // @ts-ignore: V is v128 here
    const big = f32x4.ge(<v128>m, f32x4.splat(SQRT2));
    // @ts-ignore: V is v128 here
    m = <V>v128.bitselect(f32x4.mul(<v128>m, f32x4.splat(0.5)), <v128>m, big);
    // @ts-ignore: V is v128 here
    e = <V>f32x4.add(<v128>e, v128.and(big, f32x4.splat(1)));
  } else {
    // @ts-ignore: V is f32 here
    const bits = reinterpret<i32>(<f32>p);
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
  const lnm = mul<V>(mul<V>(splat<V>(2), s), q);
  return sub<V>(splat<V>(0), add<V>(mul<V>(e, splat<V>(LN2)), lnm));
}
