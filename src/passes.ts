// The two passes over the volume, streamed through fixed-size buffers in wasm
// memory: arrays already in wasm memory are read (and written) where they lie,
// other arrays are copied in chunks of whole voxels. Memory use is bounded by
// the chunk size, whatever the volume size.
//
// Pass 1 activates each chunk (assembly/activate.ts) and sums its statistics
// (assembly/stats.ts). When a gradient will follow, the activation is written
// where the gradient goes — the "keep" array, in the kernels' planar groups —
// and pass 2 (assembly/gradient.ts) turns it into the gradient there: no exp
// twice, and no second volume alive between the passes.

import { DiceWasmError } from "./errors.js";
import {
  ACT_NONE,
  ACT_SIGMOID,
  ACT_SOFTMAX,
  COEFS,
  COMP_ELEMENTS,
  COMP_NONE,
  COMP_OUTSIDE_LABEL,
  LABEL_F32,
  LABEL_I32,
  LABEL_LANES,
  LABEL_U8,
  LABEL_U16,
  STATS,
  TARGET_MASK,
} from "./kernel-codes.js";
import type { LabelDtype, Problem, Source } from "./options.js";
import type { IgnoreKernels } from "./programs.js";
import { type Kernels, reserveWorkspace, runtime } from "./runtime.js";
import { type BufferName, type WorkspaceLayout, workspaceLayout } from "./workspace.js";

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
  /** 1 when the kernels saw a non-finite value in the prediction (or a mask), else 0 */
  nonFinite: number;
  /** per batch item, what ignoreIndex and mask left out: voxels (label maps), or elements (float masks) */
  ignored: Float64Array;
}

/** The ignore program's code for no `mask` option (a mask's kind is its type's label code, LABEL_U8 or LABEL_F32). */
const NO_MASK = 0;

export const LABEL_KIND: Record<LabelDtype, number> = {
  uint8: LABEL_U8,
  uint16: LABEL_U16,
  int32: LABEL_I32,
  float32: LABEL_F32,
};

/** Where a chunk of an array lies in wasm memory: byte pointer, and plane stride in floats (channels-first). */
export interface Placed {
  ptr: number;
  ps: number;
}

/** The chunk buffers of one call, laid out in the runtime's workspace. */
export class Stream {
  readonly kernels: Kernels;
  readonly layout: WorkspaceLayout;
  /** voxels per chunk */
  readonly V: number;
  private readonly base: number;
  /** All of wasm memory; no allocation happens while a Stream lives, so this view stays attached. */
  readonly heapF32: Float32Array;
  /** Channels-last with several classes: the kernels transpose between voxel-major and planar groups. */
  readonly ilv: number;
  /** the target chunk buffer as the label map's type, made on first use */
  private labelBuffer: Uint8Array | Uint16Array | Int32Array | Float32Array | undefined;
  /** the kernels that leave voxels out (ignoreIndex, mask) */
  private readonly ignore: IgnoreKernels;

  constructor(readonly problem: Problem) {
    const { kernels, ignore, lanes } = runtime();
    this.kernels = kernels;
    this.ignore = ignore;
    this.layout = workspaceLayout(problem.C, lanes);
    this.base = reserveWorkspace(this.layout.bytes);
    this.V = this.layout.voxels;
    this.heapF32 = new Float32Array(runtime().heap.memory.buffer);
    this.ilv = problem.layout === "channels-last" && problem.C > 1 ? 1 : 0;
  }

  buffer(name: BufferName): number {
    return this.base + this.layout.buffers[name];
  }

  plane(name: keyof WorkspaceLayout["planes"]): number {
    return this.base + this.layout.planes[name];
  }

  get out(): number {
    return this.base + this.layout.out;
  }

  get coef(): number {
    return this.base + this.layout.coef;
  }

  get tmp(): number {
    return this.base + this.layout.tmp;
  }

  /** Index of element (voxel v0, class 0) of batch item b in an array of the prediction's shape. */
  private start(b: number, v0: number): number {
    const { C, S, layout } = this.problem;
    return layout === "channels-last" || C === 1 ? (b * S + v0) * C : b * C * S + v0;
  }

  /** Where chunk (b, v0) of an array of the prediction's shape is: in place, or in chunk buffer `buf`. */
  place(source: Source<Float32Array>, b: number, v0: number, buf: BufferName): Placed {
    if (source.ptr !== undefined) return { ptr: source.ptr + this.start(b, v0) * 4, ps: this.problem.S };
    return { ptr: this.buffer(buf), ps: this.V };
  }

