// Option types, their defaults (MONAI's), and the checks that turn bad input
// into a DiceWasmError before any kernel runs.
import { DiceWasmError } from "./errors.js";
import { ACT_NONE, ACT_SIGMOID, ACT_SOFTMAX, MODE_HARD, MODE_SOFT, MODE_SQUARED } from "./kernel-codes.js";
import { reserveWorkspace, runtime } from "./runtime.js";
import { WasmVolume } from "./volume.js";
import { type LossWarning, warning } from "./warnings.js";
import { workspaceLayout } from "./workspace.js";

export type Layout = "channels-last" | "channels-first";
export type Reduction = "mean" | "sum" | "none";

/** Network output: probabilities, or logits with `sigmoid` / `softmax`. */
export type Prediction = Float32Array | WasmVolume<"float32">;
/** A float mask of the prediction's shape, or (with `toOnehotY`) an integer label map. */
export type Target = Float32Array | Uint8Array | Uint16Array | Int32Array | WasmVolume;

/** Options that say what the arrays are; shared by every function here. */
export interface DataOptions {
  /** The prediction's shape: [B, ...spatial, C] channels-last, [B, C, ...spatial] channels-first. */
  shape: readonly number[];
  /** Default 'channels-last' (tfjs); 'channels-first' is PyTorch/MONAI's. */
  layout?: Layout;
  /** Apply a sigmoid to each element of the prediction first. */
  sigmoid?: boolean;
  /** Apply a softmax over the class axis first (ignored when C = 1, as in MONAI). */
  softmax?: boolean;
  /** The target is a label map of class ids, shape [B, ...spatial] (optionally a singleton channel). */
  toOnehotY?: boolean;
  /** Soft-label formulation: tp = Σmin(p,g), fp = Σ(p−g)⁺, fn = Σ(g−p)⁺ (MONAI `soft_label`). */
  softLabel?: boolean;
}

/** What the loss leaves out: excluded from every sum, with gradient 0. */
export interface IgnoreOptions {
  /**
   * A target value to leave out (smp's and MONAI's `ignore_index`): a voxel whose
   * label equals it (label maps; it need not be a class id, 255 with 3 classes is
   * fine), or an element equal to it (float masks, per element; with softmax every
   * class of an ignored voxel must hold it).
   */
  ignoreIndex?: number;
  /** Per voxel, B × spatial: 0 leaves the voxel out, 1 keeps it (a region that is not a label). */
  mask?: Uint8Array | Float32Array | WasmVolume<"uint8" | "float32">;
}

export interface LossOptions extends DataOptions, IgnoreOptions {
  /** Keep class 0 (default true); false drops it after the activation (ignored when C = 1). */
  includeBackground?: boolean;
  /** Added to the numerator; default 1e-5. */
  smoothNr?: number;
  /** Added to the denominator; default 1e-5. */
  smoothDr?: number;
  /** Sum the statistics over the batch before dividing (default false). */
  batch?: boolean;
  /** 'mean' (default), 'sum', or 'none' for one value per (batch item, class). */
  reduction?: Reduction;
  /** Also return d(loss)/d(prediction): true for a fresh array, or the array (or volume) to write into. */
  grad?: boolean | Float32Array | WasmVolume<"float32">;
}

export interface DiceOptions extends LossOptions {
  /** Denominator Σp² + Σg² (V-Net) instead of Σp + Σg. */
  squaredPred?: boolean;
  /** Jaccard (soft IoU) instead of Dice. */
  jaccard?: boolean;
  /** Per-class loss weight: one number, or one per class kept (after `includeBackground`); diceCELoss: one per class. */
  weight?: number | readonly number[];
}

export interface TverskyOptions extends LossOptions {
  /** Weight of false positives; default 0.5. */
  alpha?: number;
  /** Weight of false negatives; default 0.5. */
  beta?: number;
}

export interface DiceCEOptions extends DiceOptions {
  /** Weight of the Dice term; default 1. */
  lambdaDice?: number;
  /** Weight of the cross-entropy term; default 1. */
  lambdaCe?: number;
  /** PyTorch's CrossEntropyLoss label_smoothing in [0, 1): the target becomes (1 − ε)·onehot + ε/C (softmax only). */
  labelSmoothing?: number;
}

