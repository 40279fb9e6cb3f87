// dice-wasm/tfjs: the losses as TensorFlow.js ops with registered kernels and a
// registered gradient. Labels first, predictions second, as in tf.losses.*.
import * as tf from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";
import { FOCAL_KEYS, readFocal } from "../focal.js";
import { checkLossOptions, LOSSES, type LossKind } from "../losses.js";
import { checkKeys, readOptions } from "../options.js";
import {
  coreOptions,
  type TensorDiceCEOptions,
  type TensorDiceFocalOptions,
  type TensorDiceOptions,
  type TensorFocalOptions,
  type TensorGeneralizedDiceFocalOptions,
  type TensorGeneralizedDiceOptions,
  type TensorLossOptions,
  type TensorTverskyOptions,
} from "./arguments.js";
import { prepareCpu, prepareWasm, ready } from "./backends.js";
import { compositeLoss } from "./composite.js";
import { registerConv3D, registerTransposeGradient, unregisterConv3D } from "./conv3d/register.js";
import { LOSS_KERNEL, registerKernels, runLoss, warnOnce } from "./kernels.js";

export type {
  TensorDiceCEOptions,
  TensorDiceFocalOptions,
  TensorDiceOptions,
  TensorFocalOptions,
  TensorGeneralizedDiceFocalOptions,
  TensorGeneralizedDiceOptions,
  TensorTverskyOptions,
} from "./arguments.js";
export { compositeLoss } from "./composite.js";
export { conv3dImplementation, registerConv3D, unregisterConv3D } from "./conv3d/register.js";
export { type DiceMetricOptions, diceMetric } from "./metric.js";
export { type ClipOptions, clipByGlobalNorm, diceWarmup, type WarmupOptions } from "./training.js";

export interface RegisterOptions {
  /** Replace tfjs's Conv3D and MaxPool3D kernels (and their gradients) on cpu and wasm with ours; false puts tfjs's back. Default true. */
  conv3d?: boolean;
}

/**
 * Registers our kernels (cpu and wasm backends) and their gradient, and
 * instantiates our wasm kernels on the tfjs wasm backend's memory when it is
 * the active one. Call once after the backend is chosen, and again after
 * switching to 'wasm'. Other backends run the same losses as tf ops. Also
 * registers our Conv3D kernels (`registerConv3D`) unless `{ conv3d: false }`.
 *
 * @example
 * await tf.setBackend("wasm");
 * await registerDiceOps();
 */
export async function registerDiceOps(options: RegisterOptions = {}): Promise<void> {
  for (const [key, value] of Object.entries(options)) {
    if (key !== "conv3d" || (value !== undefined && typeof value !== "boolean")) {
      throw new DiceWasmError(
        "INVALID_OPTION",
        key === "conv3d"
          ? `registerDiceOps: conv3d must be true or false, got ${JSON.stringify(value)}.`
          : `registerDiceOps: unknown option '${key}'; the only option is conv3d (true or false).`,
      );
    }
  }
  registerKernels();
  await prepareCpu();
  if (tf.getBackend() === "wasm") await prepareWasm(tf.backend());
  registerTransposeGradient(); // tfjs has none for tf.conv3dTranspose, whoever's kernels run
  if (options.conv3d ?? true) await registerConv3D();
  else unregisterConv3D();
}

/** Which implementation the losses use on the active backend: our kernels, or tf ops. */
export function lossImplementation(): "kernels" | "tf-ops" {
  return ready(tf.getBackend(), tf.backend()) && tf.getKernel(LOSS_KERNEL, tf.getBackend()) ? "kernels" : "tf-ops";
}

function tensorOf(fn: string, name: string, value: unknown): tf.Tensor {
  if (value instanceof tf.Tensor && value.isDisposed) {
    throw new DiceWasmError(
      "VOLUME_FREED",
      `${fn}: ${name} is a disposed tensor; keep it alive (outside the tf.tidy that made it, or undisposed) until the loss is computed.`,
    );
  }
  if (value instanceof tf.Tensor) return value;
  throw new DiceWasmError("UNSUPPORTED_DTYPE", `${fn}: ${name} must be a tf.Tensor, got ${typeof value}.`);
}

let toldToPrepare = false;

function lossOp(kind: LossKind, labels: tf.Tensor, predictions: tf.Tensor, options: TensorLossOptions): tf.Tensor {
  const spec = LOSSES[kind];
  const { fn } = spec;
  const y = tensorOf(fn, "labels", labels);
  const x = tensorOf(fn, "predictions", predictions);
  const resolved = coreOptions(kind, y, x, options);
  // every option checked on every backend; the kernels check them again with the data
  const warnings = checkLossOptions(spec, resolved, fn);
  // terms summed per element (focal, BCE, label smoothing): tf ops on every backend for now
  const kernels = lossImplementation() === "kernels";
  if (kernels && !spec.elementwise(resolved)) return runLoss(x, y, { kind, options: resolved });
  warnOnce(warnings); // tf ops: only what the options show (the kernels also prove values outside [0, 1])
  if (!kernels && tf.getBackend() === "wasm" && !toldToPrepare) {
    // a backend we accelerate, not prepared: say so once rather than run 6× slower in silence
    toldToPrepare = true;
    console.warn("dice-wasm: call `await registerDiceOps()` after `tf.setBackend('wasm')`; using tf ops until then.");
  }
  return compositeLoss(kind, y, x, resolved);
}

