// A convolution's geometry as the host writes it: i32 fields at these indices,
// described in the convolution's own terms (x → y), whichever way a kernel
// runs it. src/tfjs/conv3d/geometry.ts mirrors them, checked at instantiation.

export const G_BATCH = 0;
/** channels of x */
export const G_IN_CHANNELS = 1;
/** channels of y */
export const G_OUT_CHANNELS = 2;
/** three axis records (depth, height, width) of AXIS_FIELDS each, from here */
export const G_AXES = 3;
export const AXIS_FIELDS = 6;
/** extent of x */
export const A_IN = 0;
/** extent of y */
export const A_OUT = 1;
/** taps of the filter */
export const A_TAPS = 2;
export const A_STRIDE = 3;
export const A_DILATION = 4;
/** padding before the first x element */
export const A_PAD = 5;
export const GEOMETRY_FIELDS = G_AXES + 3 * AXIS_FIELDS;

/** Field `f` of axis `a`. */
// @ts-ignore: decorator
@inline export function axis(geo: usize, a: i32, f: i32): i32 {
  return load<i32>(geo + (<usize>(G_AXES + a * AXIS_FIELDS + f) << 2));
}

// @ts-ignore: decorator
@inline export function field(geo: usize, f: i32): i32 {
  return load<i32>(geo + (<usize>f << 2));
}

/** ⌊a / b⌋ for b > 0, also for negative a (i32 division truncates toward zero). */
// @ts-ignore: decorator
@inline export function floorDiv(a: i32, b: i32): i32 {
  const q = a / b;
  return q * b > a ? q - 1 : q;
}
