// The two passes over the volume, streamed through fixed-size buffers in wasm
// memory: arrays already in wasm memory are read (and written) where they lie,
// other arrays are copied in chunks of whole voxels. Memory use is bounded by
// the chunk size, whatever the volume size.
import { ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX, type LabelDtype, type Problem, type Source } from "./options.js";
import {
  type BackwardKernel,
  type InterleavedBackwardKernel,
  type Kernels,
  reserveWorkspace,
  runtime,
  type StatsKernel,
} from "./runtime.js";
import { COEFS, STATS, workspaceLayout } from "./workspace.js";

/** How a Stream hands chunks to the kernels. */
type Shape =
  /** probabilities and mask targets as class planes (activating and deinterleaving as needed) */
  | "planes"
  /** channels-last data as it lies, probabilities in the same layout (see readsInterleaved) */
  | "interleaved"
  /** the input and targets as they lie: the backward kernels do their own activation */
  | "raw";

/** Per (batch item, class) sums, float64, row-major [B][C]. */
export interface RawStats {
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  se: Float64Array;
  /** voxels labelled with each class (label maps), else all 0 */
  count: Float64Array;
  /** Σ g·(−ln p), when the problem asks for the cross-entropy, else all 0 */
  ce: Float64Array;
  /** non-finite values the activation kernel saw in the prediction */
  nonFinite: number;
}

const SUFFIX = { uint8: "U8", uint16: "U16", int32: "I32", float32: "F32" } as const;

/** The kernels specialised for one label type. */
function labelKernels(k: Kernels, dtype: LabelDtype) {
  const s = SUFFIX[dtype];
  return {
    stats: k[`statsLabel${s}`] as StatsKernel,
    interleaved: k[`statsInterleaved${s}`] as StatsKernel,
    backward: k[`backwardLabel${s}`] as BackwardKernel,
    backwardInterleaved: k[`backwardInterleaved${s}`] as InterleavedBackwardKernel,
  };
}

/**
 * Channels-last data with 2 or 4 classes is read as it lies: an f32x4 then holds
 * whole voxels, lane j class j mod C, so no class planes need to be made and
 * softmax is a few shuffles (SIMD build only: the scalar build has one lane).
 */
function readsInterleaved(problem: Problem, lanes: number): boolean {
  const { C, layout } = problem;
  return lanes === 4 && layout === "channels-last" && (C === 2 || C === 4);
}

/** A chunk of voxels [v0, v0 + nv) of batch item b, located in wasm memory. */
interface Chunk {
  b: number;
  v0: number;
  nv: number;
  /** prediction: pointer, voxel stride, class stride (floats) */
  x: number;
  vs: number;
  cs: number;
  /** probabilities as class planes: pointer, plane stride */
  p: number;
  ps: number;
  /** target: class planes (mask) or labels */
  t: number;
  ts: number;
}

/** The chunk buffers of one call, laid out in the runtime's workspace. */
class Stream {
  readonly kernels: Kernels;
  readonly V: number;
  private readonly x: number;
  private readonly t: number;
  private readonly pbuf: number;
  private readonly tp: number;
  readonly dx: number;
  readonly out: number;
  readonly coef: number;
  readonly tmp: number;
  /** All of wasm memory; no allocation happens while a Stream lives, so this view stays attached. */
  readonly heapF32: Float32Array;
  /** Element (voxel, class) at voxel·C + class in each batch item (channels-last, or a single class). */
  private readonly channelsLast: boolean;
  /** the target chunk buffer as the label map's type, made on first use */
  private labelBuffer: Uint8Array | Uint16Array | Int32Array | Float32Array | undefined;
  nonFinite = 0;

  constructor(
    readonly problem: Problem,
    readonly shape: Shape,
  ) {
    const { kernels, lanes } = runtime();
    this.kernels = kernels;
    const layout = workspaceLayout(problem.C, lanes);
    const base = reserveWorkspace(layout.bytes);
    this.V = layout.voxels;
    [this.x, this.t, this.pbuf, this.tp, this.dx] = [0, 1, 2, 3, 4].map((i) => base + i * layout.buffer) as [
      number,
      number,
      number,
      number,
      number,
    ];
    this.out = base + layout.out;
    this.coef = base + layout.coef;
    this.tmp = base + layout.tmp;
    this.heapF32 = new Float32Array(runtime().heap.memory.buffer);
    this.channelsLast = problem.layout === "channels-last" || problem.C === 1;
  }

