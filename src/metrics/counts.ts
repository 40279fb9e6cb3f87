// Confusion counts of two label maps per batch item and class, by the kernel of
// assembly/metrics/ on the core runtime's memory, the maps copied in chunks.
// The hard metrics (scores.ts) are functions of these counts, so counts of
// chunks, volumes or whole datasets merge by addition.
import { DiceWasmError } from "../errors.js";
import { metricsScalar, metricsSimd } from "../generated/metrics.js";
import { checkKeys, oneOf } from "../options.js";
import { backend, decodeBase64, runtime } from "../runtime.js";
import { WasmVolume } from "../volume.js";

/** Integer label maps, the types NIfTI label volumes and tf.argMax give. */
export type LabelMap = Uint8Array | Uint16Array | Int32Array;

export interface CountOptions {
  /** [B, ...spatial]: batch items and their voxels. */
  shape: readonly number[];
  /** Classes, background (0) included: labels are 0…numClasses − 1. */
  numClasses: number;
  /** A target label to leave out: its voxels count for no class, in the target or the prediction. */
  ignoreIndex?: number;
  /**
   * The prediction is class scores (a Float32Array of numClasses per voxel): count their argmax, the first
   * largest score with NaN the largest, as torch.argmax (MONAI's), taken chunk by chunk in wasm memory.
   */
  argmax?: boolean;
  /** The scores' layout: 'channels-last' [B, ...spatial, C] (default) or 'channels-first' [B, C, ...spatial]. */
  layout?: "channels-last" | "channels-first";
}

/** A label map, or class scores with `argmax: true`. */
export type Prediction = LabelMap | Float32Array;

/** Per (batch item, class), row-major [B][C]: one class against the rest, as MONAI's confusion matrix. */
export interface ConfusionCounts {
  readonly B: number;
  readonly C: number;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  readonly tn: Float64Array;
}

interface MetricsExports {
  COUNTS: WebAssembly.Global;
  COUNT_TRUTH: WebAssembly.Global;
  COUNT_PREDICTED: WebAssembly.Global;
  COUNT_TP: WebAssembly.Global;
  labelCounts(
    t: number,
    p: number,
    n: number,
    C: number,
    kind: number,
    ignore: number,
    useIgnore: number,
    out: number,
  ): void;
  argmaxLabels(scores: number, n: number, C: number, planeStride: number, out: number, kind: number): void;
}

const KIND = { 1: 1, 2: 2, 4: 3 } as const; // bytes per label → the kernel's LABEL_U8, LABEL_U16, LABEL_I32
const CHUNK = 1 << 20; // voxels a call: the counts of a call fit u32, and the buffers stay small
const instances = new WeakMap<WebAssembly.Memory, MetricsExports>();

/** The counting kernel on the runtime's memory, instantiated on first use (< 4 KiB: synchronously, also in a browser). */
function kernels(): MetricsExports {
  const { memory } = runtime().heap;
  let k = instances.get(memory);
  if (!k) {
    const bytes = decodeBase64(backend() === "simd" ? metricsSimd : metricsScalar);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    k = instance.exports as unknown as MetricsExports;
    instances.set(memory, k);
  }
  return k;
}

function fail(code: ConstructorParameters<typeof DiceWasmError>[0], message: string, details = {}): never {
  throw new DiceWasmError(code, message, details);
}

function labelMapOf(fn: string, name: string, value: unknown): LabelMap {
  if (value instanceof Uint8Array || value instanceof Uint16Array || value instanceof Int32Array) return value;
  const got = value?.constructor?.name ?? typeof value;
  return fail(
    "UNSUPPORTED_DTYPE",
    `${fn}: the ${name} must be a label map (Uint8Array, Uint16Array or Int32Array), got ${got}${value instanceof Float32Array ? (name === "prediction" ? "; for class scores set argmax: true" : "; for whole-valued floats Int32Array.from(...)") : ""}.`,
  );
}