  /** Float data of chunk (b, v0, nv) in the prediction's layout: in place, or copied into `buf`. */
  locate(source: Source<Float32Array>, b: number, v0: number, nv: number, buf: BufferName): Placed {
    const placed = this.place(source, b, v0, buf);
    if (source.ptr === undefined) this.copy(source.array, placed.ptr, b, v0, nv, true);
    return placed;
  }

  /**
   * Copies chunk (b, v0, nv) between `array` (the prediction's shape) and the
   * chunk buffer at `buf` (same layout, planes V floats apart): in, or back out.
   */
  copy(array: Float32Array, buf: number, b: number, v0: number, nv: number, inward: boolean): void {
    const { C, S } = this.problem;
    const at = this.start(b, v0);
    const planar = this.ilv === 0 && C > 1;
    const runs = planar ? C : 1;
    const length = planar ? nv : nv * C;
    for (let c = 0; c < runs; c++) {
      const outside = at + c * S;
      const inside = buf / 4 + c * this.V; // a byte offset above 2 GiB: no signed shift
      if (inward) this.heapF32.set(array.subarray(outside, outside + length), inside);
      else array.set(this.heapF32.subarray(inside, inside + length), outside);
    }
  }

  /** The label map's chunk in wasm memory: in place, or copied into the target buffer. */
  labels(b: number, v0: number, nv: number): number {
    const { target, S } = this.problem;
    if (target.kind !== "label") throw new Error("unreachable: labels of a mask target");
    const { array, ptr } = target.source;
    const start = b * S + v0;
    if (ptr !== undefined) return ptr + start * array.BYTES_PER_ELEMENT;
    const buf = this.buffer("target");
    this.labelBuffer ??= new (array.constructor as Uint8ArrayConstructor)(this.heapF32.buffer, buf, this.V);
    this.labelBuffer.set(array.subarray(start, start + nv));
    return buf;
  }

  /** The mask's chunk in planar groups (transposed from channels-last when needed); returns it and a checksum. */
  mask(b: number, v0: number, nv: number): Placed & { check: number } {
    const { target, C } = this.problem;
    if (target.kind !== "mask") throw new Error("unreachable: mask of a label target");
    const raw = this.locate(target.source, b, v0, nv, "target");
    if (!this.ilv) return { ...raw, check: 0 };
    const dst = this.buffer("targetPlanar");
    const check = this.kernels.planar(raw.ptr, 1, raw.ps, nv, C, dst, this.V, this.tmp);
    return { ptr: dst, ps: this.V, check };
  }

  /** The `mask` option's chunk in wasm memory (in place, or copied into its plane), and its kernel code. */
  private voxelMask(b: number, v0: number, nv: number): { ptr: number; kind: number } {
    const mask = this.problem.ignore?.mask;
    if (!mask) return { ptr: 0, kind: NO_MASK };
    const kind = mask.array instanceof Uint8Array ? LABEL_U8 : LABEL_F32;
    const start = b * this.problem.S + v0;
    if (mask.ptr !== undefined) return { ptr: mask.ptr + start * mask.array.BYTES_PER_ELEMENT, kind };
    const ptr = this.plane("voxelMask");
    const view = new (mask.array.constructor as Uint8ArrayConstructor)(this.heapF32.buffer, ptr, nv);
    view.set(mask.array.subarray(start, start + nv));
    return { ptr, kind };
  }

  /**
   * Marks what the chunk keeps (see assembly/ignore/): per voxel in the "voxelMarks"
   * plane for label maps, per element in the marks buffer for float masks, whose
   * target `t` is then copied with the rest zeroed. Returns what is left out
   * (voxels or elements), and where the statistics read the target now.
   */
  mark(
    b: number,
    v0: number,
    nv: number,
    t: Placed,
    softmax = this.problem.act === ACT_SOFTMAX,
  ): { dropped: number; t: Placed; perElement: boolean } {
    const { problem, ignore } = this;
    const { index } = problem.ignore!;
    const mask = this.voxelMask(b, v0, nv);
    const isLabel = problem.target.kind === "label";
    const labelKind = isLabel && index !== undefined ? LABEL_KIND[(problem.target as { dtype: LabelDtype }).dtype] : 0;
    let dropped = 0;
    if (labelKind || mask.kind) {
      dropped = ignore.keepVoxels(
        t.ptr,
        labelKind,
        index ?? 0,
        mask.ptr,
        mask.kind,
        nv,
        this.plane("voxelMarks"),
        this.tmp,
      );
      if (dropped < 0) this.badMask(b, v0, nv);
    }
    if (isLabel) return { dropped, t, perElement: false };
    const { C } = problem;
    const marks = this.buffer("elementMarks");
    const kept = this.buffer("targetKept");
    const voxelKeep = mask.kind ? this.plane("voxelMarks") : 0;
    ignore.keepElements(
      t.ptr,
      t.ps,
      index ?? 0,
      index === undefined ? 0 : 1,
      voxelKeep,
      nv,
      C,
      this.ilv,
      marks,
      kept,
      this.V,
      this.tmp,
    );
    const counts = new Float64Array(this.heapF32.buffer, this.tmp, 2);
    // with a softmax an element's logit moves the kept classes' p: no gradient of 0 there is the loss's derivative
    if (counts[1]! > 0 && softmax) {
      throw new DiceWasmError(
        "INVALID_OPTION",
        `with softmax, a voxel is left out whole: ${counts[1]} voxels of batch item ${b} hold ignoreIndex (${index}) in some classes only; set it in every class of an ignored voxel, or use the mask option.`,
        { option: "ignoreIndex", batchItem: b },
      );
    }
    return { dropped: counts[0]!, t: { ptr: kept, ps: this.V }, perElement: true };
  }

