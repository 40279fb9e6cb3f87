// Where tensors live on the backends we accelerate, and how our kernels reach
// them without a copy. On 'wasm' our kernels are instantiated on the tfjs wasm
// backend's own memory and read tensors where they lie; on 'cpu' the core API
// reads the backend's typed arrays directly (no dataSync).
import { type KernelBackend, type TensorInfo, util } from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";
import { scalarWasm, simdWasm } from "../generated/wasm.js";
import { scalarSharedWasm, simdSharedWasm } from "../generated/wasm-shared.js";
import type { Allocator } from "../heap.js";
import {
  type Backend,
  backend,
  compileEmbedded,
  init,
  instantiate,
  type Runtime,
  reserveWorkspace,
  simdSupported,
  withRuntime,
} from "../runtime.js";
import { workspaceLayout } from "../workspace.js";

export type TensorData = Float32Array | Int32Array | Uint8Array;

/** What a kernel needs from a backend. */
export interface BackendAccess {
  /** Runs `fn` with the core API working where this backend keeps tensors, room made for C classes. */
  run<T>(C: number, fn: () => T): T;
  /** The tensor's data, in place. Views of wasm memory last until the next allocation. */
  read(t: TensorInfo): TensorData;
  /** A new float32 tensor; `fill` writes it (after the allocation, so its view stays attached). */
  output(shape: number[], fill: (data: Float32Array) => void): TensorInfo;
  /** Frees a tensor made by `output` that will not be returned (its kernel failed). */
  release(t: TensorInfo): void;
}

/** The slice of tfjs-backend-wasm's BackendWasm we use (its public class, untyped here to keep it optional). */
export interface WasmBackend extends KernelBackend {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    asm?: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
}

/** The tfjs wasm backend's Emscripten heap, seen as our Allocator: we take room, never grow memory ourselves. */
export class EmscriptenHeap implements Allocator {
  live = 0;
  readonly isRetired = false;

  constructor(
    private readonly backend: WasmBackend,
    readonly memory: WebAssembly.Memory,
  ) {}

  alloc(bytes: number): number {
    const ptr = this.backend.wasm._malloc(bytes) >>> 0;
    if (ptr === 0) {
      throw new DiceWasmError("OUT_OF_MEMORY", `the tfjs wasm backend could not allocate ${bytes} bytes.`, {
        requested: bytes,
      });
    }
    this.live++;
    return ptr;
  }

  release(ptr: number): void {
    this.backend.wasm._free(ptr);
    this.live--;
  }
}

export function wasmMemory(backend: WasmBackend): WebAssembly.Memory {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm/tfjs: this version of @tensorflow/tfjs-backend-wasm does not expose its WebAssembly.Memory; use tfjs 4.x.",
    );
  }
  return memory;
}

export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/** Our kernels on each tfjs wasm backend instance (one per setBackend('wasm') lifetime). */
const wasmRuntimes = new WeakMap<object, Runtime>();

/** Instantiates our kernels on the wasm backend's memory (shared-memory build for its threaded variant). */
export async function prepareWasm(backend: KernelBackend): Promise<void> {
  const b = backend as WasmBackend;
  if (wasmRuntimes.has(b)) return;
  const memory = wasmMemory(b);
  const kind: Backend = simdSupported() ? "simd" : "scalar";
  const shared = isShared(memory);
  const name = `${kind}${shared ? "-shared" : ""}`;
  const base64 = shared
    ? kind === "simd"
      ? simdSharedWasm
      : scalarSharedWasm
    : kind === "simd"
      ? simdWasm
      : scalarWasm;
  const module = await compileEmbedded(name, base64);
  wasmRuntimes.set(b, await instantiate(module, kind, new EmscriptenHeap(b, memory)));
}

/** @internal Our kernels on this wasm backend, for tests. */
export function wasmRuntime(backend: KernelBackend): Runtime | undefined {
  return wasmRuntimes.get(backend);
}

function wasmAccess(backend: KernelBackend): BackendAccess {
  const b = backend as WasmBackend;
  const rt = wasmRuntimes.get(b);
  if (!rt) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm/tfjs: call `await registerDiceOps()` after `await tf.setBackend('wasm')`.",
    );
  }
  const memory = rt.heap.memory;
  const offset = (t: TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  return {
    run: (C, fn) =>
      withRuntime(rt, () => {
        reserveWorkspace(workspaceLayout(C, rt.lanes).bytes); // before any view is taken
        return fn();
      }),
    read(t) {
      const size = util.sizeFromShape(t.shape);
      if (t.dtype === "int32") return new Int32Array(memory.buffer, offset(t), size);
      if (t.dtype === "bool") return new Uint8Array(memory.buffer, offset(t), size);
      return new Float32Array(memory.buffer, offset(t), size);
    },
    output(shape, fill) {
      const info = b.makeOutput(shape, "float32");
      const size = util.sizeFromShape(shape);
      return filled(b, info, () => fill(new Float32Array(memory.buffer, offset(info), size)));
    },
    release: (t) => b.disposeData(t.dataId, true),
  };
}

/** `info` once `fill` has written it; freed if `fill` throws, so that a failed kernel leaves nothing behind. */
function filled(backend: KernelBackend, info: TensorInfo, fill: () => void): TensorInfo {
  try {
    fill();
  } catch (error) {
    backend.disposeData(info.dataId, true);
    throw error;
  }
  return info;
}

/** The slice of tfjs-backend-cpu's MathBackendCPU we use. */
export interface CpuBackend extends KernelBackend {
  data: { get(dataId: object): { values: TensorData } | undefined };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

function cpuAccess(backend: KernelBackend): BackendAccess {
  const b = backend as CpuBackend;
  return {
    run: (_, fn) => fn(),
    read: (t) => b.data.get(t.dataId)!.values,
    output(shape, fill) {
      const values = new Float32Array(util.sizeFromShape(shape));
      return filled(b, b.makeTensorInfo(shape, "float32", values), () => fill(values));
    },
    release: (t) => b.disposeData(t.dataId, true),
  };
}

/** The backends with kernels of ours, and how each reaches its tensors. */
export const ACCELERATED = { wasm: wasmAccess, cpu: cpuAccess } as const;
export type AcceleratedBackend = keyof typeof ACCELERATED;

/** True when our kernels can run on this backend now (for wasm: prepared by registerDiceOps). */
export function ready(name: string, backend: KernelBackend): boolean {
  if (name === "wasm") return wasmRuntimes.has(backend);
  return name === "cpu";
}

/** The core runtime the cpu kernels use: init()'s, keeping a build the user already chose. */
export async function prepareCpu(): Promise<void> {
  if (!backend()) await init();
}