/** Checks the options; returns B, the voxels per item S, C, the ignore label, and how to read the prediction. */
function checked(fn: string, prediction: Prediction, target: LabelMap, options: CountOptions) {
  if (options === null || typeof options !== "object") fail("INVALID_OPTION", `${fn}: options must be an object.`);
  const known = ["shape", "numClasses", "ignoreIndex", "argmax", "layout"];
  checkKeys(fn, options, known);
  const { shape, numClasses, ignoreIndex } = options;
  if (!Array.isArray(shape) || shape.length < 1 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail("INVALID_SHAPE", `${fn}: shape must list whole numbers ≥ 0, [B, ...spatial], got ${JSON.stringify(shape)}.`);
  }
  const B = shape[0]!;
  const S = shape.slice(1).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numClasses) || numClasses < 1 || numClasses > 65536) {
    fail("INVALID_OPTION", `${fn}: numClasses must be a whole number in [1, 65536], got ${numClasses}.`);
  }
  if (ignoreIndex !== undefined && !Number.isSafeInteger(ignoreIndex)) {
    fail("INVALID_OPTION", `${fn}: ignoreIndex must be a whole number (a label), got ${ignoreIndex}.`);
  }
  if (options.argmax !== undefined && typeof options.argmax !== "boolean") {
    fail("INVALID_OPTION", `${fn}: argmax must be true or false, got ${JSON.stringify(options.argmax)}.`);
  }
  const layout = oneOf(fn, "layout", options.layout, ["channels-last", "channels-first"] as const, "channels-last");
  const scores = Boolean(options.argmax);
  const lengths = [
    ["prediction", prediction.length, scores ? B * S * numClasses : B * S, scores ? "scores" : "labels"],
    ["target", target.length, B * S, "labels"],
  ] as const;
  for (const [name, got, want, what] of lengths) {
    if (got !== want) {
      const per = scores && name === "prediction" ? ` with ${numClasses} classes` : "";
      fail(
        "LENGTH_MISMATCH",
        `${fn}: the ${name} has ${got} ${what} but shape ${JSON.stringify(shape)}${per} needs ${want}.`,
        {
          expected: want,
          actual: got,
        },
      );
    }
  }
  return { B, S, C: numClasses, ignore: ignoreIndex, scores, planar: layout === "channels-first" };
}

/**
 * The first label of `map` that is neither a class nor the ignore label (the kernel counted a shortfall);
 * for the prediction, outside the voxels the target ignores.
 */
function badLabel(
  fn: string,
  name: string,
  map: LabelMap,
  C: number,
  ignore: number | undefined,
  target?: LabelMap,
  targetIgnore?: number,
): never {
  const ignored = (i: number) => target !== undefined && target[i] === targetIgnore;
  const at = map.findIndex((l, i) => (l < 0 || l >= C) && l !== ignore && !ignored(i));
  return fail(
    "LABEL_OUT_OF_RANGE",
    `${fn}: the ${name} holds ${map[at]} at index ${at}, which is not a class in [0, ${C})${ignore === undefined ? "" : ` nor the ignoreIndex ${ignore}`}; set numClasses (background included), or ignoreIndex for a label to leave out.`,
    { index: at, value: map[at], numClasses: C },
  );
}

/**
 * Confusion counts of `prediction` against `target`, two label maps of
 * [B, ...spatial] voxels: per batch item and class, tp, fp, fn and tn of that
 * class against the rest. Voxels whose target is `ignoreIndex` count nowhere.
 * Volumes (createVolume) of the same type are read where they lie, no copy.
 *
 * @example
 * const counts = confusionCounts(predicted, truth, { shape: [1, 128, 128, 128], numClasses: 4 });
 * const dice = diceMetric(counts, { reduction: "none" });
 */
export function confusionCounts(
  prediction: Prediction | WasmVolume,
  target: LabelMap | WasmVolume,
  options: CountOptions,
): ConfusionCounts {
  return countLabels("confusionCounts", prediction, target, options);
}

