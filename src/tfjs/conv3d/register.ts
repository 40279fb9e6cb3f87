// Conv3D and its two gradient kernels, registered for tfjs's wasm and cpu
// backends in place of tfjs's own. tfjs-backend-wasm 4.22's gradients are wrong
// (Conv3DBackpropInputV2 for every filter size, Conv3DBackpropFilterV2 for every
// stride 2: conv3d_impl.h bounds the depth loop without the filter corner and
// rounds negative quotients toward zero), and all three run at ~0.3 GMAC/s.
import {
  backend,
  backend_util,
  Conv3D,
  Conv3DBackpropFilterV2,
  Conv3DBackpropInputV2,
  conv3d,
  engine,
  getBackend,
  getKernel,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type Tensor5D,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../../errors.js";
import { conv3dScalar, conv3dScalarShared, conv3dSimd, conv3dSimdShared } from "../../generated/conv3d.js";
import type { Allocator } from "../../heap.js";
import { compileEmbedded, init, runtime, simdSupported } from "../../runtime.js";
import { EmscriptenHeap, isShared, type WasmBackend, wasmMemory } from "../backends.js";
import { checkGeometry } from "./geometry.js";
import { type Conv3DExports, type Conv3DRuntime, filterGrad, forward, inputGrad } from "./kernels.js";

type Shape5 = [number, number, number, number, number];
type Info = backend_util.Conv3DInfo;

/** Our kernels per memory: the wasm backend's, or the core runtime's for the cpu backend. */
const runtimes = new WeakMap<WebAssembly.Memory, Conv3DRuntime>();

async function instantiateOn(memory: WebAssembly.Memory, heap: Allocator): Promise<void> {
  if (runtimes.has(memory)) return;
  const simd = simdSupported();
  const shared = isShared(memory);
  const build = simd ? (shared ? conv3dSimdShared : conv3dSimd) : shared ? conv3dScalarShared : conv3dScalar;
  const module = await compileEmbedded(`conv3d-${simd ? "simd" : "scalar"}${shared ? "-shared" : ""}`, build);
  const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
  checkGeometry(exports);
  const kernels = exports as unknown as Conv3DExports;
  runtimes.set(memory, { kernels, heap, lanes: kernels.LANES.value as number });
}

/** Makes our Conv3D kernels ready for a backend: instantiates them on its memory (cpu: the core runtime's). */
export async function prepareConv3D(backendName: string, backend: KernelBackend): Promise<void> {
  if (backendName === "wasm") {
    const b = backend as WasmBackend;
    const memory = wasmMemory(b);
    await instantiateOn(memory, new EmscriptenHeap(b, memory));
  } else if (backendName === "cpu") {
    await init();
    const { heap } = runtime();
    await instantiateOn(heap.memory, heap);
  }
}

function runtimeFor(memory: WebAssembly.Memory): Conv3DRuntime {
  const rt = runtimes.get(memory);
  if (!rt) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm/tfjs: Conv3D runs our kernels only after `await registerDiceOps()` (or `await registerConv3D()`) following `tf.setBackend(...)`.",
    );
  }
  return rt;
}

