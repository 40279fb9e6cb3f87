// Loading the kernels and owning their memory. After `init()` everything is
// synchronous. Memory grows only here, in JavaScript, never inside a kernel.
import { DiceWasmError } from "./errors.js";
import { scalarWasm, simdWasm } from "./generated/wasm.js";
import { CLASSES_AT_INIT, workspaceLayout } from "./workspace.js";

/** Statistics of a class plane or an interleaved chunk: (p, t, n, cls or numClasses, mode, out). */
export type StatsKernel = (p: number, t: number, n: number, cls: number, mode: number, out: number) => void;
/** Pass 2 in any layout: (x, vs, cs, t, nVox, numClasses, act, coef, dx, dcs, tmp). */
export type BackwardKernel = (
  x: number,
  vs: number,
  cs: number,
  t: number,
  nVox: number,
  numClasses: number,
  act: number,
  coef: number,
  dx: number,
  dcs: number,
  tmp: number,
) => void;
/** Pass 2 for interleaved channels-last chunks: (x, t, n, numClasses, act, coef, dx). */
export type InterleavedBackwardKernel = (
  x: number,
  t: number,
  n: number,
  numClasses: number,
  act: number,
  coef: number,
  dx: number,
) => void;

/** The kernel exports; pointers are byte offsets, counts are elements. */
export interface Kernels {
  readonly memory: WebAssembly.Memory;
  activate(
    x: number,
    vs: number,
    cs: number,
    nVox: number,
    numClasses: number,
    act: number,
    out: number,
    os: number,
  ): number;
  softmaxInterleaved(x: number, n: number, numClasses: number, out: number): number;
  statsMask(p: number, t: number, n: number, mode: number, out: number): void;
  statsLabelU8: StatsKernel;
  statsLabelU16: StatsKernel;
  statsLabelI32: StatsKernel;
  statsLabelF32: StatsKernel;
  statsInterleavedU8: StatsKernel;
  statsInterleavedU16: StatsKernel;
  statsInterleavedI32: StatsKernel;
  statsInterleavedF32: StatsKernel;
  backwardMask: BackwardKernel;
  backwardLabelU8: BackwardKernel;
  backwardLabelU16: BackwardKernel;
  backwardLabelI32: BackwardKernel;
  backwardLabelF32: BackwardKernel;
  backwardInterleavedMask: InterleavedBackwardKernel;
  backwardInterleavedU8: InterleavedBackwardKernel;
  backwardInterleavedU16: InterleavedBackwardKernel;
  backwardInterleavedI32: InterleavedBackwardKernel;
  backwardInterleavedF32: InterleavedBackwardKernel;
  sumPlain(ptr: number, n: number): number;
}

/** Which kernel build is running. */
export type Backend = "simd" | "scalar";

export interface InitOptions {
  /** Force a build: `false` runs the scalar kernels even where SIMD works. Default: detect. */
  simd?: boolean;
  /** Your own copy of a build (bytes, compiled module, or URL to fetch); its SIMD-ness must match `simd`. */
  wasm?: BufferSource | WebAssembly.Module | URL | string;
}

// The smallest module using a v128 instruction: (func (result v128) (v128.const i32x4 0 0 0 0)).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

/**
 * True when this runtime validates WebAssembly SIMD128 (the check `init()` makes).
 *
 * @example
 * if (!simdSupported()) console.warn("dice-wasm will use its scalar kernels here");
 */
export function simdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

let current: { kernels: Kernels; backend: Backend; heap: Heap; workspace: { ptr: number; bytes: number } } | undefined;
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** atob exists in browsers and in Node ≥ 16; decoding happens once per build. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function moduleFrom(source: NonNullable<InitOptions["wasm"]>): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL || typeof source === "string") {
    const response = await fetch(source);
    return WebAssembly.compile(await response.arrayBuffer());
  }
  return WebAssembly.compile(source);
}

/**
 * Compiles and instantiates the kernels (once; later calls return at once unless
 * options change the build). Everything else in this package is synchronous.
 *
 * @example
 * await init();              // SIMD where supported, scalar otherwise
 * await init({ simd: false }); // force the scalar build
 */
