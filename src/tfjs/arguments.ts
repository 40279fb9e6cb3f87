// From tensors to the core API's options: the shape, the layout, and whether
// the labels are one-hot or a label map, read from the tensors themselves.
import { DiceWasmError } from "../errors.js";
import type { FocalOptions } from "../focal.js";
import { type AnyLossOptions, LOSSES, type LossKind } from "../losses.js";
import {
  type DiceCEOptions,
  type DiceFocalOptions,
  type DiceOptions,
  type GeneralizedDiceFocalOptions,
  type GeneralizedDiceOptions,
  oneOf,
  type TverskyOptions,
} from "../options.js";

/** What the tensor ops take: the core options without what the tensors already say (and no voxel mask: see coreOptions). */
type TensorOptions<O> = Omit<O, "shape" | "grad" | "toOnehotY" | "mask">;
export type TensorDiceOptions = TensorOptions<DiceOptions>;
export type TensorDiceCEOptions = TensorOptions<DiceCEOptions>;
export type TensorTverskyOptions = TensorOptions<TverskyOptions>;
export type TensorGeneralizedDiceOptions = TensorOptions<GeneralizedDiceOptions>;
export type TensorDiceFocalOptions = TensorOptions<DiceFocalOptions>;
export type TensorGeneralizedDiceFocalOptions = TensorOptions<GeneralizedDiceFocalOptions>;
export type TensorFocalOptions = TensorOptions<FocalOptions>;
export type TensorLossOptions = TensorOptions<AnyLossOptions>;

/** The part of a tensor these checks read (a Tensor or a kernel's TensorInfo). */
export interface ShapeAndType {
  readonly shape: readonly number[];
  readonly dtype: string;
}

const LABEL_DTYPES = ["float32", "int32", "bool"];

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The core options for labels and predictions with `options`: labels of the
 * predictions' shape are one-hot (or soft) masks; labels without the class axis,
 * or with a class axis of size 1, are label maps.
 */
export function coreOptions(
  kind: LossKind | "focal",
  labels: ShapeAndType,
  predictions: ShapeAndType,
  options: TensorLossOptions | TensorFocalOptions,
): AnyLossOptions {
  const fn = kind === "focal" ? "focalLoss" : LOSSES[kind].fn;
  if (options === null || typeof options !== "object") {
    throw new DiceWasmError("INVALID_OPTION", `${fn}: options must be an object (or left out).`);
  }
  if ("shape" in options || "grad" in options || "toOnehotY" in options) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: shape, grad and toOnehotY come from the tensors here (labels without the class axis are a label map); leave them out and use tf.grad for gradients.`,
    );
  }
  if ("mask" in options) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: the tfjs ops take ignoreIndex, not a mask: give the voxels to leave out that label, e.g. tf.where(tf.cast(mask, 'bool'), labels, 255) with ignoreIndex: 255.`,
      { option: "mask" },
    );
  }
  if (predictions.dtype !== "float32") {
    throw new DiceWasmError(
      "UNSUPPORTED_DTYPE",
      `${fn}: predictions must be float32, got ${predictions.dtype}; cast with tf.cast(x, 'float32'). (The tfjs ops take labels first, predictions second, as tf.losses does.)`,
    );
  }
  if (!LABEL_DTYPES.includes(labels.dtype)) {
    throw new DiceWasmError(
      "UNSUPPORTED_DTYPE",
      `${fn}: labels must be float32 (one-hot or soft masks, or class ids), int32 or bool (class ids), got ${labels.dtype}.`,
    );
  }
  const shape = predictions.shape;
  const layout = oneOf(fn, "layout", options.layout, ["channels-last", "channels-first"] as const, "channels-last");
  const channelsLast = layout === "channels-last";
  const channel = channelsLast ? shape.length - 1 : 1;
  if (shape.length < 2) {
    throw new DiceWasmError(
      "INVALID_SHAPE",
      `${fn}: predictions need a batch and a class axis (${channelsLast ? "[B, ...spatial, C]" : "[B, C, ...spatial]"}), got shape [${shape}].`,
    );
  }
  const withoutChannel = shape.filter((_, i) => i !== channel);
  const singleChannel = shape.map((d, i) => (i === channel ? 1 : d));
  const C = shape[channel]!;
  let toOnehotY: boolean;
  if (same(labels.shape, shape)) toOnehotY = false;
  else if (same(labels.shape, withoutChannel) || same(labels.shape, singleChannel)) toOnehotY = true;
  else {
    throw new DiceWasmError(
      "SHAPE_MISMATCH",
      `${fn}: labels of shape [${labels.shape}] fit neither predictions of shape [${shape}] (one-hot masks) nor [${withoutChannel}] or [${singleChannel}] (a label map of class ids). The tfjs ops take labels first, predictions second, as tf.losses does.`,
      { labels: [...labels.shape], predictions: [...shape] },
    );
  }
  if (!toOnehotY && C > 1 && labels.dtype !== "float32") {
    throw new DiceWasmError(
      "UNSUPPORTED_DTYPE",
      `${fn}: ${labels.dtype} labels of the predictions' shape are not masks; pass float32 one-hot masks, or class ids without the class axis.`,
    );
  }
  return { ...(options as TensorLossOptions), shape: [...shape], toOnehotY };
}
