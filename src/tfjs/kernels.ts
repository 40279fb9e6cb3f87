// The registered kernels: the loss and its gradient, per accelerated backend,
// and the registered gradient that connects them through the engine.
//
// The gradient needs pass 1's statistics and activation. They are not extra
// outputs of the loss kernel: during backprop the engine makes a zero gradient,
// in a fresh JavaScript array, for every output nobody differentiates — ~120 ms
// of page faults for a [1, 128³, 4] activation. Instead, while a gradient is
// recorded, runLoss makes two tensors without contents and passes them as inputs
// the loss kernel fills; the engine saves them for the gradient (inputs to
// save are cloned: one copy within the backend's memory) and disposes them
// after backprop, as it does any saved tensor.
import {
  engine,
  getBackend,
  type KernelBackend,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type TensorInfo,
  tidy,
} from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";
import { STAT_CE, STAT_COUNT, STAT_FN, STAT_FP, STAT_SE, STAT_TP, STATS } from "../kernel-codes.js";
import { type AnyLossOptions, LOSSES, type LossKind, lossBackward, lossForward } from "../losses.js";
import type { RawStats } from "../passes.js";
import type { LossWarning, WarningCode } from "../warnings.js";
import { ACCELERATED, type AcceleratedBackend, type BackendAccess, type TensorData } from "./backends.js";

/** Kernel names, namespaced so that they cannot meet tfjs's own. */
export const LOSS_KERNEL = "DiceWasmOverlapLoss";
export const LOSS_GRAD_KERNEL = "DiceWasmOverlapLossGrad";

/** The attributes both kernels take: the loss and the core options (shape included). */
export interface LossAttrs {
  kind: LossKind;
  options: AnyLossOptions;
}

/** Rows of the saved statistics: one per statistic, then what ignoreIndex and mask left out (per batch item). */
const SAVED_ROWS = STATS + 1;

/** Pass 1's statistics as a float32 tensor [2, SAVED_ROWS, B·C]: the float64 values split into high and low parts. */
function packStats(raw: RawStats, out: Float32Array): void {
  const n = raw.tp.length;
  const ignored = new Float64Array(n);
  ignored.set(raw.ignored);
  // the rows in the kernels' statistic order, then what was left out
  const fields = new Array<Float64Array>(SAVED_ROWS);
  fields[STAT_TP] = raw.tp;
  fields[STAT_FP] = raw.fp;
  fields[STAT_FN] = raw.fn;
  fields[STAT_SE] = raw.se;
  fields[STAT_COUNT] = raw.count;
  fields[STAT_CE] = raw.ce;
  fields[STATS] = ignored;
  fields.forEach((field, s) => {
    for (let i = 0; i < n; i++) {
      const hi = Math.fround(field[i]!);
      out[s * n + i] = hi;
      out[(SAVED_ROWS + s) * n + i] = field[i]! - hi;
    }
  });
}

function unpackStats(packed: TensorData, n: number, B: number): RawStats {
  const field = (s: number, length = n) =>
    Float64Array.from({ length }, (_, i) => packed[s * n + i]! + packed[(SAVED_ROWS + s) * n + i]!);
  return {
    ...{ tp: field(STAT_TP), fp: field(STAT_FP), fn: field(STAT_FN), se: field(STAT_SE) },
    ...{ count: field(STAT_COUNT), ce: field(STAT_CE) },
    ignored: field(STATS, B),
    nonFinite: 0,
  };
}

/** The loss's output shape: [] for 'mean'/'sum'; [rows, classes kept], or [rows] for generalized Dice, for 'none'. */
function lossShape(attrs: LossAttrs): number[] {
  const { kind, options } = attrs;
  if (options.reduction !== "none") return [];
  const { shape, batch, includeBackground } = options;
  const C = classes(attrs);
  const rows = batch ? 1 : shape[0]!;
  if (LOSSES[kind].perRow) return [rows];
  return [rows, includeBackground === false && C > 1 ? C - 1 : C];
}

/**
 * The losses' warnings (options MONAI would warn about, values outside [0, 1]),
 * printed once per cause: a training loop would otherwise print one a step.
 */
const warned = new Set<WarningCode>();
export function warnOnce(warnings: LossWarning[]): void {
  for (const { code, message } of warnings) {
    if (warned.has(code)) continue;
    warned.add(code);
    console.warn(`dice-wasm: ${message}`);
  }
}

/** The number of classes, from the prediction's shape. */
function classes({ options }: LossAttrs): number {
  const { shape, layout } = options;
  return layout === "channels-first" ? shape[1]! : shape[shape.length - 1]!;
}

/** Pass 1's results for the gradient: the activation (the prediction's shape) and the statistics [2, SAVED_ROWS, B·C]. */
interface Saved<T = TensorInfo> {
  activation: T;
  stats: T;
}

