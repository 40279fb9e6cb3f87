// 3D max pooling and its gradient over NDHWC tensors, with tfjs's semantics:
// NaN never wins (a window of NaN gives −∞, and no gradient), and the gradient
// goes to the last maximum of each window in scan order. Channels are
// contiguous, so each tap is one vector load for LANES channels.
import { A_DILATION, A_IN, A_OUT, A_PAD, A_STRIDE, A_TAPS, axis, field, floorDiv, G_BATCH, G_IN_CHANNELS } from "./geometry";

const NEG_INF: f32 = -Infinity;

// The current output voxel's window on each axis (d, h, w): the x index of tap
// 0, the dilation, and the in-bounds taps [t0, t1). Plain globals: this module
// runs on a memory it does not own, so it allocates nothing and has no data.
let startD = 0, dilD = 1, t0D = 0, t1D = 0;
let startH = 0, dilH = 1, t0H = 0, t1H = 0;
let startW = 0, dilW = 1, t0W = 0, t1W = 0;

/** First in-bounds tap: the least t ≥ 0 with start + t·d ≥ 0. */
// @ts-ignore: decorator
@inline function firstTap(start: i32, d: i32): i32 {
  return max(0, -floorDiv(start, d));
}

/** One past the last in-bounds tap: the least t with start + t·d ≥ extent, at most taps. */
// @ts-ignore: decorator
@inline function endTap(start: i32, d: i32, extent: i32, taps: i32): i32 {
  return min(taps, -floorDiv(start - extent, d));
}

/**
 * Runs poolVoxel (or, `grad`, unpoolVoxel) for every output voxel with the
 * windows set. A flag, not a function reference: those would need a data
 * segment, which would overwrite the memory's owner's bytes.
 */
// @ts-ignore: decorator
@inline function eachOutput(geo: usize, grad: bool): void {
  const ID = axis(geo, 0, A_IN);
  const IH = axis(geo, 1, A_IN);
  const IW = axis(geo, 2, A_IN);
  dilD = axis(geo, 0, A_DILATION);
  dilH = axis(geo, 1, A_DILATION);
  dilW = axis(geo, 2, A_DILATION);
  let out = 0;
  for (let b = 0; b < field(geo, G_BATCH); b++) {
    const x0 = b * ID * IH * IW;
    for (let od = 0; od < axis(geo, 0, A_OUT); od++) {
      startD = od * axis(geo, 0, A_STRIDE) - axis(geo, 0, A_PAD);
      t0D = firstTap(startD, dilD);
      t1D = endTap(startD, dilD, ID, axis(geo, 0, A_TAPS));
      for (let oh = 0; oh < axis(geo, 1, A_OUT); oh++) {
        startH = oh * axis(geo, 1, A_STRIDE) - axis(geo, 1, A_PAD);
        t0H = firstTap(startH, dilH);
        t1H = endTap(startH, dilH, IH, axis(geo, 1, A_TAPS));
        for (let ow = 0; ow < axis(geo, 2, A_OUT); ow++, out++) {
          startW = ow * axis(geo, 2, A_STRIDE) - axis(geo, 2, A_PAD);
          t0W = firstTap(startW, dilW);
          t1W = endTap(startW, dilW, IW, axis(geo, 2, A_TAPS));
          if (grad) unpoolVoxel(out, x0, geo);
          else poolVoxel(out, x0, geo);
        }
      }
    }
  }
}

/** Byte offset of channel c of tap (td, th, tw)'s x voxel, in the batch item starting at voxel x0. */
// @ts-ignore: decorator
@inline function tapOffset(geo: usize, x0: i32, td: i32, th: i32, tw: i32, c: i32): usize {
  const id = startD + td * dilD;
  const ih = startH + th * dilH;
  const iw = startW + tw * dilW;
  const v = x0 + (id * axis(geo, 1, A_IN) + ih) * axis(geo, 2, A_IN) + iw;
  return <usize>(v * field(geo, G_IN_CHANNELS) + c) << 2;
}

// the operands of the running call (byte offsets)
let xBase: usize = 0;
let yBase: usize = 0;
let dyBase: usize = 0;
let dxBase: usize = 0;

