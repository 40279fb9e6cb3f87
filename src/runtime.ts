// Loading the kernels and owning their memory. After `init()` everything is
// synchronous. Memory grows only here, in JavaScript, never inside a kernel.
import { DiceWasmError } from "./errors.js";
import { scalarWasm, simdWasm } from "./generated/wasm.js";
import { type Allocator, Heap } from "./heap.js";
import { checkCodes } from "./kernel-codes.js";
import { type FocalKernels, type IgnoreKernels, instantiatePrograms } from "./programs.js";
import { CLASSES_AT_INIT, workspaceLayout } from "./workspace.js";

/**
 * The kernel exports (assembly/index.ts); pointers are byte offsets, counts are
 * elements, plane strides are floats. Each kernel's own doc comment says what
 * its arguments are.
 */
export interface Kernels {
  activate(
    x: number,
    ilv: number,
    xps: number,
    nv: number,
    C: number,
    act: number,
    ce: number,
    out: number,
    ops: number,
    p: number,
    comp: number,
    sps: number,
    voxel: number,
    labels: number,
    tkind: number,
    lab32: number,
    nll: number,
    dcopy: number,
    tmp: number,
  ): number;
  planar(x: number, ilv: number, xps: number, nv: number, C: number, dst: number, dps: number, tmp: number): number;
  stats(
    p: number,
    pps: number,
    t: number,
    tps: number,
    comp: number,
    cps: number,
    nll: number,
    d: number,
    nv: number,
    C: number,
    ilv: number,
    tkind: number,
    ckind: number,
    mode: number,
    ce: number,
    out: number,
  ): number;
  gradient(
    keep: number,
    kps: number,
    t: number,
    tps: number,
    nv: number,
    C: number,
    ilv: number,
    act: number,
    tkind: number,
    mode: number,
    ce: number,
    coef: number,
    dst: number,
    dps: number,
    tmp: number,
  ): number;
  statsInterleaved(p: number, t: number, n: number, C: number, tkind: number, mode: number, out: number): void;
  /** elementwise math (assembly/elementwise.ts), for the accuracy tests */
  expArray(src: number, n: number, dst: number): void;
  lnArray(src: number, n: number, dst: number): void;
  ln1pArray(src: number, n: number, dst: number): void;
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

/** A kernel build instantiated on a memory, with the allocator that owns that memory. */
export interface Runtime {
  readonly kernels: Kernels;
  /** the programs beside the kernels, on the same memory (src/programs.ts) */
  readonly ignore: IgnoreKernels;
  readonly focal: FocalKernels;
  readonly backend: Backend;
  readonly heap: Allocator;
  /** f32 lanes per kernel vector: 4 (SIMD) or 1 (scalar) */
  readonly lanes: number;
  /** the chunk buffers (see reserveWorkspace) */
  readonly workspace: { ptr: number; bytes: number };
}

let current: (Runtime & { readonly heap: Heap }) | undefined;
/** A runtime lent for the length of one synchronous call (see withRuntime). */
let lent: Runtime | undefined;
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** atob exists in browsers and in Node ≥ 16; decoding happens once per build. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
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

/** @internal Compiles an embedded build once per name. */
export function compileEmbedded(name: string, base64: string): Promise<WebAssembly.Module> {
  let module = compiled.get(name);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(base64));
    compiled.set(name, module);
  }
  return module;
}

/**
 * @internal Instantiates a build on `heap`'s memory: every build imports its
 * memory, so the same binary runs on ours or on another library's.
 */
export async function instantiate(module: WebAssembly.Module, backend: Backend, heap: Allocator): Promise<Runtime> {
  const imports = { env: { memory: heap.memory } };
  const instance = await WebAssembly.instantiate(module, imports);
  checkCodes(instance.exports);
  const kernels = instance.exports as unknown as Kernels;
  const { ignore, focal } = await instantiatePrograms(heap.memory, backend);
  return { kernels, ignore, focal, backend, heap, lanes: backend === "simd" ? 4 : 1, workspace: { ptr: 0, bytes: 0 } };
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
  const module = options.wasm
    ? await moduleFrom(options.wasm)
    : await compileEmbedded(backend, backend === "simd" ? simdWasm : scalarWasm);
  const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
  const next = { ...(await instantiate(module, backend, heap)), heap };
  if (current) current.heap.retire();
  current = next;
  reserveWorkspace(workspaceLayout(CLASSES_AT_INIT, 4).bytes);
  return backend;
}

/**
 * @internal Runs `fn` with `rt` as the runtime: how the tfjs kernels run the
 * losses on the tfjs wasm backend's memory. Synchronous, so nothing can interleave.
 */
export function withRuntime<T>(rt: Runtime, fn: () => T): T {
  const previous = lent;
  lent = rt;
  try {
    return fn();
  } finally {
    lent = previous;
  }
}

/**
 * @internal The chunk buffers, allocated once and grown only for an unusually
 * large number of classes. Call before taking views of wasm memory for a loss:
 * this is the only allocation a loss makes, so views stay attached after it.
 */
export function reserveWorkspace(bytes: number): number {
  const { heap, workspace } = runtime();
  if (workspace.bytes < bytes) {
    // the new block first: if it cannot be had, the old one stays the workspace (no use after release)
    const ptr = heap.alloc(bytes);
    if (workspace.bytes > 0) heap.release(workspace.ptr, workspace.bytes);
    workspace.ptr = ptr;
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
export function runtime(): Runtime {
  const rt = lent ?? current;
  if (!rt) {
    throw new DiceWasmError(
      "NOT_INITIALIZED",
      "dice-wasm is not initialised: call `await init()` once before any loss.",
    );
  }
  return rt;
}