  /** Index of element (voxel v0, class 0) of batch item b in an array of the prediction's shape. */
  private start(b: number, v0: number): number {
    const { C, S } = this.problem;
    return this.channelsLast ? (b * S + v0) * C : b * C * S + v0;
  }

  /**
   * Where a chunk of an array of the prediction's shape lies in wasm memory:
   * [pointer, voxel stride, class stride] in place, or in chunk buffer `buf`.
   */
  place(source: Source<Float32Array>, b: number, v0: number, buf: number): [number, number, number] {
    const { C, S } = this.problem;
    const vs = this.channelsLast ? C : 1;
    if (source.ptr !== undefined) return [source.ptr + this.start(b, v0) * 4, vs, this.channelsLast ? 1 : S];
    return [buf, vs, this.channelsLast ? 1 : this.V];
  }

  /** Float data of one chunk in the prediction's layout: in place, or copied into `buf`. */
  private locate(
    source: Source<Float32Array>,
    b: number,
    v0: number,
    nv: number,
    buf: number,
  ): [number, number, number] {
    const placed = this.place(source, b, v0, buf);
    if (source.ptr === undefined) this.copy(source.array, buf, b, v0, nv, true);
    return placed;
  }

  /**
   * Copies chunk (b, v0, nv) between `array` (the prediction's shape) and the
   * chunk buffer at `buf` (laid out as `place` says): into the buffer, or back out.
   */
  copy(array: Float32Array, buf: number, b: number, v0: number, nv: number, inward: boolean): void {
    const { C, S } = this.problem;
    const at = this.start(b, v0);
    const runs = this.channelsLast ? 1 : C;
    const length = this.channelsLast ? nv * C : nv;
    for (let c = 0; c < runs; c++) {
      const outside = at + c * S;
      const inside = (buf >> 2) + c * this.V;
      if (inward) this.heapF32.set(array.subarray(outside, outside + length), inside);
      else array.set(this.heapF32.subarray(inside, inside + length), outside);
    }
  }

  /** Probabilities of an interleaved chunk into `pbuf`, in the same layout; returns non-finite inputs seen. */
  private activateInterleaved(x: number, nv: number): number {
    const { C, act } = this.problem;
    const k = this.kernels;
    if (act === ACT_SIGMOID) return k.activate(x, 1, 0, nv * C, 1, ACT_SIGMOID, this.pbuf, 0);
    // whole f32x4s by shuffles; an odd last voxel (C = 2) by the general kernel, its classes 1 float apart
    const whole = (nv * C) & ~3;
    const rest = nv - whole / C;
    return (
      k.softmaxInterleaved(x, whole, C, this.pbuf) +
      (rest ? k.activate(x + whole * 4, C, 1, rest, C, ACT_SOFTMAX, this.pbuf + whole * 4, 1) : 0)
    );
  }

  /** Brings chunk (b, v0, nv) into wasm memory, in the Stream's shape. */
  chunk(b: number, v0: number, nv: number): Chunk {
    const { C, S, act, target } = this.problem;
    const [x, vs, cs] = this.locate(this.problem.input, b, v0, nv, this.x);
    let p = x;
    let ps = cs;
    if (this.shape === "planes" && (act !== ACT_NONE || vs !== 1)) {
      this.nonFinite += this.kernels.activate(x, vs, cs, nv, C, act, this.pbuf, this.V);
      p = this.pbuf;
      ps = this.V;
    } else if (this.shape === "interleaved" && act !== ACT_NONE) {
      p = this.pbuf;
      this.nonFinite += this.activateInterleaved(x, nv);
    }
    let t: number;
    let ts = 0;
    if (target.kind === "label") {
      const { array, ptr } = target.source;
      const bpe = array.BYTES_PER_ELEMENT;
      const start = b * S + v0;
      if (ptr !== undefined) t = ptr + start * bpe;
      else {
        this.labelBuffer ??= new (array.constructor as Uint8ArrayConstructor)(this.heapF32.buffer, this.t, this.V);
        this.labelBuffer.set(array.subarray(start, start + nv));
        t = this.t;
      }
    } else {
      const [tx, tvs, tcs] = this.locate(target.source, b, v0, nv, this.t);
      t = tx;
      ts = tcs;
      if (tvs !== 1 && this.shape === "planes") {
        this.kernels.activate(tx, tvs, tcs, nv, C, ACT_NONE, this.tp, this.V);
        t = this.tp;
        ts = this.V;
      }
    }
    return { b, v0, nv, x, vs, cs, p, ps, t, ts };
  }