/** y at output voxel `out` of the batch item starting at x voxel x0. */
function poolVoxel(out: i32, x0: i32, geo: usize): void {
  const C = field(geo, G_IN_CHANNELS);
  const y = yBase + (<usize>(out * C) << 2);
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= C; c += 4) {
      let acc = f32x4.splat(NEG_INF);
      for (let td = t0D; td < t1D; td++) {
        for (let th = t0H; th < t1H; th++) {
          for (let tw = t0W; tw < t1W; tw++) {
            const v = v128.load(xBase + tapOffset(geo, x0, td, th, tw, c));
            acc = f32x4.pmax(acc, v); // acc < v ? v : acc — a NaN v is skipped
          }
        }
      }
      v128.store(y + (<usize>c << 2), acc);
    }
  }
  for (; c < C; c++) {
    let acc = NEG_INF;
    for (let td = t0D; td < t1D; td++) {
      for (let th = t0H; th < t1H; th++) {
        for (let tw = t0W; tw < t1W; tw++) {
          const v = load<f32>(xBase + tapOffset(geo, x0, td, th, tw, c));
          if (v > acc) acc = v;
        }
      }
    }
    store<f32>(y + (<usize>c << 2), acc);
  }
}

/** dy at output voxel `out` added to dx at each channel's window maximum. */
function unpoolVoxel(out: i32, x0: i32, geo: usize): void {
  const C = field(geo, G_IN_CHANNELS);
  const dy = dyBase + (<usize>(out * C) << 2);
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= C; c += 4) {
      let best = f32x4.splat(NEG_INF);
      // byte offset of each lane's maximum in x, −1 for none; an i32 suffices: x and dx,
      // of one size, share a memory of at most 4 GiB, so x lies below 2 GiB
      let at = i32x4.splat(-1);
      for (let td = t0D; td < t1D; td++) {
        for (let th = t0H; th < t1H; th++) {
          for (let tw = t0W; tw < t1W; tw++) {
            const offset = tapOffset(geo, x0, td, th, tw, c);
            const v = v128.load(xBase + offset);
            const wins = f32x4.ge(v, best); // the last maximum wins; NaN never
            best = v128.bitselect(v, best, wins);
            at = v128.bitselect(i32x4.splat(<i32>offset), at, wins);
          }
        }
      }
      const g = v128.load(dy + (<usize>c << 2));
      scatter(i32x4.extract_lane(at, 0), f32x4.extract_lane(g, 0), 0);
      scatter(i32x4.extract_lane(at, 1), f32x4.extract_lane(g, 1), 4);
      scatter(i32x4.extract_lane(at, 2), f32x4.extract_lane(g, 2), 8);
      scatter(i32x4.extract_lane(at, 3), f32x4.extract_lane(g, 3), 12);
    }
  }
  for (; c < C; c++) {
    let best = NEG_INF;
    let at = -1;
    for (let td = t0D; td < t1D; td++) {
      for (let th = t0H; th < t1H; th++) {
        for (let tw = t0W; tw < t1W; tw++) {
          const offset = tapOffset(geo, x0, td, th, tw, c);
          const v = load<f32>(xBase + offset);
          if (v >= best) {
            best = v;
            at = <i32>offset;
          }
        }
      }
    }
    scatter(at, load<f32>(dy + (<usize>c << 2)), 0);
  }
}

/** dx at byte offset `at` (its lane's own, past `lane` bytes) += g, unless the window had no maximum. */
// @ts-ignore: decorator
@inline function scatter(at: i32, g: f32, lane: i32): void {
  if (at < 0) return;
  const p = dxBase + <usize>(at + lane);
  store<f32>(p, load<f32>(p) + g);
}

/** y = max over each window of x, per channel. */
export function maxPool(x: usize, y: usize, geo: usize): void {
  xBase = x;
  yBase = y;
  eachOutput(geo, false);
}

/** dx (zeroed here) of max pooling x, from dy. */
export function maxPoolGrad(dy: usize, x: usize, dx: usize, geo: usize): void {
  const C = field(geo, G_IN_CHANNELS);
  const voxels = field(geo, G_BATCH) * axis(geo, 0, A_IN) * axis(geo, 1, A_IN) * axis(geo, 2, A_IN);
  // a loop, not memory.fill: the scalar build stays within the MVP, as tfjs-wasm's plain build does
  const end = dx + (<usize>(voxels * C) << 2);
  for (let p = dx; p < end; p += 4) store<f32>(p, 0);
  xBase = x;
  dyBase = dy;
  dxBase = dx;
  eachOutput(geo, true);
}