  /**
   * Pass 1 after the activation: marks what the chunk keeps and zeroes the
   * rest of the activation at p; label maps get their labels rewritten with
   * −1 (no class) for dropped voxels: as lanes after the softmax (which reads
   * them so), as float labels otherwise. Returns what the statistics read
   * instead, and the target kind to read it as (undefined: unchanged).
   */
  exclude(
    b: number,
    v0: number,
    nv: number,
    activations: Placed[],
    t: Placed,
  ): { dropped: number; t: Placed; tkind?: number } {
    const marked = this.mark(b, v0, nv, t);
    const { act } = this.problem;
    for (const p of activations) this.drop(marked.perElement, nv, p, false);
    if (marked.perElement) return { dropped: marked.dropped, t: marked.t };
    const { dtype } = this.problem.target as { dtype: LabelDtype };
    const lanes = act === ACT_SOFTMAX;
    const out = this.plane("labels");
    this.ignore.labelsKept(t.ptr, LABEL_KIND[dtype], this.plane("voxelMarks"), nv, out, lanes ? 0 : 1);
    return { dropped: marked.dropped, t: { ptr: out, ps: 0 }, tkind: lanes ? LABEL_LANES : LABEL_F32 };
  }

  /** Pass 2 after the gradient (in the prediction's own layout): zeroes it where the chunk leaves out. */
  excludeGradient(b: number, v0: number, nv: number, grad: Placed, t: Placed): void {
    this.drop(this.mark(b, v0, nv, t).perElement, nv, grad, true);
  }

  /**
   * Zeroes what the last mark() left out in a chunk at x: in the kernels' planar
   * groups, or with `natural` in the prediction's own layout (a gradient).
   */
  private drop(perElement: boolean, nv: number, x: Placed, natural: boolean): void {
    const { C } = this.problem;
    const n = natural ? 1 : 0;
    if (perElement) this.ignore.dropElements(this.buffer("elementMarks"), this.V, nv, C, this.ilv, x.ptr, x.ps, n);
    else this.ignore.dropVoxels(this.plane("voxelMarks"), nv, C, this.ilv, x.ptr, x.ps, n);
  }

  /** Names the first mask value that is neither 0 nor 1 in the chunk. */
  private badMask(b: number, v0: number, nv: number): never {
    const mask = this.problem.ignore!.mask!.array;
    const start = b * this.problem.S + v0;
    let at = start;
    while (at < start + nv && (mask[at] === 0 || mask[at] === 1)) at++;
    throw new DiceWasmError(
      "INVALID_OPTION",
      `mask holds ${mask[at]} at index ${at}; its values are 0 (leave the voxel out) or 1 (keep it). For weights, use a weighted target.`,
      { option: "mask", index: at, value: mask[at] },
    );
  }

  *chunks(): Generator<{ b: number; v0: number; nv: number }> {
    const { B, S } = this.problem;
    for (let b = 0; b < B; b++) {
      for (let v0 = 0; v0 < S; v0 += this.V) yield { b, v0, nv: Math.min(this.V, S - v0) };
    }
  }
}

/**
 * Pass 1: statistics per (batch item, class), for every class. With `keep`
 * (an array of the prediction's size: the gradient's), the activation is left
 * there for pass 2.
 */
