// The benchmarks' bandwidth ceiling (assembly/ceiling/), instantiated on the
// runtime's memory in the runtime's build, so that it reads the bytes the
// kernels read, the way they read them.
import { ceilingScalar, ceilingSimd } from "../generated/ceiling.js";
import { backend, compileEmbedded, runtime } from "../runtime.js";

interface CeilingExports {
  sumPlain(ptr: number, n: number): number;
}

const instances = new WeakMap<WebAssembly.Memory, CeilingExports>();

/**
 * A plain float32 sum of n floats at byte offset ptr of the runtime's memory:
 * the bandwidth ceiling every statistics kernel is measured against. Call after init().
 */
export async function ceilingSum(): Promise<(ptr: number, n: number) => number> {
  const { memory } = runtime().heap;
  let kernels = instances.get(memory);
  if (!kernels) {
    const simd = backend() === "simd";
    const module = await compileEmbedded(`ceiling-${simd ? "simd" : "scalar"}`, simd ? ceilingSimd : ceilingScalar);
    kernels = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as CeilingExports;
    instances.set(memory, kernels);
  }
  return kernels.sumPlain;
}
