// The kernels that leave voxels out of a loss (assembly/ignore/), on the memory
// of the loss kernels running now: instantiated on first use for each memory.
// Under 4 KiB, so synchronously, also on a browser's main thread.
import { ignoreScalar, ignoreScalarShared, ignoreSimd, ignoreSimdShared } from "./generated/ignore.js";
import { decodeBase64, runtime } from "./runtime.js";

/** Byte pointers and counts; see assembly/ignore/index.ts for what each does. */
export interface IgnoreKernels {
  keepVoxels(
    labels: number,
    lkind: number,
    ignore: number,
    mask: number,
    mkind: number,
    nv: number,
    keep: number,
  ): number;
  labelsKept(labels: number, lkind: number, keep: number, nv: number, out: number, asFloat: number): void;
  dropVoxels(keep: number, nv: number, C: number, ilv: number, x: number, xps: number, natural: number): void;
  dropElements(
    marks: number,
    mps: number,
    nv: number,
    C: number,
    ilv: number,
    x: number,
    xps: number,
    natural: number,
  ): void;
  keepElements(
    t: number,
    tps: number,
    ignore: number,
    useIgnore: number,
    keep: number,
    nv: number,
    C: number,
    ilv: number,
    marks: number,
    kept: number,
    ops: number,
    counts: number,
  ): void;
}

const instances = new WeakMap<WebAssembly.Memory, IgnoreKernels>();

export function ignoreKernels(): IgnoreKernels {
  const { heap, backend } = runtime();
  const { memory } = heap;
  let kernels = instances.get(memory);
  if (!kernels) {
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const simd = backend === "simd";
    const base64 = shared ? (simd ? ignoreSimdShared : ignoreScalarShared) : simd ? ignoreSimd : ignoreScalar;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(base64)), { env: { memory } });
    kernels = instance.exports as unknown as IgnoreKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}
