// Conv3D and its two gradient kernels, and MaxPool3D and its gradient,
// registered for tfjs's wasm and cpu backends in place of tfjs's own (what each
// kernel checks and runs: calls.ts). tfjs-backend-wasm 4.22's Conv3D gradients
// are wrong (Conv3DBackpropInputV2 for every filter size, Conv3DBackpropFilterV2
// for every stride 2: conv3d_impl.h bounds the depth loop without the filter
// corner and rounds negative quotients toward zero), all three run at ~0.3
// GMAC/s, and its max pooling starts each window's maximum at FLT_MIN, the
// least positive float: a window of negative values pools to 1.2e-38, and its
// gradient lands on the window's first voxel, not its maximum.
import {
  backend,
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
import { type Attrs, CALLS, type Call, type Inputs } from "./calls.js";
import { checkGeometry } from "./geometry.js";
import type { Conv3DExports, Conv3DRuntime } from "./kernels.js";

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
      if (!original) continue;
      registerKernel(original);
      // a backend set up while ours were registered never ran this kernel's
      // setup (tfjs-wasm binds its C function there): run it now
      const initialised = engine().registry[backendName];
      if (initialised && original.setupFunc) original.setupFunc(initialised);
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