export interface GeneralizedDiceOptions extends LossOptions {
  /** Class weights from the target volume Σg: 'square' 1/(Σg)² (default), 'simple' 1/Σg, 'uniform' 1. */
  wType?: "square" | "simple" | "uniform";
}

/** The focal term of Dice + focal: MONAI's FocalLoss with a sigmoid per element, on the same logits. */
interface FocalTermOptions {
  /** The focusing exponent (default 2). */
  gamma?: number;
  /** Weight of the focal term; default 1. */
  lambdaFocal?: number;
}

export interface DiceFocalOptions extends DiceOptions, FocalTermOptions {
  /** α-balancing of the focal term, in [0, 1] (targets α, the rest 1 − α). */
  alpha?: number;
  /** Weight of the Dice term; default 1. */
  lambdaDice?: number;
}

export interface GeneralizedDiceFocalOptions extends GeneralizedDiceOptions, FocalTermOptions {
  /** The focal term's class weights (one per class kept, or one for all); the generalized Dice weighs its own. */
  weight?: number | readonly number[];
  /** Weight of the generalized Dice term; default 1. */
  lambdaGdl?: number;
}

/** The typed arrays the kernels read. */
export type KernelArray = Float32Array | Uint8Array | Uint16Array | Int32Array;

/** Where an array's bytes are: always a view, plus its byte offset when it is already in wasm memory. */
export interface Source<A extends KernelArray = KernelArray> {
  readonly array: A;
  readonly ptr: number | undefined;
}

export type LabelDtype = "uint8" | "uint16" | "int32" | "float32";

/** The arrays and their geometry, checked. */
export interface Problem {
  readonly B: number;
  readonly C: number;
  /** voxels per batch item */
  readonly S: number;
  readonly layout: Layout;
  /** ACT_NONE, ACT_SIGMOID or ACT_SOFTMAX */
  readonly act: number;
  /** MODE_HARD, MODE_SOFT or MODE_SQUARED: which terms the statistics sum */
  readonly mode: number;
  /** pass 1 also sums the cross-entropy (diceCELoss) */
  readonly crossEntropy: boolean;
  readonly input: Source<Float32Array>;
  readonly target:
    | { readonly kind: "mask"; readonly source: Source<Float32Array> }
    | {
        readonly kind: "label";
        readonly dtype: LabelDtype;
        readonly source: Source;
      };
  /** what the loss leaves out, when asked */
  readonly ignore?: {
    readonly index: number | undefined;
    readonly mask: Source<Uint8Array | Float32Array> | undefined;
  };
  readonly warnings: LossWarning[];
}

const DATA_KEYS = ["shape", "layout", "sigmoid", "softmax", "toOnehotY", "softLabel"];
const IGNORE_KEYS = ["ignoreIndex", "mask"];
/** The options every loss takes (each loss's spec adds its own). */
export const LOSS_KEYS = [
  ...DATA_KEYS,
  ...IGNORE_KEYS,
  "includeBackground",
  "smoothNr",
  "smoothDr",
  "batch",
  "reduction",
  "grad",
];
/** The options overlapStats takes. */
export const STATS_KEYS = [...DATA_KEYS, ...IGNORE_KEYS, "squaredPred"];

function fail(code: ConstructorParameters<typeof DiceWasmError>[0], message: string, details = {}): never {
  throw new DiceWasmError(code, message, details);
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The options that are switches: true or false, never a string or a number that would read as one. */
const BOOLEAN_KEYS = new Set([
  "sigmoid",
  "softmax",
  "toOnehotY",
  "softLabel",
  "includeBackground",
  "batch",
  "squaredPred",
  "jaccard",
  "useSoftmax",
]);

/**
 * Rejects options we do not know, naming the closest one we do (to_onehot_y →
 * toOnehotY), and switches that are not booleans ('false' would read as true).
 */
export function checkKeys(fn: string, options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== "object") {
    fail("INVALID_OPTION", `${fn}: options are required, at least { shape }.`);
  }
  for (const [key, value] of Object.entries(options)) {
    if (known.includes(key) && BOOLEAN_KEYS.has(key) && value !== undefined && typeof value !== "boolean") {
      fail("INVALID_OPTION", `${fn}: ${key} must be true or false, got ${JSON.stringify(value)}.`, { option: key });
    }
    if (known.includes(key) || value === undefined) continue;
    const guess = known.find((k) => k.toLowerCase() === camel(key).toLowerCase());
    fail(
      "INVALID_OPTION",
      `${fn}: unknown option '${key}'${guess ? `; did you mean '${guess}'?` : "."} Known: ${known.join(", ")}.`,
      { option: key },
    );
  }
}