function float32(kernel: string, name: string, t: TensorInfo): void {
  if (t.dtype !== "float32") {
    throw new DiceWasmError("UNSUPPORTED_DTYPE", `${kernel}: ${name} must be float32, got ${t.dtype}.`);
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
  /** the two operands, in the order the kernel function takes them */
  a: TensorInfo;
  b: TensorInfo;
  outShape: number[];
  run: (rt: Conv3DRuntime, info: Info, a: number, b: number, out: number) => void;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, TensorInfo | undefined>;

const CALLS: Record<string, (inputs: Inputs, attrs: Attrs) => Call> = {
  [Conv3D]: ({ x, filter }, { strides, pad, dilations }) => {
    for (const [n, t] of [
      ["x", x!],
      ["filter", filter!],
    ] as const)
      float32(Conv3D, n, t);
    const xs = rank5(Conv3D, "x", x!.shape);
    const fs = rank5(Conv3D, "filter", filter!.shape);
    channelsMatch(Conv3D, xs, fs);
    const info = backend_util.computeConv3DInfo(xs, fs, strides as number, dilations as number, pad as "same");
    return { info, a: x!, b: filter!, outShape: info.outShape, run: forward };
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
    sameShape(Conv3DBackpropInputV2, "dy", dy!.shape, info.outShape);
    return { info, a: dy!, b: filter!, outShape: info.inShape, run: inputGrad };
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
    return { info, a: x!, b: dy!, outShape: info.filterShape, run: filterGrad };
  },
};

const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** On tfjs-wasm: operands read where they lie, the output made by the backend. */
function onWasm(call: Call, backend: KernelBackend): TensorInfo {
  const b = backend as WasmBackend;
  const rt = runtimeFor(wasmMemory(b));
  const offset = (t: TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  const out = b.makeOutput(call.outShape, "float32");
  try {
    call.run(rt, call.info, offset(call.a), offset(call.b), offset(out));
  } catch (error) {
    b.disposeData(out.dataId, true);
    throw error;
  }
  return out;
}

/** The slice of tfjs-backend-cpu's MathBackendCPU we use. */
interface CpuBackend extends KernelBackend {
  data: { get(dataId: object): { values: Float32Array } | undefined };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

/** On tfjs-cpu: operands copied into our memory and the result out (the copies are small next to the work). */
function onCpu(call: Call, backend: KernelBackend): TensorInfo {
  const b = backend as CpuBackend;
  const { heap } = runtime();
  const rt = runtimeFor(heap.memory);
  const values = (t: TensorInfo) => b.data.get(t.dataId)!.values;
  const lengths = [size(call.a.shape), size(call.b.shape), size(call.outShape)];
  const ptrs: number[] = [];
  try {
    for (const n of lengths) ptrs.push(heap.alloc(4 * Math.max(n, 1)));
    new Float32Array(heap.memory.buffer, ptrs[0]!, lengths[0]).set(values(call.a));
    new Float32Array(heap.memory.buffer, ptrs[1]!, lengths[1]).set(values(call.b));
    call.run(rt, call.info, ptrs[0]!, ptrs[1]!, ptrs[2]!);
    const result = new Float32Array(heap.memory.buffer, ptrs[2]!, lengths[2]).slice();
    return b.makeTensorInfo(call.outShape, "float32", result);
  } finally {
    for (const [i, p] of ptrs.entries()) heap.release(p, 4 * Math.max(lengths[i]!, 1));
  }
}

const ON = { wasm: onWasm, cpu: onCpu } as const;
const ours = new WeakSet<KernelFunc>();

/**
 * Which kernels tf.conv3d and its gradients run on the active backend: ours
 * (registered and ready for this backend), or tfjs's own.
 */
export function conv3dImplementation(): "dice-wasm" | "tfjs" {
  const name = getBackend();
  const kernel = getKernel(Conv3D, name);
  if (!kernel || !ours.has(kernel.kernelFunc)) return "tfjs";
  const memory = name === "wasm" ? wasmMemory(backend() as WasmBackend) : runtime().heap.memory;
  return runtimes.has(memory) ? "dice-wasm" : "tfjs";
}

/**
 * Registers our Conv3D, Conv3DBackpropInputV2 and Conv3DBackpropFilterV2 for
 * tfjs's wasm and cpu backends, replacing tfjs's own, and makes them ready for
 * the active backend. `registerDiceOps()` calls it unless `{ conv3d: false }`.
 *
 * @example
 * await tf.setBackend("wasm");
 * await registerConv3D(); // tf.conv3d, tf.conv3dTranspose and tf.layers.conv3d now run our kernels
 */
export async function registerConv3D(): Promise<void> {
  for (const [backendName, on] of Object.entries(ON)) {
    for (const [kernelName, callOf] of Object.entries(CALLS)) {
      if (getKernel(kernelName, backendName)) unregisterKernel(kernelName, backendName);
      const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) =>
        on(callOf(inputs as Inputs, (attrs ?? {}) as Attrs), backend as KernelBackend);
      ours.add(kernelFunc);
      registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
  registerTransposeGradient();
  await prepareConv3D(getBackend(), backend());
}

/**
 * tfjs registers no gradient for Conv3DBackpropInputV2, the kernel of
 * tf.conv3dTranspose, so a transposed Conv3D layer (a U-Net's upsampling)
 * cannot train. dx is linear in dy and in the filter: its adjoint in dy is
 * the forward convolution of the upstream gradient, and its adjoint in the
 * filter is the filter gradient with the upstream gradient as x.
 */
function registerTransposeGradient(): void {
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
