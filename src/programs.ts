// The small wasm programs that run beside the loss kernels, on the same memory
// (ours, or a tfjs wasm backend's): assembly/ignore/ leaves voxels out of a
// loss, assembly/focal/ sums the terms taken per element (focal, binary
// cross-entropy, label smoothing). Their interfaces, and their instantiation.
import { focalScalar, focalScalarShared, focalSimd, focalSimdShared } from "./generated/focal.js";
import { ignoreScalar, ignoreScalarShared, ignoreSimd, ignoreSimdShared } from "./generated/ignore.js";
import { type Backend, compileEmbedded } from "./runtime.js";

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
    tmp: number,
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

/** The focal-loss program (assembly/focal/): byte pointers, counts, and the parameters it documents. */
export interface FocalKernels {
  /** the target kind that reads as 1 for every class, and the kinds of marks */
  TARGET_ONES: WebAssembly.Global;
  MARKS_VOXEL: WebAssembly.Global;
  MARKS_ELEMENT: WebAssembly.Global;
  focal(
    x: number,
    xps: number,
    t: number,
    tps: number,
    tkind: number,
    nv: number,
    C: number,
    c0: number,
    ilv: number,
    softmax: number,
    gamma: number,
    alpha: number,
    w: number,
    marks: number,
    mkind: number,
    mps: number,
    gscale: number,
    out: number,
    ops: number,
    accumulate: number,
    perElement: number,
    result: number,
    tmp: number,
  ): number;
}

/** Builds of each program: plain and for shared memory (tfjs's threaded backend), SIMD and scalar. */
const BUILDS = {
  ignore: { simd: ignoreSimd, scalar: ignoreScalar, simdShared: ignoreSimdShared, scalarShared: ignoreScalarShared },
  focal: { simd: focalSimd, scalar: focalScalar, simdShared: focalSimdShared, scalarShared: focalScalarShared },
};

/** Compiles (once per build) and instantiates both programs on `memory`, asynchronously as a browser's main thread requires above 4 KiB. */
export async function instantiatePrograms(
  memory: WebAssembly.Memory,
  backend: Backend,
): Promise<{ ignore: IgnoreKernels; focal: FocalKernels }> {
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const build = `${backend}${shared ? "Shared" : ""}` as keyof (typeof BUILDS)["focal"];
  const instance = async (name: keyof typeof BUILDS) => {
    const module = await compileEmbedded(`${name}-${build}`, BUILDS[name][build]);
    return (await WebAssembly.instantiate(module, { env: { memory } })).exports;
  };
  const [ignore, focal] = await Promise.all([instance("ignore"), instance("focal")]);
  return { ignore: ignore as unknown as IgnoreKernels, focal: focal as unknown as FocalKernels };
}