/**
 * Soft Dice loss (or Jaccard, or squared-denominator) of `predictions` against
 * `labels`: one-hot masks of the predictions' shape, or a label map of class ids
 * without the class axis. A scalar for 'mean'/'sum', [B, C] for 'none'.
 *
 * @example
 * model.compile({ optimizer: "adam", loss: (yTrue, yPred) => diceLoss(yTrue, yPred, { softmax: true }) });
 */
export function diceLoss(labels: tf.Tensor, predictions: tf.Tensor, options: TensorDiceOptions = {}): tf.Tensor {
  return lossOp("dice", labels, predictions, options);
}

/**
 * Dice + cross-entropy (MONAI's DiceCELoss) on softmax logits: λ_dice·Dice +
 * λ_ce·CE, the cross-entropy fused into the same kernels. A scalar.
 *
 * @example
 * const loss = diceCELoss(labelMap, logits, { softmax: true, lambdaDice: 1, lambdaCe: 1 });
 */
export function diceCELoss(labels: tf.Tensor, predictions: tf.Tensor, options: TensorDiceCEOptions = {}): tf.Tensor {
  return lossOp("diceCE", labels, predictions, options);
}

/**
 * Tversky loss: α weighs false positives, β false negatives (α = β = 0.5 is Dice).
 *
 * @example
 * const loss = tverskyLoss(labels, logits, { sigmoid: true, alpha: 0.3, beta: 0.7 });
 */
export function tverskyLoss(labels: tf.Tensor, predictions: tf.Tensor, options: TensorTverskyOptions = {}): tf.Tensor {
  return lossOp("tversky", labels, predictions, options);
}

/**
 * Generalized Dice loss: classes weighted by 1/(Σg)². A scalar, or [B] for 'none'.
 *
 * @example
 * const g = tf.grad((x) => generalizedDiceLoss(labelMap, x, { softmax: true }))(logits);
 */
export function generalizedDiceLoss(
  labels: tf.Tensor,
  predictions: tf.Tensor,
  options: TensorGeneralizedDiceOptions = {},
): tf.Tensor {
  return lossOp("generalizedDice", labels, predictions, options);
}

/**
 * Dice + focal (MONAI's DiceFocalLoss): λ_dice·Dice + λ_focal·focal, the focal
 * term a sigmoid per element on the logits even with `softmax: true`, as in
 * MONAI. A scalar. Built from tf ops (with tfjs's autodiff) on every backend.
 *
 * @example
 * const loss = diceFocalLoss(labelMap, logits, { softmax: true, gamma: 2 });
 */
export function diceFocalLoss(
  labels: tf.Tensor,
  predictions: tf.Tensor,
  options: TensorDiceFocalOptions = {},
): tf.Tensor {
  return lossOp("diceFocal", labels, predictions, options);
}

/**
 * Generalized Dice + focal (MONAI's GeneralizedDiceFocalLoss). A scalar. Built
 * from tf ops on every backend.
 *
 * @example
 * const loss = generalizedDiceFocalLoss(labelMap, logits, { softmax: true, lambdaFocal: 0.5 });
 */
export function generalizedDiceFocalLoss(
  labels: tf.Tensor,
  predictions: tf.Tensor,
  options: TensorGeneralizedDiceFocalOptions = {},
): tf.Tensor {
  return lossOp("generalizedDiceFocal", labels, predictions, options);
}

/** focalLoss's options less what the tensors say, and the mask (see coreOptions) */
const FOCAL_OPTION_KEYS = FOCAL_KEYS.filter((k) => !["shape", "toOnehotY", "grad", "mask"].includes(k));

/**
 * Focal loss (MONAI's FocalLoss) on logits: a sigmoid per element, or the
 * softmax with `useSoftmax`. A scalar, or every element for 'none' (the
 * predictions' shape, classes kept). Built from tf ops on every backend.
 *
 * @example
 * const loss = focalLoss(labelMap, logits, { useSoftmax: true, gamma: 2 });
 */
export function focalLoss(labels: tf.Tensor, predictions: tf.Tensor, options: TensorFocalOptions = {}): tf.Tensor {
  const y = tensorOf("focalLoss", "labels", labels);
  const x = tensorOf("focalLoss", "predictions", predictions);
  const resolved = coreOptions("focal", y, x, options);
  checkKeys("focalLoss", options, FOCAL_OPTION_KEYS);
  const declared = readOptions("focalLoss", resolved);
  warnOnce([
    ...declared.warnings,
    ...readFocal("focalLoss", resolved, declared.C, Boolean(resolved.useSoftmax)).warnings,
  ]);
  return compositeLoss("focal", y, x, resolved);
}