export function computeStats(problem: Problem, keep?: Source<Float32Array>): RawStats {
  const { B, C, act, mode, crossEntropy, target } = problem;
  const { lanes } = runtime();
  const stream = new Stream(problem);
  const k = stream.kernels;
  const { V, ilv, tmp } = stream;
  const isLabel = target.kind === "label";
  const labelKind = isLabel ? LABEL_KIND[target.dtype] : TARGET_MASK;
  const stats: RawStats = {
    tp: new Float64Array(B * C),
    fp: new Float64Array(B * C),
    fn: new Float64Array(B * C),
    se: new Float64Array(B * C),
    count: new Float64Array(B * C),
    ce: new Float64Array(B * C),
    nonFinite: 0,
    ignored: new Float64Array(B),
  };
  const fields = [stats.tp, stats.fp, stats.fn, stats.se, stats.count, stats.ce];
  const block = STATS * lanes;
  const out = new Float64Array(stream.heapF32.buffer, stream.out, C * block);
  out.fill(0);
  /**
   * Adds the lane totals of a chunk of batch item b to its statistics, and
   * clears them: class c's block, or (interleaved) the lanes j ≡ c mod C of block 0.
   */
  const collect = (b: number, interleaved: boolean) => {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < STATS; s++) {
        let total = 0;
        if (interleaved) for (let j = c; j < lanes; j += C) total += out[s * lanes + j]!;
        else for (let j = 0; j < lanes; j++) total += out[c * block + s * lanes + j]!;
        fields[s]![b * C + c]! += total;
      }
    }
    out.fill(0);
  };
  // probabilities of 2 or 4 classes, channels-last, no gradient: read as they lie (assembly/stats-interleaved.ts)
  const ignoring = problem.ignore !== undefined;
  const asTheyLie = act === ACT_NONE && ilv === 1 && (C === 2 || C === 4) && !keep && lanes === 4 && !ignoring;
  let check = 0;
  for (const { b, v0, nv } of stream.chunks()) {
    const x = stream.locate(problem.input, b, v0, nv, "input");
    if (asTheyLie && (nv * C) % 4 === 0) {
      const t = isLabel ? stream.labels(b, v0, nv) : stream.locate(target.source, b, v0, nv, "target").ptr;
      k.statsInterleaved(x.ptr, t, nv * C, C, labelKind, mode, stream.out);
      collect(b, true);
      continue;
    }
    const t = isLabel ? { ptr: stream.labels(b, v0, nv), ps: 0, check: 0 } : stream.mask(b, v0, nv);
    check += t.check;
    // where the activation goes: the keep array in place, or the keep buffer (copied out after)
    const kept = keep ? stream.place(keep, b, v0, "keep") : { ptr: stream.buffer("keep"), ps: V };
    let p: Placed = x;
    let comp: Placed = { ptr: 0, ps: V };
    let ckind: number = COMP_NONE;
    let tkind = labelKind;
    let tptr = t.ptr;
    if (act === ACT_SOFTMAX) {
      check += k.activate(
        x.ptr,
        ilv,
        x.ps,
        nv,
        C,
        ACT_SOFTMAX,
        crossEntropy ? 1 : 0,
        kept.ptr,
        kept.ps,
        0,
        stream.buffer("complement"),
        V,
        stream.plane("outside"),
        isLabel ? t.ptr : 0,
        labelKind,
        stream.plane("labels"),
        stream.plane("nll"),
        stream.buffer("shifted"),
        tmp,
      );
      p = kept;
      if (isLabel) {
        // the labels as lanes, and the mass outside each voxel's label
        tkind = LABEL_LANES;
        tptr = stream.plane("labels");
        ckind = COMP_OUTSIDE_LABEL;
        comp = { ptr: stream.plane("outside"), ps: V };
      } else {
        ckind = COMP_ELEMENTS;
        comp = { ptr: stream.buffer("complement"), ps: V };
      }
    } else if (act === ACT_SIGMOID || keep || ilv || ignoring) {
      // (ignoring zeroes the activation: it must be a copy, never the input in place)
      const sigmoid = act === ACT_SIGMOID;
      check += k.activate(
        x.ptr,
        ilv,
        x.ps,
        nv,
        C,
        act,
        0,
        kept.ptr,
        kept.ps,
        stream.buffer("probability"),
        stream.buffer("complement"),
        V,
        0,
        0,
        labelKind,
        0,
        0,
        0,
        tmp,
      );
      p = sigmoid ? { ptr: stream.buffer("probability"), ps: V } : kept;
      if (sigmoid) {
        ckind = COMP_ELEMENTS;
        comp = { ptr: stream.buffer("complement"), ps: V };
      }
    }
    let tps = t.ps;
    if (ignoring) {
      // the sigmoid's z too: pass 2's σ'(x) = |z|·(1 − |z|) is then 0 there
      const zeroed = act === ACT_SIGMOID ? [p, kept] : [p];
      const excluded = stream.exclude(b, v0, nv, zeroed, t);
      stats.ignored[b]! += excluded.dropped;
      ({ ptr: tptr, ps: tps } = excluded.t);
      tkind = excluded.tkind ?? tkind;
    }
    const computed = k.stats(
      p.ptr,
      p.ps,
      tptr,
      tps,
      comp.ptr,
      comp.ps,
      stream.plane("nll"),
      stream.buffer("shifted"),
      nv,
      C,
      ilv,
      tkind,
      ckind,
      mode,
      crossEntropy ? 1 : 0,
      stream.out,
    );
    if (!computed) notImplemented("statistics", { tkind, ckind, mode, crossEntropy });
    collect(b, false);
    if (keep && keep.ptr === undefined) stream.copy(keep.array, kept.ptr, b, v0, nv, false);
  }
  stats.nonFinite = Number.isFinite(check) ? 0 : 1;
  return stats;
}

