// The kernels' exp, ln, sigmoid and softmax in ulps against float64, over
// float32 inputs sampled across their whole range (every 61st to 397th bit
// pattern: every exponent and many mantissas), in both builds.
import { beforeAll, describe, expect, it } from "vitest";
import { createVolume, type WasmVolume } from "../src/index.js";
import { ACT_SIGMOID, ACT_SOFTMAX, TARGET_MASK } from "../src/kernel-codes.js";
import { runtime } from "../src/runtime.js";
import { BUILDS, seededRandom, useBuild } from "./helpers.js";

/** Float32 values whose bit patterns run from `from` to `to` (inclusive), every `step`-th. */
function floatsBetween(from: number, to: number, step = 61): Float32Array {
  const bits = new Uint32Array(Math.floor((to - from) / step) + 2);
  for (let i = 0; i < bits.length - 1; i++) bits[i] = from + i * step;
  bits[bits.length - 1] = to;
  return new Float32Array(bits.buffer);
}

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;

/** The distance from `got` to the exact `want` in float32 ulps at `want`. */
function ulps(got: number, want: number): number {
  if (got === want) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(want))), -126);
  return Math.abs(got - want) / 2 ** (e - 23);
}

function worst(got: ArrayLike<number>, want: (i: number) => number): { ulps: number; at: number } {
  let w = { ulps: 0, at: -1 };
  for (let i = 0; i < got.length; i++) {
    const u = ulps(got[i]!, want(i));
    if (!(u <= w.ulps)) w = { ulps: u, at: i };
  }
  return w;
}

/** A volume of wasm memory holding `values`, and one of the same length for the results. */
function volumes(values: Float32Array): [WasmVolume<"float32">, WasmVolume<"float32">] {
  const src = createVolume(values.length);
  src.array.set(values);
  return [src, createVolume(values.length)];
}