export function finiteNumber(fn: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail("INVALID_OPTION", `${fn}: ${name} must be a finite number, got ${String(value)}.`, { option: name });
  }
  return value;
}

export function oneOf<T extends string>(
  fn: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    fail(
      "INVALID_OPTION",
      `${fn}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(", ")}, got ${JSON.stringify(value)}.`,
      {
        option: name,
      },
    );
  }
  return value as T;
}

function memoryBuffer(): ArrayBufferLike {
  return runtime().heap.memory.buffer;
}

/** A typed array or volume, as a Source; undefined for anything else. */
export function sourceOf(value: unknown): Source | undefined {
  const array = value instanceof WasmVolume ? value.array : value;
  if (dtypeOf(array) === undefined) return undefined;
  const typed = array as KernelArray;
  const inWasm = typed.buffer === memoryBuffer();
  return { array: typed, ptr: inWasm ? typed.byteOffset : undefined };
}

function dtypeOf(array: unknown): LabelDtype | undefined {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Uint8Array) return "uint8";
  if (array instanceof Uint16Array) return "uint16";
  if (array instanceof Int32Array) return "int32";
  return undefined;
}

/** True when `shape` read in the other layout has `voxels` voxels: the user described one layout as the other. */
function otherLayoutFits(shape: readonly number[], layout: string, voxels: number): boolean {
  const spatial = layout === "channels-last" ? shape.slice(2) : shape.slice(1, -1);
  return shape[0]! * spatial.reduce((a, b) => a * b, 1) === voxels;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object" && "dataSync" in value && "shape" in value) {
    return "a tf.Tensor (for tensors use the ops of dice-wasm/tfjs, or pass the values: await t.data())";
  }
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return "a plain Array";
  return typeof value;
}

/** What pass 1 computes beyond the data options: se (squaredPred), and the cross-entropy (diceCELoss). */
export interface PassOptions extends DataOptions, IgnoreOptions {
  squaredPred?: boolean;
  /** @internal set by diceCELoss */
  crossEntropy?: boolean;
}

/** The geometry and modes the options declare, before any array is looked at. */
type Declared = Omit<Problem, "input" | "target" | "ignore"> & {
  readonly ignoreIndex: number | undefined;
  readonly shape: number[];
  /** the target is a label map (toOnehotY with more than one class) */
  readonly labelMap: boolean;
};

/**
 * Checks the arrays against `shape` and the options; returns the geometry: a
 * pure reading of the options, then the one step that touches the runtime
 * (reserving the workspace, which may grow memory), then the arrays, whose
 * views of wasm memory are taken only after that growth.
 */
export function resolveProblem(fn: string, input: unknown, target: unknown, options: PassOptions): Problem {
  const declared = readOptions(fn, options);
  reserveWorkspace(workspaceLayout(declared.C, runtime().lanes).bytes);
  return bindArrays(fn, declared, input, target, options.mask);
}

