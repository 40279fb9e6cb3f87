// What each of our kernels checks and runs, from its inputs and attributes as
// tfjs passes them: the geometry (tfjs's own Conv3DInfo, so that every shape
// means what it means to tfjs), the operands in the order the kernel takes
// them, and the output's shape. Errors name the kernel and say what to do.
import {
  backend_util,
  Conv3D,
  Conv3DBackpropFilterV2,
  Conv3DBackpropInputV2,
  MaxPool3D,
  MaxPool3DGrad,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../../errors.js";
import { type Conv3DRuntime, filterGrad, forward, inputGrad, maxPool, maxPoolGrad } from "./kernels.js";

type Shape5 = [number, number, number, number, number];
type Info = backend_util.Conv3DInfo;

function float32(kernel: string, name: string, t: TensorInfo): void {
  if (t.dtype !== "float32") {
    throw new DiceWasmError(
      "UNSUPPORTED_DTYPE",
      `${kernel}: ${name} must be float32, got ${t.dtype}; convert with tf.cast(${name}, "float32").`,
    );
  }
}

function rank5(kernel: string, name: string, shape: readonly number[]): Shape5 {
  if (shape.length !== 5) {
    throw new DiceWasmError(
      "INVALID_SHAPE",
      `${kernel}: ${name} must be rank 5 (NDHWC: [batch, depth, height, width, channels]), got [${shape.join(", ")}].`,
    );
  }
  return shape as Shape5;
}

function sameShape(kernel: string, name: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new DiceWasmError(
      "SHAPE_MISMATCH",
      `${kernel}: ${name} has shape [${got.join(", ")}], but the kernel's geometry needs [${want.join(", ")}].`,
    );
  }
}

function channelsMatch(kernel: string, x: Shape5, filter: Shape5): void {
  if (x[4] !== filter[3]) {
    throw new DiceWasmError(
      "SHAPE_MISMATCH",
      `${kernel}: the input has ${x[4]} channels but the filter expects ${filter[3]} (filter shape [depth, height, width, in, out]).`,
    );
  }
}

/** Each kernel's geometry and operands, from its inputs and attributes as tfjs passes them. */
export interface Call {
  info: Info;
  /** the operands, in the order `run` takes them */
  operands: TensorInfo[];
  outShape: number[];
  run: (rt: Conv3DRuntime, info: Info, operands: number[], out: number) => void;
}

export type Attrs = Record<string, unknown>;
export type Inputs = Record<string, TensorInfo | undefined>;

const CONV_CALLS: Record<string, (inputs: Inputs, attrs: Attrs) => Call> = {
  [Conv3D]: ({ x, filter }, { strides, pad, dilations, dataFormat }) => {
    if (dataFormat !== undefined && dataFormat !== "NDHWC") {
      throw new DiceWasmError(
        "INVALID_OPTION",
        `${Conv3D}: only channels-last data (NDHWC) is supported, as in tf.conv3d; got ${dataFormat}.`,
      );
    }
    for (const [n, t] of [
      ["x", x!],
      ["filter", filter!],
    ] as const)
      float32(Conv3D, n, t);
    const xs = rank5(Conv3D, "x", x!.shape);
    const fs = rank5(Conv3D, "filter", filter!.shape);
    channelsMatch(Conv3D, xs, fs);
    const info = backend_util.computeConv3DInfo(xs, fs, strides as number, dilations as number, pad as "same");
    return {
      info,
      operands: [x!, filter!],
      outShape: info.outShape,
      run: (rt, i, [a, b], y) => forward(rt, i, a!, b!, y),
    };
  },
  [Conv3DBackpropInputV2]: ({ dy, filter }, { strides, pad, inputShape }) => {
    for (const [n, t] of [
      ["dy", dy!],
      ["filter", filter!],
    ] as const)
      float32(Conv3DBackpropInputV2, n, t);
    const xs = rank5(Conv3DBackpropInputV2, "inputShape", inputShape as number[]);
    const fs = rank5(Conv3DBackpropInputV2, "filter", filter!.shape);
    channelsMatch(Conv3DBackpropInputV2, xs, fs);
    const info = backend_util.computeConv3DInfo(xs, fs, strides as number, 1, pad as "same");
    // tf.conv3dTranspose(dy, filter, outputShape, …) reaches here: its outputShape is inputShape
    sameShape(`${Conv3DBackpropInputV2} (tf.conv3dTranspose: check outputShape)`, "dy", dy!.shape, info.outShape);
    return {
      info,
      operands: [dy!, filter!],
      outShape: info.inShape,
      run: (rt, i, [a, b], dx) => inputGrad(rt, i, a!, b!, dx),
    };
  },
  [Conv3DBackpropFilterV2]: ({ x, dy }, { strides, pad, filterShape }) => {
    for (const [n, t] of [
      ["x", x!],
      ["dy", dy!],
    ] as const)
      float32(Conv3DBackpropFilterV2, n, t);
    const xs = rank5(Conv3DBackpropFilterV2, "x", x!.shape);
    const fs = rank5(Conv3DBackpropFilterV2, "filterShape", filterShape as number[]);
    channelsMatch(Conv3DBackpropFilterV2, xs, fs);
    const info = backend_util.computeConv3DInfo(xs, fs, strides as number, 1, pad as "same");
    sameShape(Conv3DBackpropFilterV2, "dy", dy!.shape, info.outShape);
    return {
      info,
      operands: [x!, dy!],
      outShape: info.filterShape,
      run: (rt, i, [a, b], dw) => filterGrad(rt, i, a!, b!, dw),
    };
  },
};

/** The pooling geometry of x under MaxPool3D's attributes (tfjs's own, so sizes and padding are exactly tfjs's). */
function poolInfo(kernel: string, x: TensorInfo, attrs: Attrs): Info {
  float32(kernel, "x", x);
  const xs = rank5(kernel, "x", x.shape);
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  return backend_util.computePool3DInfo(
    xs,
    filterSize as number,
    strides as number,
    1,
    pad as "same",
    dimRoundingMode as "floor" | undefined,
  );
}

/** tfjs-wasm 4.22's max pooling starts each window's maximum at FLT_MIN: wrong for negative values. */
const POOL_CALLS: Record<string, (inputs: Inputs, attrs: Attrs) => Call> = {
  [MaxPool3D]: ({ x }, attrs) => {
    if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NDHWC") {
      throw new DiceWasmError(
        "INVALID_OPTION",
        `${MaxPool3D}: only channels-last data (NDHWC) is supported, as in tf.maxPool3d; got ${attrs.dataFormat}.`,
      );
    }
    const info = poolInfo(MaxPool3D, x!, attrs);
    return { info, operands: [x!], outShape: info.outShape, run: (rt, i, [a], y) => maxPool(rt, i, a!, y) };
  },
  [MaxPool3DGrad]: ({ dy, input }, attrs) => {
    const info = poolInfo(MaxPool3DGrad, input!, attrs);
    float32(MaxPool3DGrad, "dy", dy!);
    sameShape(MaxPool3DGrad, "dy", dy!.shape, info.outShape);
    return {
      info,
      operands: [dy!, input!],
      outShape: info.inShape,
      run: (rt, i, [g, a], dx) => maxPoolGrad(rt, i, g!, a!, dx),
    };
  },
};

/** Every kernel we register, by tfjs kernel name. */
export const CALLS = { ...CONV_CALLS, ...POOL_CALLS };