export async function init(options: InitOptions = {}): Promise<Backend> {
  const backend: Backend = (options.simd ?? simdSupported()) ? "simd" : "scalar";
  if (current && current.backend === backend && !options.wasm) return backend;
  let module: Promise<WebAssembly.Module>;
  if (options.wasm) module = moduleFrom(options.wasm);
  else {
    const cached = compiled.get(backend);
    module = cached ?? WebAssembly.compile(decodeBase64(backend === "simd" ? simdWasm : scalarWasm));
    compiled.set(backend, module);
  }
  const instance = await WebAssembly.instantiate(await module, {});
  const kernels = instance.exports as unknown as Kernels;
  if (current) current.heap.retire();
  current = { kernels, backend, heap: new Heap(kernels.memory), workspace: { ptr: 0, bytes: 0 } };
  reserveWorkspace(workspaceLayout(CLASSES_AT_INIT, 4).bytes);
  return backend;
}

/**
 * @internal The chunk buffers, allocated once and grown only for an unusually
 * large number of classes. Call before taking views of wasm memory for a loss:
 * this is the only allocation a loss makes, so views stay attached after it.
 */
export function reserveWorkspace(bytes: number): number {
  const { heap, workspace } = runtime();
  if (workspace.bytes < bytes) {
    if (workspace.bytes > 0) heap.release(workspace.ptr, workspace.bytes);
    workspace.ptr = heap.alloc(bytes);
    workspace.bytes = bytes;
  }
  return workspace.ptr;
}

/**
 * The build `init()` chose, or undefined before it.
 *
 * @example
 * await init();
 * console.log(`dice-wasm kernels: ${backend()}`); // "simd" or "scalar"
 */
export function backend(): Backend | undefined {
  return current?.backend;
}

/** @internal The running kernels and their heap; throws before `init()`. */
export function runtime(): { kernels: Kernels; heap: Heap; lanes: number; workspace: { ptr: number; bytes: number } } {
  if (!current) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm is not initialised: call `await init()` once before any loss.",
    );
  }
  return { ...current, lanes: current.backend === "simd" ? 4 : 1 };
}

const PAGE = 65536;
const ALIGN = 64;
const RESERVED = 1024; // keep address 0 unused: a null pointer should never look valid

/**
 * First-fit allocator over the kernels' linear memory, with coalescing. It grows
 * the memory when it must; growing detaches earlier ArrayBuffer views, which is
 * why volumes hand out views through a getter (see WasmVolume).
 */
export class Heap {
  private free: Array<{ start: number; size: number }> = [];
  private end = RESERVED;
  private retired = false;
  /** Counts allocations, so that tests can prove nothing leaks. */
  live = 0;

  constructor(readonly memory: WebAssembly.Memory) {}

  alloc(bytes: number): number {
    if (this.retired)
      throw new DiceWasmError("VOLUME_FREED", "this memory belongs to an earlier init(); allocate again.");
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.live++;
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      const start = block.start;
      if (block.size === size) this.free.splice(i, 1);
      else this.free[i] = { start: start + size, size: block.size - size };
      return start;
    }
    const start = this.end;
    const needed = start + size;
    const have = this.memory.buffer.byteLength;
    if (needed > have) {
      // grow by at least half again, so that a run of allocations grows rarely
      const pages = Math.ceil(Math.max(needed - have, have / 2) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        try {
          this.memory.grow(Math.ceil((needed - have) / PAGE));
        } catch {
          this.live--;
          throw new DiceWasmError(
            "OUT_OF_MEMORY",
            `could not grow WebAssembly memory to ${needed} bytes (wasm32 caps it at 4 GiB); free volumes you no longer need or pass ordinary arrays, which are streamed in chunks.`,
            { requested: bytes },
          );
        }
      }
    }
    this.end = needed;
    return start;
  }

  release(start: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.live--;
    const blocks = this.free;
    let i = 0;
    while (i < blocks.length && blocks[i]!.start < start) i++;
    blocks.splice(i, 0, { start, size });
    // merge with the next and the previous neighbour
    if (i + 1 < blocks.length && start + size === blocks[i + 1]!.start) {
      blocks[i]!.size += blocks[i + 1]!.size;
      blocks.splice(i + 1, 1);
    }
    if (i > 0 && blocks[i - 1]!.start + blocks[i - 1]!.size === start) {
      blocks[i - 1]!.size += blocks[i]!.size;
      blocks.splice(i, 1);
    }
    // give the top block back to the bump pointer
    const last = blocks[blocks.length - 1];
    if (last && last.start + last.size === this.end) {
      this.end = last.start;
      blocks.pop();
    }
  }

  retire(): void {
    this.retired = true;
  }

  get isRetired(): boolean {
    return this.retired;
  }
}