function forward(
  access: BackendAccess,
  x: TensorInfo,
  y: TensorInfo,
  saved: Saved | undefined,
  attrs: LossAttrs,
): TensorInfo {
  const { kind, options } = attrs;
  return access.run(classes(attrs), () => {
    // the output first, so that the views pass 1 takes stay attached while it runs
    const value = access.output(lossShape(attrs), () => {});
    try {
      const prediction = access.read(x) as Float32Array;
      const keep = saved ? (access.read(saved.activation) as Float32Array) : undefined;
      const { loss, raw, warnings } = lossForward(LOSSES[kind], prediction, access.read(y), options, keep);
      warnOnce(warnings);
      const out = access.read(value) as Float32Array;
      if (typeof loss === "number") out[0] = loss;
      else out.set(loss);
      if (saved) packStats(raw, access.read(saved.stats) as Float32Array);
    } catch (error) {
      access.release(value);
      throw error;
    }
    return value;
  });
}

function backward(access: BackendAccess, dy: TensorInfo, y: TensorInfo, saved: Saved, attrs: LossAttrs): TensorInfo {
  const { kind, options } = attrs;
  const { activation, stats } = saved;
  // room for the workspace first, then the output: views taken after both stay attached
  return access.run(classes(attrs), () =>
    access.output([...activation.shape], (dx) => {
      const upstream = Float64Array.from(access.read(dy));
      const raw = unpackStats(access.read(stats), stats.shape[2]!, options.shape[0]!);
      const keep = access.read(activation) as Float32Array;
      // the activation stands in for the prediction: same shape, and pass 2 reads nothing else of it
      lossBackward(
        LOSSES[kind],
        keep,
        access.read(y),
        options,
        raw,
        keep,
        dy.shape.length ? upstream : upstream[0]!,
        dx,
      );
    }),
  );
}

/** The kernel's attributes as our type (tfjs passes them through untouched). */
const asAttrs = (attrs: NamedAttrMap | undefined) => attrs as unknown as LossAttrs;

let registered = false;

/** Registers both kernels on every accelerated backend and the gradient, once. */
export function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of Object.keys(ACCELERATED) as AcceleratedBackend[]) {
    const accessOf = (backend: unknown) => ACCELERATED[name](backend as KernelBackend);
    registerKernel({
      kernelName: LOSS_KERNEL,
      backendName: name,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, y, activation, stats } = inputs;
        const saved = activation && stats ? { activation, stats } : undefined;
        return forward(accessOf(backend), x!, y!, saved, asAttrs(attrs));
      },
    });
    registerKernel({
      kernelName: LOSS_GRAD_KERNEL,
      backendName: name,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, y, activation, stats } = inputs;
        return backward(accessOf(backend), dy!, y!, { activation: activation!, stats: stats! }, asAttrs(attrs));
      },
    });
  }
  registerGradient({
    kernelName: LOSS_KERNEL,
    inputsToSave: ["y", "activation", "stats"],
    gradFunc: (dy, saved, attrs) => {
      const [y, activation, stats] = saved as [Tensor, Tensor, Tensor];
      const dLoss = Array.isArray(dy) ? dy[0]! : dy;
      return {
        x: () => engine().runKernel(LOSS_GRAD_KERNEL, { dy: dLoss, y, activation, stats }, attrs) as Tensor,
        y: () => {
          throw new DiceWasmError(
            "NOT_DIFFERENTIABLE",
            "dice-wasm/tfjs: the losses are differentiable with respect to the predictions only, not the labels.",
          );
        },
      };
    },
  });
}

/**
 * Runs the loss kernel. While a gradient is recorded it first makes the two
 * tensors pass 1 fills for the gradient (see the top of this file): the
 * engine's saved copies outlive this tidy; evaluation writes nothing of them.
 */
export function runLoss(x: Tensor, y: Tensor, attrs: LossAttrs): Tensor {
  const { state } = engine();
  const recording = state.gradientDepth > 0 && state.kernelDepth === 0;
  const named = attrs as unknown as NamedAttrMap;
  if (!recording) return engine().runKernel(LOSS_KERNEL, { x, y }, named) as Tensor;
  return tidy(() => {
    const access = ACCELERATED[getBackend() as AcceleratedBackend](engine().backend);
    const empty = (shape: number[]) => engine().makeTensorFromTensorInfo(access.output(shape, () => {}));
    const saved = { activation: empty([...x.shape]), stats: empty([2, SAVED_ROWS, lossItems(attrs)]) };
    return engine().runKernel(LOSS_KERNEL, { x, y, ...saved }, named) as Tensor;
  });
}

/** B·C: the (batch item, class) pairs pass 1 sums statistics for. */
function lossItems(attrs: LossAttrs): number {
  return attrs.options.shape[0]! * classes(attrs);
}
