// The statistics kernels against exact sums. Bound: every term is non-negative
// and rounded at most twice (2u), mini-blocks of eight vectors are added pairwise
// (3u), and Kahan adds those with 2u + O(m·u²): |error| ≤ 7u·(exact sum), u = 2^-24.
import { beforeAll, describe, expect, it } from "vitest";
import { overlapStats } from "../src/index.js";
import { ExactSum } from "../src/reference/exact.js";
import { BUILDS, labels, shapeOf, U32, uniform, useBuild } from "./helpers.js";

const BOUND = 7 * U32;
type Layout = "channels-last" | "channels-first";
type Kind = "mask" | "uint8" | "uint16" | "int32" | "float32-labels";
type Mode = "hard" | "soft" | "squared";

const LABEL_TYPES = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  int32: Int32Array,
  "float32-labels": Float32Array,
} as const;

/** Exact tp, fp, fn, se of class c, from the definitions. */
function exactStats(p: (v: number) => number, g: (v: number) => number, n: number, mode: Mode) {
  const [tp, fp, fn, se] = [new ExactSum(), new ExactSum(), new ExactSum(), new ExactSum()];
  for (let v = 0; v < n; v++) {
    const pi = p(v);
    const gi = g(v);
    if (mode === "soft") {
      tp.add(Math.min(pi, gi));
      fp.add(Math.max(pi - gi, 0)); // differences of two float32 are exact in float64
      fn.add(Math.max(gi - pi, 0));
    } else {
      tp.addProduct(pi, gi);
      fp.addProduct(pi, 1 - gi);
      fn.addProduct(1 - pi, gi);
      se.addProduct(pi - gi, pi - gi);
    }
  }
  return { tp: tp.value(), fp: fp.value(), fn: fn.value(), se: se.value() };
}

function check(n: number, C: number, layout: Layout, kind: Kind, mode: Mode, seed: number): void {
  const shape = shapeOf(1, [n], C, layout);
  const p = uniform(n * C, seed);
  const at = (v: number, c: number) => (layout === "channels-last" ? v * C + c : c * n + v);
  let target: Float32Array | Uint8Array | Uint16Array | Int32Array;
  let g: (v: number, c: number) => number;
  if (kind === "mask") {
    // soft masks in soft mode, otherwise one-hot-ish 0/1 mixed with fractions
    const t =
      mode === "soft" ? uniform(n * C, seed + 1) : uniform(n * C, seed + 1).map((x) => (x < 0.3 ? 0 : x > 0.7 ? 1 : x));
    target = t;
    g = (v, c) => t[at(v, c)]!;
  } else {
    const l = labels(LABEL_TYPES[kind], n, C, seed + 2);
    target = l;
    g = (v, c) => Number(l[v] === c);
  }
  const stats = overlapStats(p, target, {
    shape,
    layout,
    toOnehotY: kind !== "mask",
    softLabel: mode === "soft",
    squaredPred: mode === "squared",
  });
  for (let c = 0; c < C; c++) {
    const exact = exactStats(
      (v) => p[at(v, c)]!,
      (v) => g(v, c),
      n,
      mode,
    );
    const ours = {
      tp: stats.tp[c]!,
      fp: stats.fp[c]!,
      fn: stats.fn[c]!,
      se: stats.se?.[c] ?? exact.se,
    };
    for (const key of ["tp", "fp", "fn", "se"] as const) {
      const err = Math.abs(ours[key] - exact[key]);
      expect(err, `${key} of class ${c}: ${ours[key]} vs exact ${exact[key]}`).toBeLessThanOrEqual(BOUND * exact[key]);
    }
  }
}

const SIZES = [0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 1023, 1025];
const KINDS: Kind[] = ["mask", "uint8", "uint16", "int32", "float32-labels"];
const LAYOUTS: Layout[] = ["channels-last", "channels-first"];
const MODES: Mode[] = ["hard", "soft", "squared"];

describe.each(BUILDS)("statistics vs exact sums (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each(LAYOUTS.flatMap((layout) => KINDS.flatMap((kind) => MODES.map((mode) => ({ layout, kind, mode })))))(
    "$layout, $kind, $mode: every size within 7u",
    ({ layout, kind, mode }) => {
      for (const n of SIZES) for (const C of [2, 3, 4]) check(n, C, layout, kind, mode, n + 11 * C);
    },
  );

  it.each(LAYOUTS)("2^20 + 3 voxels, %s, every target kind", (layout) => {
    check(2 ** 20 + 3, 1, layout, "mask", "hard", 5);
    for (const kind of KINDS.slice(1)) check(2 ** 20 + 3, 2, layout, kind, "hard", 6);
  });

  it("sums past 2^24 stay exact where naive float32 stalls", () => {
    // 2^24 + 2^20 ones: a sequential float32 sum stops at 2^24
    const n = 2 ** 24 + 2 ** 20;
    const ones = new Float32Array(n).fill(1);
    const stats = overlapStats(ones, ones, { shape: [1, n, 1] });
    expect(stats.tp[0]).toBe(n);
    expect(stats.fp[0]).toBe(0);
    expect(stats.fn[0]).toBe(0);
  });
});
