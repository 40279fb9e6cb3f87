// Edge cases where a careless implementation returns NaN, a negative loss, or
// loses every digit.
import { beforeAll, describe, expect, it } from "vitest";
import {
  diceLoss,
  generalizedDiceLoss,
  type LossOptions,
  type LossResult,
  overlapStats,
  tverskyLoss,
} from "../src/index.js";
import { referenceGradient, referenceLoss } from "../src/reference/losses.js";
import { BUILDS, gradError, labels, oneHot, relMaxError, uniform, useBuild } from "./helpers.js";

const LOSSES: Record<
  "dice" | "tversky" | "generalizedDice",
  (p: Float32Array, t: Float32Array, o: LossOptions) => LossResult<number>
> = {
  dice: diceLoss,
  tversky: tverskyLoss,
  generalizedDice: generalizedDiceLoss,
};

describe.each(BUILDS)("adversarial inputs (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));
  const shape = [2, 4, 5, 3]; // channels-last, B = 2, S = 20 (not a multiple of 16), C = 3

  it("all-zero target: loss and gradient are finite and match the reference", () => {
    const p = uniform(120, 1);
    const t = new Float32Array(120);
    for (const kind of ["dice", "tversky", "generalizedDice"] as const) {
      const o = { shape };
      const r = LOSSES[kind](p, t, { ...o, grad: true });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Math.abs(r.loss - (referenceLoss(kind, p, t, o) as number))).toBeLessThan(1e-6);
      expect(gradError(r.grad!, referenceGradient(kind, p, t, o))).toBeLessThan(1e-5);
    }
  });

  it("all-zero prediction and all-zero target: loss is exactly (sd − sn)/sd = 0", () => {
    const z = new Float32Array(120);
    expect(diceLoss(z, z, { shape }).loss).toBe(0);
    expect(diceLoss(z, z, { shape, smoothNr: 0, smoothDr: 1 }).loss).toBe(1);
  });

  it("perfect prediction: the loss keeps its digits (no 1 − dice cancellation)", () => {
    const map = labels(Uint8Array, 40, 3, 2);
    const t = oneHot(map, 2, 20, 3, "channels-last");
    const p = t.map((g) => (g ? 1 - 2 ** -20 : 2 ** -20));
    // exact: fp = fn = 2^-20 × (#zeros resp. #ones), tp = (1 − 2^-20) × #ones
    const { loss } = diceLoss(p, t, {
      shape,
      smoothNr: 0,
      smoothDr: 0,
      reduction: "none",
    });
    const ones = Array.from(
      { length: 6 },
      (_, i) => map.slice(Math.floor(i / 3) * 20, Math.floor(i / 3) * 20 + 20).filter((l) => l === i % 3).length,
    );
    ones.forEach((n, i) => {
      const tp = n * (1 - 2 ** -20);
      const fp = (20 - n) * 2 ** -20;
      const fn = n * 2 ** -20;
      const exact = (fp + fn) / (2 * tp + fp + fn);
      expect(Math.abs(loss[i]! - exact) / exact).toBeLessThan(1e-6);
    });
    // the common float32 way, 1 − 2tp/(Σp + Σg), has no correct digit here
    const naive = Math.fround(1 - Math.fround((2 * ones[0]! * (1 - 2 ** -20)) / (2 * ones[0]! + 2 ** -20 * 20)));
    expect(Math.abs(naive - loss[0]!) / loss[0]!).toBeGreaterThan(0.01);
  });

  it("a class absent from one batch item: generalized Dice weight falls back to the largest finite weight", () => {
    const map = labels(Int32Array, 40, 3, 3).map((l, i) => (i < 20 && l === 2 ? 0 : l)); // class 2 absent from item 0
    const p = uniform(120, 4);
    for (const batch of [false, true]) {
      const o = { shape, toOnehotY: true, batch, reduction: "none" as const };
      const r = generalizedDiceLoss(p, map, { ...o, grad: true });
      expect(r.loss.every(Number.isFinite)).toBe(true);
      expect(relMaxError(r.loss, referenceLoss("generalizedDice", p, map, o) as Float64Array)).toBeLessThan(1e-6);
      expect(relMaxError(r.grad!, referenceGradient("generalizedDice", p, map, o))).toBeLessThan(1e-5);
    }
  });

  it("probabilities of exactly 0 and 1", () => {
    const p = Float32Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const t = Float32Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const s = overlapStats(p, t, { shape });
    // class c: p = 1 on voxels where (3v + c) % 3 == 0, i.e. class 0 only
    expect(Array.from(s.tp)).toEqual([10, 0, 0, 10, 0, 0]);
    const r = diceLoss(p, t, { shape, grad: true });
    expect(Math.abs(r.loss - (referenceLoss("dice", p, t, { shape }) as number))).toBeLessThan(1e-6);
  });

  it("extreme logits saturate instead of overflowing", () => {
    const x = Float32Array.from({ length: 120 }, (_, i) => (i % 2 ? 1e30 : -1e30));
    const t = Float32Array.from({ length: 120 }, (_, i) => i % 2);
    for (const act of [{ sigmoid: true }, { softmax: true }]) {
      const r = diceLoss(x, t, { shape, ...act, grad: true });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.grad!.every(Number.isFinite)).toBe(true);
    }
  });

  it("a valid input never gives a negative loss, even with smoothNr = smoothDr", () => {
    for (let seed = 0; seed < 50; seed++) {
      const p = uniform(120, seed).map((v) => (v < 0.5 ? v ** 8 : 1 - v ** 8));
      const t = uniform(120, seed + 1000).map((v) => (v < 0.5 ? 0 : 1));
      for (const squaredPred of [false, true]) {
        const { loss } = diceLoss(p, t, {
          shape,
          squaredPred,
          smoothNr: 1,
          smoothDr: 1,
          reduction: "none",
        });
        expect(loss.every((l) => l >= 0)).toBe(true);
      }
    }
  });
});
