// Conv3D and its two gradient kernels, and MaxPool3D and its gradient,
// registered for tfjs's wasm and cpu backends in place of tfjs's own.
// tfjs-backend-wasm 4.22's Conv3D gradients are wrong (Conv3DBackpropInputV2 for
// every filter size, Conv3DBackpropFilterV2 for every stride 2: conv3d_impl.h
// bounds the depth loop without the filter corner and rounds negative quotients
// toward zero), all three run at ~0.3 GMAC/s, and its max pooling starts each
// window's maximum at FLT_MIN, the least positive float: a window of negative
// values pools to 1.2e-38 and passes no gradient.
import {
  backend,
  backend_util,
  Conv3D,
  Conv3DBackpropFilterV2,
  Conv3DBackpropInputV2,
  conv3d,
  engine,
  getBackend,
  getGradient,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  MaxPool3D,
  MaxPool3DGrad,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type Tensor5D,
  type TensorInfo,
  unregisterKernel,
  util,
} from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../../errors.js";
import { conv3dScalar, conv3dScalarShared, conv3dSimd, conv3dSimdShared } from "../../generated/conv3d.js";
import type { Allocator } from "../../heap.js";
import { compileEmbedded, runtime, simdSupported } from "../../runtime.js";
import { type CpuBackend, EmscriptenHeap, isShared, prepareCpu, type WasmBackend, wasmMemory } from "../backends.js";
import { checkGeometry } from "./geometry.js";
import {
  type Conv3DExports,
  type Conv3DRuntime,
  filterGrad,
  forward,
  inputGrad,
  maxPool,
  maxPoolGrad,
} from "./kernels.js";

type Shape5 = [number, number, number, number, number];
type Info = backend_util.Conv3DInfo;

/** The compiled builds for this runtime (SIMD or scalar), for plain and shared memories. */
let builds: { plain: WebAssembly.Module; shared: WebAssembly.Module } | undefined;
/** Our kernels per memory: the wasm backend's, or the core runtime's for the cpu backend. */
const runtimes = new WeakMap<WebAssembly.Memory, Conv3DRuntime>();

async function compileBuilds(): Promise<void> {
  const simd = simdSupported();
  const kind = simd ? "simd" : "scalar";
  const [plain, shared] = await Promise.all([
    compileEmbedded(`conv3d-${kind}`, simd ? conv3dSimd : conv3dScalar),
    compileEmbedded(`conv3d-${kind}-shared`, simd ? conv3dSimdShared : conv3dScalarShared),
  ]);
  builds = { plain, shared };
}

/**
 * Our kernels on `memory`, instantiated the first time it is seen (synchronously:
 * the module is compiled already, and it is small), so that a backend switched
 * to after registration, or a runtime made again by init(), gets them too.
 */
function runtimeOn(memory: WebAssembly.Memory, heap: () => Allocator): Conv3DRuntime {
  let rt = runtimes.get(memory);
  if (rt) return rt;
  if (!builds) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm/tfjs: call `await registerConv3D()` (or registerDiceOps) first.",
    );
  }
  const instance = new WebAssembly.Instance(isShared(memory) ? builds.shared : builds.plain, { env: { memory } });
  checkGeometry(instance.exports);
  const kernels = instance.exports as unknown as Conv3DExports;
  rt = { kernels, heap: heap(), lanes: kernels.LANES.value as number };
  runtimes.set(memory, rt);
  return rt;
}

function wasmRuntimeOf(backend: KernelBackend): Conv3DRuntime {
  const b = backend as WasmBackend;
  const memory = wasmMemory(b);
  return runtimeOn(memory, () => new EmscriptenHeap(b, memory));
}