/**
 * Whether pass 2 must zero the gradient of what ignoreIndex and mask leave
 * out. Not when pass 1's zeroed activation already gives 0 there: softmax
 * (p·(…)) and sigmoid (σ' from the zeroed z) — unless the cross-entropy's
 * u·(p − g) reads a g that is not 0 there (a float mask, the mask option's
 * labelled voxels, an ignoreIndex that is a class).
 */
function gradientNeedsMarks(problem: Problem): boolean {
  const { act, crossEntropy, target, ignore, C } = problem;
  if (!ignore) return false;
  if (act === ACT_NONE) return true; // the gradient is the loss's slope itself
  if (!crossEntropy) return false;
  const index = ignore.index ?? -1;
  return target.kind === "mask" || ignore.mask !== undefined || (index >= 0 && index < C);
}

/**
 * Pass 2: turns what pass 1 left in `keep` into d(loss)/d(prediction), written
 * to `grad` (by default over `keep` itself), given the coefficients per (batch
 * item, class) in the order of assembly/codes.ts, row-major [B][C][COEFS].
 */
export function computeGradient(
  problem: Problem,
  coef: Float64Array,
  keep: Source<Float32Array>,
  grad: Source<Float32Array> = keep,
): void {
  const { C, act, mode, crossEntropy, target } = problem;
  const stream = new Stream(problem);
  const k = stream.kernels;
  const isLabel = target.kind === "label";
  const tkind = isLabel ? LABEL_KIND[target.dtype] : TARGET_MASK;
  const coefView = new Float32Array(stream.heapF32.buffer, stream.coef, C * COEFS);
  const marksGradient = gradientNeedsMarks(problem);
  let lastB = -1;
  for (const { b, v0, nv } of stream.chunks()) {
    if (b !== lastB) {
      coefView.set(coef.subarray(b * C * COEFS, (b + 1) * C * COEFS));
      lastB = b;
    }
    const kept = stream.locate(keep, b, v0, nv, "keep");
    // a gradient outside wasm memory is made in a buffer and copied out: the keep buffer, unless keep is in place
    const dst =
      grad.ptr !== undefined
        ? stream.place(grad, b, v0, "keep")
        : keep.ptr === undefined
          ? kept
          : { ptr: stream.buffer("probability"), ps: stream.V };
    const t = isLabel ? { ptr: stream.labels(b, v0, nv), ps: 0 } : stream.mask(b, v0, nv);
    const computed = k.gradient(
      kept.ptr,
      kept.ps,
      t.ptr,
      t.ps,
      nv,
      C,
      stream.ilv,
      act,
      tkind,
      mode,
      crossEntropy ? 1 : 0,
      stream.coef,
      dst.ptr,
      dst.ps,
      stream.tmp,
    );
    if (!computed) notImplemented("gradient", { act, tkind, mode, crossEntropy });
    if (marksGradient) stream.excludeGradient(b, v0, nv, dst, t);
    if (grad.ptr === undefined) stream.copy(grad.array, dst.ptr, b, v0, nv, false);
  }
}

/** A combination of codes the kernels have no loop for: an error, never a silent fallback to another. */
function notImplemented(what: string, codes: Record<string, number | boolean>): never {
  const list = Object.entries(codes)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  throw new DiceWasmError(
    "INVALID_OPTION",
    `the kernels compute no ${what} for ${list}: this combination of options is not supported (please report how you reached it).`,
    codes,
  );
}
