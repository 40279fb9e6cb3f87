// The kernel interface: a combination of codes the kernels have no loop for is
// refused (0), never computed as another; the ones the losses use run (1).
import { beforeAll, describe, expect, it } from "vitest";
import {
  ACT_NONE,
  ACT_SIGMOID,
  ACT_SOFTMAX,
  COMP_NONE,
  COMP_OUTSIDE_LABEL,
  LABEL_LANES,
  LABEL_U8,
  MODE_HARD,
  MODE_SQUARED,
  TARGET_MASK,
} from "../src/kernel-codes.js";
import { reserveWorkspace, runtime } from "../src/runtime.js";
import { BUILDS, useBuild } from "./helpers.js";

describe.each(BUILDS)("kernel interface (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it("stats: refuses modes it has no loop for", () => {
    const { kernels } = runtime();
    const buf = reserveWorkspace(1 << 16);
    const stats = (tkind: number, ckind: number, mode: number, ce: number) =>
      kernels.stats(buf, 16, buf, 16, buf, 16, buf, buf, 16, 2, 0, tkind, ckind, mode, ce, buf + 32768);
    expect(stats(TARGET_MASK, COMP_NONE, MODE_HARD, 0)).toBe(1);
    expect(stats(LABEL_LANES, COMP_OUTSIDE_LABEL, MODE_SQUARED, 0)).toBe(1);
    expect(stats(LABEL_LANES, COMP_OUTSIDE_LABEL, MODE_SQUARED, 1)).toBe(1); // squared terms with the cross-entropy
    expect(stats(TARGET_MASK, COMP_NONE, MODE_HARD, 1)).toBe(0); // a mask's cross-entropy needs the softmax's complement
    expect(stats(LABEL_U8, COMP_OUTSIDE_LABEL, MODE_HARD, 0)).toBe(0); // the outside mass needs label lanes
    expect(stats(TARGET_MASK, COMP_NONE, 7, 0)).toBe(0); // no such mode
    expect(stats(42, COMP_NONE, MODE_HARD, 0)).toBe(0); // no such target
  });

  it("gradient: refuses the cross-entropy without the softmax, and unknown codes", () => {
    const { kernels } = runtime();
    const buf = reserveWorkspace(1 << 16);
    const gradient = (act: number, tkind: number, mode: number, ce: number) =>
      kernels.gradient(buf, 16, buf, 16, 16, 2, 0, act, tkind, mode, ce, buf + 16384, buf + 32768, 16, buf + 49152);
    expect(gradient(ACT_SOFTMAX, LABEL_U8, MODE_HARD, 1)).toBe(1);
    expect(gradient(ACT_SIGMOID, LABEL_U8, MODE_HARD, 1)).toBe(0);
    expect(gradient(ACT_SOFTMAX, LABEL_U8, MODE_SQUARED, 1)).toBe(1);
    expect(gradient(ACT_NONE, LABEL_U8, MODE_HARD, 1)).toBe(0);
    expect(gradient(9, LABEL_U8, MODE_HARD, 0)).toBe(0);
    expect(gradient(ACT_SIGMOID, 42, MODE_HARD, 0)).toBe(0);
  });
});