function cpuRuntime(): Conv3DRuntime {
  const { heap } = runtime(); // NOT_INITIALIZED before init(), which registerConv3D awaits
  return runtimeOn(heap.memory, () => heap);
}

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
      `${kernel}: ${name} has shape [${got.join(", ")}], but the convolution's geometry needs [${want.join(", ")}].`,
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
interface Call {
  info: Info;
  /** the operands, in the order `run` takes them */
  operands: TensorInfo[];
  outShape: number[];
  run: (rt: Conv3DRuntime, info: Info, operands: number[], out: number) => void;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, TensorInfo | undefined>;

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
const CALLS = { ...CONV_CALLS, ...POOL_CALLS };

/** On tfjs-wasm: operands read where they lie, the output made by the backend. */
function onWasm(call: Call, backend: KernelBackend): TensorInfo {
  const b = backend as WasmBackend;
  const rt = wasmRuntimeOf(b);
  const offset = (t: TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  const out = b.makeOutput(call.outShape, "float32");
  try {
    call.run(rt, call.info, call.operands.map(offset), offset(out));
  } catch (error) {
    b.disposeData(out.dataId, true);
    throw error;
  }
  return out;
}

/** On tfjs-cpu: operands copied into our memory and the result out (the copies are small next to the work). */
function onCpu(call: Call, backend: KernelBackend): TensorInfo {
  const b = backend as CpuBackend;
  const rt = cpuRuntime();
  const { heap } = rt;
  const values = (t: TensorInfo) => b.data.get(t.dataId)!.values as Float32Array;
  const lengths = [...call.operands.map((t) => util.sizeFromShape(t.shape)), util.sizeFromShape(call.outShape)];
  const ptrs: number[] = [];
  try {
    for (const n of lengths) ptrs.push(heap.alloc(4 * Math.max(n, 1)));
    call.operands.forEach((t, i) => {
      new Float32Array(heap.memory.buffer, ptrs[i]!, lengths[i]).set(values(t));
    });
    const out = ptrs.at(-1)!;
    call.run(rt, call.info, ptrs.slice(0, -1), out);
    const result = new Float32Array(heap.memory.buffer, out, lengths.at(-1)).slice();
    return b.makeTensorInfo(call.outShape, "float32", result);
  } finally {
    for (const [i, p] of ptrs.entries()) heap.release(p, 4 * Math.max(lengths[i]!, 1));
  }
}

const ON = { wasm: onWasm, cpu: onCpu } as const;
const ours = new WeakSet<KernelFunc>();
/** tfjs's own kernels, kept when ours replace them, for unregisterConv3D. */
const theirs = new Map<string, KernelConfig>();

/**
 * Which kernels tf.conv3d and its gradients run on the active backend: ours,
 * or tfjs's own (also on backends we have none for).
 */
export function conv3dImplementation(): "dice-wasm" | "tfjs" {
  const kernel = getKernel(Conv3D, getBackend());
  return kernel && ours.has(kernel.kernelFunc) ? "dice-wasm" : "tfjs";
}

/**
 * Registers our Conv3D, Conv3DBackpropInputV2 and Conv3DBackpropFilterV2, and
 * MaxPool3D and MaxPool3DGrad, for tfjs's wasm and cpu backends, replacing
 * tfjs's own, and a gradient for Conv3DBackpropInputV2 (tf.conv3dTranspose),
 * which tfjs lacks.
 * `registerDiceOps()` calls it unless `{ conv3d: false }`. Call it after the
 * backend packages are imported: a backend imported later registers its own.
 *
 * @example
 * await tf.setBackend("wasm");
 * await registerConv3D(); // tf.conv3d, tf.conv3dTranspose, tf.maxPool3d and their layers now run our kernels
 */
export async function registerConv3D(): Promise<void> {
  // everything that can fail first, so that a failure leaves tfjs's kernels in place
  await prepareCpu();
  await compileBuilds();
  if (getBackend() === "wasm") wasmRuntimeOf(backend());
  for (const [backendName, on] of Object.entries(ON)) {
    for (const [kernelName, callOf] of Object.entries(CALLS)) {
      const current = getKernel(kernelName, backendName);
      if (current && ours.has(current.kernelFunc)) continue;
      if (current) {
        theirs.set(`${kernelName}/${backendName}`, current);
        unregisterKernel(kernelName, backendName);
      }
      const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) =>
        on(callOf(inputs as Inputs, (attrs ?? {}) as Attrs), backend as KernelBackend);
      ours.add(kernelFunc);
      registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
  registerTransposeGradient();
}

/**
 * Puts tfjs's own Conv3D and MaxPool3D kernels back where ours replaced them (the gradient
 * of tf.conv3dTranspose stays: tfjs has none). `registerDiceOps({ conv3d: false })`
 * calls it.
 */
export function unregisterConv3D(): void {
  for (const backendName of Object.keys(ON)) {
    for (const kernelName of Object.keys(CALLS)) {
      const current = getKernel(kernelName, backendName);
      if (!current || !ours.has(current.kernelFunc)) continue;
      unregisterKernel(kernelName, backendName);
      const original = theirs.get(`${kernelName}/${backendName}`);
      if (original) registerKernel(original);
    }
  }
}

/**
 * tfjs registers no gradient for Conv3DBackpropInputV2, the kernel of
 * tf.conv3dTranspose, so a transposed Conv3D layer (a U-Net's upsampling)
 * cannot train. dx is linear in dy and in the filter: its adjoint in dy is
 * the forward convolution of the upstream gradient, and its adjoint in the
 * filter is the filter gradient with the upstream gradient as x.
 */
export function registerTransposeGradient(): void {
  if (getGradient(Conv3DBackpropInputV2)) return;
  registerGradient({
    kernelName: Conv3DBackpropInputV2,
    inputsToSave: ["dy", "filter"],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [Tensor5D, Tensor5D];
      const upstream = (Array.isArray(ddx) ? ddx[0] : ddx) as Tensor5D;
      const { strides, pad } = attrs as unknown as { strides: [number, number, number]; pad: "same" | "valid" };
      return {
        dy: () => conv3d(upstream, filter, strides, pad),
        filter: () =>
          engine().runKernel(Conv3DBackpropFilterV2, { x: upstream, dy }, {
            strides,
            pad,
            filterShape: filter.shape,
          } as unknown as NamedAttrMap) as Tensor,
      };
    },
  });
}