describe.each(BUILDS)("math kernels in ulps (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it("exp over [−87.33, 0]: ≤ 1 ulp; e^0 = 1 exactly; below the range e^−87.34 ≈ 2^-126, NaN stays NaN", () => {
    const x = floatsBetween(bitsOf(-0), bitsOf(-87.33654));
    const [src, dst] = volumes(x);
    runtime().kernels.expArray(src.byteOffset, x.length, dst.byteOffset);
    const y = dst.array;
    const w = worst(y, (i) => Math.exp(x[i]!));
    expect(w.ulps, `at x = ${x[w.at]}`).toBeLessThanOrEqual(1);
    expect(y[0]).toBe(1);
    src.array.set([-87.5, -1e30, Number.NEGATIVE_INFINITY, Number.NaN]);
    runtime().kernels.expArray(src.byteOffset, 4, dst.byteOffset);
    const floor = dst.array[0]!;
    expect(Math.abs(floor / 2 ** -126 - 1)).toBeLessThan(1e-5);
    expect(Array.from(dst.array.subarray(0, 3))).toEqual([floor, floor, floor]);
    expect(dst.array[3]).toBeNaN();
    src.free();
    dst.free();
  });

  it("ln over the normal floats: ≤ 1 ulp", () => {
    const x = floatsBetween(bitsOf(2 ** -126), bitsOf(3.4e38), 211);
    const [src, dst] = volumes(x);
    runtime().kernels.lnArray(src.byteOffset, x.length, dst.byteOffset);
    const w = worst(dst.array, (i) => Math.log(x[i]!));
    expect(w.ulps, `at x = ${x[w.at]}`).toBeLessThanOrEqual(1);
    src.free();
    dst.free();
  });

  it("ln1p over [0, 1024], tiny arguments included: ≤ 1 ulp", () => {
    const x = floatsBetween(bitsOf(2 ** -126), bitsOf(1024));
    const [src, dst] = volumes(x);
    runtime().kernels.ln1pArray(src.byteOffset, x.length, dst.byteOffset);
    const w = worst(dst.array, (i) => Math.log1p(x[i]!));
    expect(w.ulps, `at x = ${x[w.at]}`).toBeLessThanOrEqual(1);
    src.free();
    dst.free();
  });

  it("sigmoid over [−87, 87]: σ(x) and σ(−x) each ≤ 3 ulp", () => {
    const negative = floatsBetween(bitsOf(-0), bitsOf(-87), 397);
    const x = Float32Array.from([...negative, ...negative.map((v) => -v)]);
    const n = x.length;
    const [src, z] = volumes(x);
    const p = createVolume(n);
    const q = createVolume(n);
    runtime().kernels.activate(
      src.byteOffset,
      0,
      n,
      n,
      1,
      ACT_SIGMOID,
      0,
      z.byteOffset,
      n,
      p.byteOffset,
      q.byteOffset,
      n,
      0,
      0,
      TARGET_MASK,
      0,
      0,
      0,
      0,
    );
    const sigma = (v: number) => 1 / (1 + Math.exp(-v));
    const wp = worst(p.array, (i) => sigma(x[i]!));
    const wq = worst(q.array, (i) => sigma(-x[i]!));
    // e^−|x| (≤ 1 ulp), 1/(1 + e) and e·(1/(1 + e)): measured 2.7 ulp at most
    expect(wp.ulps, `σ at x = ${x[wp.at]}`).toBeLessThanOrEqual(3);
    expect(wq.ulps, `σ(−x) at x = ${x[wq.at]}`).toBeLessThanOrEqual(3);
    for (const v of [src, z, p, q]) v.free();
  });

  it.each([2, 3, 4, 5, 8])(
    "softmax of %i classes, logits in [−40, 40]: p and 1 − p each ≤ 4 ulp of the softmax of the float32 differences x − max",
    (C) => {
      const V = 4099; // groups of four and a tail
      const r = seededRandom(C);
      const x = Float32Array.from({ length: V * C }, () => 80 * r() - 40);
      const [src, out] = volumes(x);
      const comp = createVolume(V * C);
      const scratch = createVolume(2 * C * 4 + V);
      runtime().kernels.activate(
        src.byteOffset,
        1,
        0,
        V,
        C,
        ACT_SOFTMAX,
        0,
        out.byteOffset,
        0,
        0,
        comp.byteOffset,
        0,
        scratch.byteOffset,
        0,
        TARGET_MASK,
        0,
        0,
        0,
        scratch.byteOffset + 4 * V,
      );
      // the kernel leaves planar groups: class c of voxel v at (⌊v/4⌋·C + c)·4 + v mod 4, voxel-major past the
      // last whole group (and everywhere in the scalar build, whose groups are single voxels)
      const main = build.simd ? V & ~3 : 0;
      const at = (v: number, c: number) => (v < main ? (((v >> 2) * C + c) << 2) + (v & 3) : v * C + c);
      const exact = (v: number) => {
        const xs = Array.from({ length: C }, (_, c) => x[v * C + c]!);
        const m = Math.max(...xs);
        // x − max rounds in float32, in every float32 softmax: up to |x − max|/2 ulp more for a class far below
        const e = xs.map((xc) => Math.exp(Math.fround(xc - m)));
        const total = e.reduce((a, b) => a + b, 0);
        return {
          p: e.map((ec) => ec / total),
          q: e.map((_, c) => e.reduce((a, ek, k) => (k === c ? a : a + ek), 0) / total),
        };
      };
      let wp = 0;
      let wq = 0;
      for (let v = 0; v < V; v++) {
        const { p, q } = exact(v);
        for (let c = 0; c < C; c++) {
          wp = Math.max(wp, ulps(out.array[at(v, c)]!, p[c]!));
          wq = Math.max(wq, ulps(comp.array[at(v, c)]!, q[c]!));
        }
      }
      // e (≤ 1 ulp), the sum of C of them, its reciprocal, and a product: measured 3.2 ulp at most
      expect(wp).toBeLessThanOrEqual(4);
      expect(wq).toBeLessThanOrEqual(4);
      for (const v of [src, out, comp, scratch]) v.free();
    },
  );
});