  *chunks(): Generator<Chunk> {
    const { B, S } = this.problem;
    for (let b = 0; b < B; b++) {
      for (let v0 = 0; v0 < S; v0 += this.V) yield this.chunk(b, v0, Math.min(this.V, S - v0));
    }
  }
}

/** Pass 1: statistics per (batch item, class), for every class. */
export function computeStats(problem: Problem): RawStats {
  const { B, C, mode, target } = problem;
  const { lanes } = runtime();
  const interleaved = readsInterleaved(problem, lanes);
  const stream = new Stream(problem, interleaved ? "interleaved" : "planes");
  const k = stream.kernels;
  const labels = target.kind === "label" ? labelKernels(k, target.dtype) : undefined;
  const stats: RawStats = {
    tp: new Float64Array(B * C),
    fp: new Float64Array(B * C),
    fn: new Float64Array(B * C),
    se: new Float64Array(B * C),
    count: new Float64Array(B * C),
    ce: new Float64Array(B * C),
    nonFinite: 0,
  };
  const fields = [stats.tp, stats.fp, stats.fn, stats.se, stats.count, stats.ce];
  const block = STATS * lanes;
  const out = new Float64Array(stream.heapF32.buffer, stream.out, C * block);
  out.fill(0);
  /** Adds the lane totals of batch item b into its statistics, and clears them. */
  const flush = (b: number) => {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < STATS; s++) {
        let total = 0;
        if (interleaved) for (let j = c; j < lanes; j += C) total += out[s * lanes + j]!;
        else for (let j = 0; j < lanes; j++) total += out[c * block + s * lanes + j]!;
        fields[s]![b * C + c] = total;
      }
    }
    out.fill(0);
  };
  let lastB = 0;
  for (const ch of stream.chunks()) {
    if (ch.b !== lastB) {
      flush(lastB);
      lastB = ch.b;
    }
    if (interleaved) {
      if (labels) labels.interleaved(ch.p, ch.t, ch.nv * C, C, mode, stream.out);
      else k.statsMask(ch.p, ch.t, ch.nv * C, mode, stream.out);
      continue;
    }
    for (let c = 0; c < C; c++) {
      const p = ch.p + c * ch.ps * 4;
      const dst = stream.out + c * block * 8;
      if (labels) labels.stats(p, ch.t, ch.nv, c, mode, dst);
      else k.statsMask(p, ch.t + c * ch.ts * 4, ch.nv, mode, dst);
    }
  }
  flush(lastB);
  stats.nonFinite = stream.nonFinite;
  return stats;
}

/**
 * Pass 2: writes d(loss)/d(prediction) into `grad` (a Source over a Float32Array
 * of the prediction's size), given the coefficients per (batch item, class):
 * dL/dp = a + b·g + k·(p − g) + h·sign(p − g), and u for a cross-entropy term
 * (see assembly/backward.ts), row-major [B][C][COEFS].
 */
export function computeGradient(problem: Problem, coef: Float64Array, grad: Source<Float32Array>): void {
  const { C, act, target } = problem;
  const stream = new Stream(problem, "raw");
  const k = stream.kernels;
  const labels = target.kind === "label" ? labelKernels(k, target.dtype) : undefined;
  const kernel = labels ? labels.backward : k.backwardMask;
  const interleaved = readsInterleaved(problem, runtime().lanes)
    ? (labels?.backwardInterleaved ?? k.backwardInterleavedMask)
    : undefined;
  const coefView = new Float32Array(stream.heapF32.buffer, stream.coef, C * COEFS);
  let lastB = -1;
  for (const ch of stream.chunks()) {
    if (ch.b !== lastB) {
      coefView.set(coef.subarray(ch.b * C * COEFS, (ch.b + 1) * C * COEFS));
      lastB = ch.b;
    }
    const [dx, , dcs] = stream.place(grad, ch.b, ch.v0, stream.dx);
    // the interleaved kernel takes whole f32x4s: all chunks but an odd last one with C = 2
    if (interleaved && (ch.nv * C) % 4 === 0) interleaved(ch.x, ch.t, ch.nv * C, C, act, stream.coef, dx);
    else kernel(ch.x, ch.vs, ch.cs, ch.t, ch.nv, C, act, stream.coef, dx, dcs, stream.tmp);
    if (grad.ptr === undefined) stream.copy(grad.array, stream.dx, ch.b, ch.v0, ch.nv, false);
  }
}
