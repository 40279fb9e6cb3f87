// The Conv3D and 3D max-pooling kernels, a wasm module of their own (src/tfjs/conv3d/ runs them
// on the tfjs wasm backend's memory). Pointers are byte offsets; `geo` points to
// the geometry (geometry.ts); `nv` is 1 or 2 output channel vectors per block,
// and the host packs weights and pads dy for blocks of nv·lanes channels.
import { filterGrad } from "./filter-grad";
import { Forward, gatherConv, InputGradient, OneVector, TwoVectors } from "./gather";

export { maxPool, maxPoolGrad } from "./max-pool";

/** f32 lanes per vector: 4 in the SIMD build, 1 in the scalar one. */
export const LANES: i32 = ASC_FEATURE_SIMD ? 4 : 1;

/** y = conv3d(x, W), with W packed [block][tap][Ci][lanes] and `zeros` one zero voxel of x. */
export function conv3dForward(x: usize, w: usize, zeros: usize, y: usize, geo: usize, nv: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (nv == 2) gatherConv<v128, TwoVectors, Forward>(x, w, zeros, y, geo);
    else gatherConv<v128, OneVector, Forward>(x, w, zeros, y, geo);
  } else if (nv == 2) gatherConv<f32, TwoVectors, Forward>(x, w, zeros, y, geo);
  else gatherConv<f32, OneVector, Forward>(x, w, zeros, y, geo);
}

/** dx from dy, with W packed transposed [block][tap][Co][lanes] and `zeros` one zero voxel of dy. */
export function conv3dInputGrad(dy: usize, w: usize, zeros: usize, dx: usize, geo: usize, nv: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (nv == 2) gatherConv<v128, TwoVectors, InputGradient>(dy, w, zeros, dx, geo);
    else gatherConv<v128, OneVector, InputGradient>(dy, w, zeros, dx, geo);
  } else if (nv == 2) gatherConv<f32, TwoVectors, InputGradient>(dy, w, zeros, dx, geo);
  else gatherConv<f32, OneVector, InputGradient>(dy, w, zeros, dx, geo);
}

/** dW [taps][Ci][Co] from x and dy, dy with `dyc` floats a voxel (Co padded to a block). */
export function conv3dFilterGrad(x: usize, dy: usize, dyc: i32, dw: usize, geo: usize, nv: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (nv == 2) filterGrad<v128, TwoVectors>(x, dy, dyc, dw, geo);
    else filterGrad<v128, OneVector>(x, dy, dyc, dw, geo);
  } else if (nv == 2) filterGrad<f32, TwoVectors>(x, dy, dyc, dw, geo);
  else filterGrad<f32, OneVector>(x, dy, dyc, dw, geo);
}

export { A_DILATION, A_IN, A_OUT, A_PAD, A_STRIDE, A_TAPS, AXIS_FIELDS, G_AXES, G_BATCH, G_IN_CHANNELS, G_OUT_CHANNELS, GEOMETRY_FIELDS } from "./geometry";
