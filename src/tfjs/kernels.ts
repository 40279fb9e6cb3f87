// The registered kernels: the loss (value, plus pass 1's statistics saved for
// the gradient) and its gradient, per accelerated backend, and the registered
// gradient that connects them through the engine.
import {
  engine,
  type KernelBackend,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";
import { type AnyLossOptions, type LossKind, lossBackward, lossForward } from "../losses.js";
import type { RawStats } from "../passes.js";
import { STATS } from "../workspace.js";
import { ACCELERATED, type AcceleratedBackend, type BackendAccess, type TensorData } from "./backends.js";

/** Kernel names, namespaced so that they cannot meet tfjs's own. */
export const LOSS_KERNEL = "DiceWasmOverlapLoss";
export const LOSS_GRAD_KERNEL = "DiceWasmOverlapLossGrad";

/** The attributes both kernels take: the loss and the core options (shape included). */
export interface LossAttrs {
  kind: LossKind;
  options: AnyLossOptions;
}

/** Pass 1's statistics as a float32 tensor [2, STATS, B·C]: the float64 values split into high and low parts. */
function packStats(raw: RawStats, out: Float32Array): void {
  const fields = [raw.tp, raw.fp, raw.fn, raw.se, raw.count, raw.ce];
  const n = raw.tp.length;
  fields.forEach((field, s) => {
    for (let i = 0; i < n; i++) {
      const hi = Math.fround(field[i]!);
      out[s * n + i] = hi;
      out[(STATS + s) * n + i] = field[i]! - hi;
    }
  });
}

function unpackStats(packed: TensorData, n: number): RawStats {
  const field = (s: number) =>
    Float64Array.from({ length: n }, (_, i) => packed[s * n + i]! + packed[(STATS + s) * n + i]!);
  return { tp: field(0), fp: field(1), fn: field(2), se: field(3), count: field(4), ce: field(5), nonFinite: 0 };
}

/** The loss's output shape: [] for 'mean'/'sum'; [rows, classes kept], or [rows] for generalized Dice, for 'none'. */
function lossShape(attrs: LossAttrs): number[] {
  const { kind, options } = attrs;
  if (options.reduction !== "none") return [];
  const { shape, batch, includeBackground } = options;
  const C = classes(attrs);
  const rows = batch ? 1 : shape[0]!;
  if (kind === "generalizedDice") return [rows];
  return [rows, includeBackground === false && C > 1 ? C - 1 : C];
}

/** Warnings MONAI would print (softmax with one class, ...), printed once each. */
const warned = new Set<string>();
function warnOnce(messages: string[]): void {
  for (const message of messages) {
    if (warned.has(message)) continue;
    warned.add(message);
    console.warn(`dice-wasm: ${message}`);
  }
}

/** The number of classes, from the prediction's shape. */
function classes({ options }: LossAttrs): number {
  const { shape, layout } = options;
  return layout === "channels-first" ? shape[1]! : shape[shape.length - 1]!;
}

function forward(access: BackendAccess, x: TensorInfo, y: TensorInfo, attrs: LossAttrs): TensorInfo[] {
  const { kind, options } = attrs;
  const { loss, raw, warnings } = access.run(classes(attrs), () =>
    lossForward(kind, access.read(x) as Float32Array, access.read(y), options),
  );
  warnOnce(warnings);
  const value = access.output(lossShape(attrs), (out) => {
    if (typeof loss === "number") out[0] = loss;
    else out.set(loss);
  });
  const stats = access.output([2, STATS, raw.tp.length], (out) => packStats(raw, out));
  return [value, stats];
}

function backward(
  access: BackendAccess,
  dy: TensorInfo,
  x: TensorInfo,
  y: TensorInfo,
  stats: TensorInfo,
  attrs: LossAttrs,
): TensorInfo {
  const { kind, options } = attrs;
  // room for the workspace first, then the output: views taken after both stay attached
  return access.run(classes(attrs), () =>
    access.output([...x.shape], (dx) => {
      const upstream = Float64Array.from(access.read(dy));
      const raw = unpackStats(access.read(stats), stats.shape[2]!);
      const prediction = access.read(x) as Float32Array;
      lossBackward(kind, prediction, access.read(y), options, raw, dy.shape.length ? upstream : upstream[0]!, dx);
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
      kernelFunc: ({ inputs, backend, attrs }) => forward(accessOf(backend), inputs.x!, inputs.y!, asAttrs(attrs)),
    });
    registerKernel({
      kernelName: LOSS_GRAD_KERNEL,
      backendName: name,
      kernelFunc: ({ inputs, backend, attrs }) =>
        backward(accessOf(backend), inputs.dy!, inputs.x!, inputs.y!, inputs.stats!, asAttrs(attrs)),
    });
  }
  registerGradient({
    kernelName: LOSS_KERNEL,
    inputsToSave: ["x", "y"],
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y, stats] = saved as [Tensor, Tensor, Tensor];
      const dLoss = Array.isArray(dy) ? dy[0]! : dy;
      return {
        x: () => engine().runKernel(LOSS_GRAD_KERNEL, { dy: dLoss, x, y, stats }, attrs) as Tensor,
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

/** Runs the loss kernel: returns the loss and disposes the statistics (the engine keeps its own copy for the gradient). */
export function runLoss(x: Tensor, y: Tensor, attrs: LossAttrs): Tensor {
  const [loss, stats] = engine().runKernel(LOSS_KERNEL, { x, y }, attrs as unknown as NamedAttrMap) as Tensor[];
  stats!.dispose();
  return loss!;
}