export function readOptions(fn: string, options: PassOptions): Declared {
  const warnings: LossWarning[] = [];
  const layout = oneOf(fn, "layout", options.layout, ["channels-last", "channels-first"] as const, "channels-last");
  const shape = options.shape;
  if (!Array.isArray(shape) || shape.length < 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(
      "INVALID_SHAPE",
      `${fn}: shape must list at least two whole numbers ≥ 0 (${layout === "channels-last" ? "[B, ...spatial, C]" : "[B, C, ...spatial]"}), got ${JSON.stringify(shape)}.`,
    );
  }
  const B = shape[0]!;
  const C = layout === "channels-last" ? shape[shape.length - 1]! : shape[1]!;
  const spatial = layout === "channels-last" ? shape.slice(1, -1) : shape.slice(2);
  const S = spatial.reduce((a, b) => a * b, 1);
  if (B < 1 || C < 1)
    fail(
      "INVALID_SHAPE",
      `${fn}: the batch size and the number of classes must be ≥ 1; shape ${JSON.stringify(shape)} with layout '${layout}' gives B = ${B}, C = ${C}.`,
    );
  if (options.sigmoid && options.softmax) {
    fail(
      "INVALID_OPTION",
      `${fn}: sigmoid and softmax are both true; choose one (sigmoid for multi-label, softmax for mutually exclusive classes).`,
    );
  }
  let act = options.sigmoid ? ACT_SIGMOID : options.softmax ? ACT_SOFTMAX : ACT_NONE;
  if (act === ACT_SOFTMAX && C === 1) {
    warnings.push(warning("SOFTMAX_IGNORED", `${fn}: single channel prediction, \`softmax: true\` ignored.`));
    act = ACT_NONE;
  }
  const ignoreIndex = options.ignoreIndex;
  if (ignoreIndex !== undefined && !(typeof ignoreIndex === "number" && Number.isInteger(ignoreIndex))) {
    fail(
      "INVALID_OPTION",
      `${fn}: ignoreIndex must be a whole number (a label value such as 255 or -100), got ${JSON.stringify(ignoreIndex) ?? String(ignoreIndex)}.`,
      { option: "ignoreIndex" },
    );
  }
  if (options.toOnehotY && C === 1)
    warnings.push(warning("TO_ONEHOT_Y_IGNORED", `${fn}: single channel prediction, \`toOnehotY: true\` ignored.`));
  return {
    B,
    C,
    S,
    layout,
    act,
    mode: options.squaredPred ? MODE_SQUARED : options.softLabel ? MODE_SOFT : MODE_HARD,
    crossEntropy: Boolean(options.crossEntropy),
    warnings,
    shape,
    labelMap: Boolean(options.toOnehotY) && C > 1,
    ignoreIndex,
  };
}

/** The hint for a view of wasm memory that growth detached. */
const DETACHED =
  "; it is a detached view of WebAssembly memory (volume.array taken before memory grew): take volume.array again just before the call, or pass the volume itself";