/** @internal confusionCounts for `fn`, which its errors name. */
export function countLabels(
  fn: string,
  prediction: Prediction | WasmVolume,
  target: LabelMap | WasmVolume,
  options: CountOptions,
): ConfusionCounts {
  const scores = Boolean(options?.argmax);
  const { heap } = runtime();
  // a volume's view is taken again after allocating, which may grow memory and detach it; so is a
  // view of wasm memory passed as an array (volume.array), from where it was
  const rebind = (x: unknown) => {
    if (x instanceof WasmVolume || !ArrayBuffer.isView(x) || x.buffer !== heap.memory.buffer) return () => x;
    const [Type, offset, length] = [x.constructor as Uint8ArrayConstructor, x.byteOffset, (x as Uint8Array).length];
    return () => new Type(heap.memory.buffer, offset, length);
  };
  const [again, againPrediction] = [rebind(target), rebind(prediction)];
  const unwrap = (x: unknown) => (x instanceof WasmVolume ? x.array : x);
  let t = labelMapOf(fn, "target", unwrap(target));
  let p = scores ? scoresOf(fn, unwrap(prediction)) : labelMapOf(fn, "prediction", unwrap(prediction));
  const { B, S, C, ignore, planar } = checked(fn, p, t, options);
  // an ignore label outside int32 matches no label; passed to the kernel it would wrap to one
  const ignorable = ignore !== undefined && ignore >= -(2 ** 31) && ignore < 2 ** 31;
  const k = kernels();
  // both maps as the wider of their types (the argmax's the narrowest that holds C classes), so that one kernel reads them
  const pBytes = p instanceof Float32Array ? (C <= 256 ? 1 : 2) : p.BYTES_PER_ELEMENT;
  const bytes = Math.max(pBytes, t.BYTES_PER_ELEMENT) as 1 | 2 | 4;
  // scores take C floats a voxel: fewer voxels a chunk, so that the scores' buffer stays at 16 MiB
  const chunk = Math.min(scores ? Math.max(1, Math.floor((CHUNK * 4) / C)) : CHUNK, Math.max(B * S, 1));
  const fields = k.COUNTS.value as number;
  const outFields = C * fields + 1; // then the ignored voxels
  const sizes = [chunk * bytes, chunk * bytes, outFields * 4, scores ? chunk * C * 4 : 0];
  const ptrs: number[] = [];
  try {
    for (const n of sizes) ptrs.push(heap.alloc(Math.max(n, 4)));
    const [tPtr, pPtr, outPtr, scorePtr] = ptrs as [number, number, number, number];
    // a volume's view again: allocating may have grown memory, which detaches the old one
    [t, p] = [unwrap(again()) as LabelMap, unwrap(againPrediction()) as Prediction];
    /** Where voxel i of `map` is in wasm memory when the kernel can read it there (a volume of the kernel's type). */
    const inPlace = (map: Prediction, i: number) =>
      map.buffer === heap.memory.buffer && map.BYTES_PER_ELEMENT === bytes ? map.byteOffset + i * bytes : undefined;
    const counts = {
      B,
      C,
      tp: new Float64Array(B * C),
      fp: new Float64Array(B * C),
      fn: new Float64Array(B * C),
      tn: new Float64Array(B * C),
    };
    const Typed = bytes === 1 ? Uint8Array : bytes === 2 ? Uint16Array : Int32Array;
    const TRUTH = k.COUNT_TRUTH.value as number;
    const PREDICTED = k.COUNT_PREDICTED.value as number;
    const TP = k.COUNT_TP.value as number;
    /** The labels of voxels [v0, v0 + n) of item b: where they lie, or copied into `ptr`. */
    const labelChunk = (buffer: ArrayBuffer, map: LabelMap, ptr: number, b: number, v0: number, n: number) => {
      const at = inPlace(map, b * S + v0);
      if (at !== undefined) return at;
      new Typed(buffer, ptr, n).set(map.subarray(b * S + v0, b * S + v0 + n));
      return ptr;
    };
    /** The prediction's labels of voxels [v0, v0 + n) of item b: in place, copied, or the scores' argmax. */
    const predictionChunk = (buffer: ArrayBuffer, b: number, v0: number, n: number) => {
      if (!(p instanceof Float32Array)) return labelChunk(buffer, p, pPtr, b, v0, n);
      const into = new Float32Array(buffer, scorePtr, n * C);
      if (planar)
        for (let c = 0; c < C; c++) into.set(p.subarray((b * C + c) * S + v0, (b * C + c) * S + v0 + n), c * n);
      else into.set(p.subarray((b * S + v0) * C, (b * S + v0 + n) * C));
      k.argmaxLabels(scorePtr, n, C, planar ? n : 0, pPtr, KIND[bytes]);
      return pPtr;
    };
    for (let b = 0; b < B; b++) {
      const [truth, predicted, hits] = [new Float64Array(C), new Float64Array(C), new Float64Array(C)];
      let ignored = 0;
      for (let v0 = 0; v0 < S; v0 += chunk) {
        const n = Math.min(chunk, S - v0);
        const buffer = heap.memory.buffer as ArrayBuffer; // views made per chunk: nothing grows memory between
        const tAt = labelChunk(buffer, t, tPtr, b, v0, n);
        const pAt = predictionChunk(buffer, b, v0, n);
        const out = new Uint32Array(buffer, outPtr, outFields);
        out.fill(0);
        k.labelCounts(tAt, pAt, n, C, KIND[bytes], ignore ?? 0, ignorable ? 1 : 0, outPtr);
        for (let c = 0; c < C; c++) {
          const o = c * fields;
          truth[c]! += out[o + TRUTH]!;
          predicted[c]! += out[o + PREDICTED]!;
          hits[c]! += out[o + TP]!;
        }
        ignored += out[outFields - 1]!;
      }
      const counted = S - ignored;
      if (truth.reduce((a, x) => a + x, 0) !== counted) badLabel(fn, "target", t, C, ignore);
      if (predicted.reduce((a, x) => a + x, 0) !== counted && !(p instanceof Float32Array)) {
        badLabel(fn, "prediction", p, C, undefined, t, ignore);
      }
      for (let c = 0; c < C; c++) {
        const i = b * C + c;
        counts.tp[i] = hits[c]!;
        counts.fp[i] = predicted[c]! - hits[c]!;
        counts.fn[i] = truth[c]! - hits[c]!;
        counts.tn[i] = counted - predicted[c]! - truth[c]! + hits[c]!;
      }
    }
    return counts;
  } finally {
    for (const [i, ptr] of ptrs.entries()) heap.release(ptr, Math.max(sizes[i]!, 4));
  }
}

/** Class scores for argmax: a Float32Array. */
function scoresOf(fn: string, value: unknown): Float32Array {
  if (value instanceof Float32Array) return value;
  const got = (value as object | undefined)?.constructor?.name ?? typeof value;
  return fail(
    "UNSUPPORTED_DTYPE",
    `${fn}: argmax: true takes class scores, a Float32Array, got ${got}; a label map needs no argmax.`,
  );
}

/** The counts of two disjoint parts (chunks, volumes, datasets) as one: their sum, per batch item and class. */
export function mergeCounts(a: ConfusionCounts, b: ConfusionCounts): ConfusionCounts {
  if (a.B !== b.B || a.C !== b.C) {
    fail(
      "SHAPE_MISMATCH",
      `mergeCounts: counts of [${a.B}, ${a.C}] and [${b.B}, ${b.C}] (batch items, classes) differ.`,
    );
  }
  const add = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]!);
  return { B: a.B, C: a.C, tp: add(a.tp, b.tp), fp: add(a.fp, b.fp), fn: add(a.fn, b.fn), tn: add(a.tn, b.tn) };
}
