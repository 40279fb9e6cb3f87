// Volumes that span many chunks: the gradient against the exact formula, and
// statistics that merge by addition.
import { beforeAll, describe, expect, it } from "vitest";
import { diceLoss, mergeStats, overlapStats } from "../src/index.js";
import { referenceDiceGradient, referenceLoss } from "../src/reference/losses.js";
import { BUILDS, gradError, labels, oneHot, shapeOf, uniform, useBuild } from "./helpers.js";

describe.each(BUILDS)("volumes of many chunks (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));
  const B = 2;
  const S = 9001; // ≥ 2 chunks per batch item for every C here, and an odd last chunk

  for (const C of [1, 2, 3, 4, 5, 8])
    for (const layout of ["channels-last", "channels-first"] as const)
      for (const act of ["none", "sigmoid", "softmax"] as const)
        it(`C = ${C}, ${layout}, ${act}: loss and gradient, labels and masks`, () => {
          const input = act === "none" ? uniform(B * S * C, C) : uniform(B * S * C, C, -4, 4);
          const map = labels(Uint8Array, B * S, C, 7);
          for (const target of C > 1 ? [map, oneHot(map, B, S, C, layout)] : [oneHot(map, B, S, C, layout)]) {
            const o = {
              shape: shapeOf(B, [S], C, layout),
              layout,
              sigmoid: act === "sigmoid",
              softmax: act === "softmax",
              toOnehotY: target === map,
            };
            const r = diceLoss(input, target, { ...o, grad: true });
            const ref = referenceLoss("dice", input, target, o) as number;
            expect(Math.abs(r.loss - ref)).toBeLessThan(1e-6 * ref);
            expect(gradError(r.grad!, referenceDiceGradient(input, target, o), 1e-12)).toBeLessThan(1e-5);
          }
        });

  it("statistics of two halves merge into those of the whole", () => {
    const C = 3;
    const half = 20_000;
    const p = uniform(2 * half * C, 1);
    const map = labels(Int32Array, 2 * half, C, 2);
    const opts = (n: number) => ({ shape: [1, n, C], toOnehotY: true });
    const whole = overlapStats(p, map, opts(2 * half));
    const merged = mergeStats(
      overlapStats(p.subarray(0, half * C), map.subarray(0, half), opts(half)),
      overlapStats(p.subarray(half * C), map.subarray(half), opts(half)),
    );
    for (const key of ["tp", "fp", "fn"] as const) {
      for (const [c, v] of whole[key].entries()) expect(Math.abs(merged[key][c]! - v)).toBeLessThan(1e-6 * v);
    }
  });
});