function bindArrays(fn: string, declared: Declared, input: unknown, target: unknown, maskOption: unknown): Problem {
  const { shape, labelMap, ignoreIndex, ...rest } = declared;
  const voxelMask = maskOption === undefined ? undefined : bindMask(fn, maskOption, rest.B * rest.S);
  const geometry =
    ignoreIndex === undefined && voxelMask === undefined
      ? rest
      : { ...rest, ignore: { index: ignoreIndex, mask: voxelMask } };
  const { B, C, S, layout } = geometry;
  const inputSource = sourceOf(input) as Source<Float32Array> | undefined;
  if (!inputSource || !(inputSource.array instanceof Float32Array)) {
    fail(
      "UNSUPPORTED_DTYPE",
      `${fn}: the prediction must be a Float32Array (or a float32 volume), got ${describe(input)}; convert with Float32Array.from(...).`,
    );
  }
  const N = B * C * S;
  if (inputSource.array.length !== N) {
    fail(
      "LENGTH_MISMATCH",
      inputSource.array.buffer.byteLength === 0
        ? `${fn}: the prediction has 0 elements; if it is a view of WebAssembly memory (volume.array) taken before the memory grew, it is detached: take volume.array again just before the call, or pass the volume itself.`
        : `${fn}: the prediction has ${inputSource.array.length} elements but shape ${JSON.stringify(shape)} needs ${N}; pass the prediction's own shape (layout '${layout}').`,
      { expected: N, actual: inputSource.array.length },
    );
  }

  const targetSource = sourceOf(target);
  const dtype = targetSource && dtypeOf(targetSource.array);
  if (!targetSource || !dtype) {
    fail(
      "UNSUPPORTED_DTYPE",
      `${fn}: the target must be a Float32Array, Uint8Array, Uint16Array or Int32Array (or such a volume), got ${describe(target)}.`,
    );
  }
  const got = targetSource.array.length;
  if (labelMap) {
    if (got !== B * S) {
      fail(
        "LENGTH_MISMATCH",
        `${fn}: a label map (toOnehotY) needs one label per voxel, B × spatial = ${B * S}, but the target has ${got}${got === 0 && targetSource.array.buffer.byteLength === 0 ? DETACHED : ""}${got === N ? "; it looks one-hot already: set toOnehotY: false" : otherLayoutFits(shape, layout, got) ? `; the shape fits it read as ${layout === "channels-last" ? "channels-first [B, C, ...spatial]: set layout: 'channels-first'" : "channels-last [B, ...spatial, C]: set layout: 'channels-last'"}` : ""}.`,
        { expected: B * S, actual: got },
      );
    }
    const labels = { kind: "label", dtype, source: targetSource } as const;
    return { ...geometry, input: inputSource, target: labels };
  }
  if (got !== N) {
    fail(
      "LENGTH_MISMATCH",
      `${fn}: the target has ${got} elements but the prediction has ${N}${got === 0 && targetSource.array.buffer.byteLength === 0 ? DETACHED : ""}${got === B * S && C > 1 ? "; one value per voxel looks like a label map: set toOnehotY: true" : ""}.`,
      { expected: N, actual: got },
    );
  }
  let mask = targetSource as Source<Float32Array>;
  if (dtype !== "float32") {
    // one class: MONAI reads the target's values as the mask, whatever their type
    if (C !== 1) {
      fail(
        "UNSUPPORTED_DTYPE",
        `${fn}: an integer target of the prediction's size is not a mask; pass a Float32Array mask, or a label map with toOnehotY: true.`,
      );
    }
    mask = { array: binaryMask(fn, targetSource.array as IntegerArray, ignoreIndex), ptr: undefined };
  }
  return { ...geometry, input: inputSource, target: { kind: "mask", source: mask } };
}

type IntegerArray = Uint8Array | Uint16Array | Int32Array;

/**
 * A one-class integer target as the float mask MONAI would read it as, refusing
 * values other than 0 and 1: there they are class ids of a label map meant for
 * more channels, and would make tp exceed the target volume (a negative loss).
 */
function binaryMask(fn: string, labels: IntegerArray, ignoreIndex: number | undefined): Float32Array {
  const at = labels.findIndex((l) => l !== 0 && l !== 1 && l !== ignoreIndex);
  if (at >= 0) {
    fail(
      "LABEL_OUT_OF_RANGE",
      `${fn}: the prediction has one channel, so an integer target is a binary mask of 0 and 1, but it holds ${labels[at]} at index ${at}. For classes 0…K−1, give the prediction K channels and set toOnehotY: true.`,
      { index: at, value: labels[at], numClasses: 1 },
    );
  }
  return Float32Array.from(labels);
}

/** The `mask` option: one 0 or 1 per voxel, as a Uint8Array or Float32Array (or such a volume). */
function bindMask(fn: string, mask: unknown, voxels: number): Source<Uint8Array | Float32Array> {
  const source = sourceOf(mask);
  if (!source || !(source.array instanceof Uint8Array || source.array instanceof Float32Array)) {
    fail(
      "UNSUPPORTED_DTYPE",
      `${fn}: mask must be a Uint8Array or Float32Array (or such a volume) of 0 (leave out) and 1 (keep) per voxel, got ${describe(mask)}.`,
      { option: "mask" },
    );
  }
  const got = source.array.length;
  if (got !== voxels) {
    fail(
      "LENGTH_MISMATCH",
      `${fn}: mask needs one value per voxel, B × spatial = ${voxels}, but has ${got}${got === 0 && source.array.buffer.byteLength === 0 ? DETACHED : ""}; a mask with a class axis is a target, not a mask.`,
      { option: "mask", expected: voxels, actual: got },
    );
  }
  return source as Source<Uint8Array | Float32Array>;
}
