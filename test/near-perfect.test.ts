// Near-perfect predictions — the end of training — where 1 − p computed from
// a float32 p has no correct digit: the losses and gradients must still match
// a float64 evaluation of the same float32 logits that takes every complement
// from the logits (src/reference/complements.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { diceCELoss, diceLoss } from "../src/index.js";
import { referenceKeepingDigits } from "../src/reference/complements.js";
import { BUILDS, gradError, labels, oneHot, seededRandom, shapeOf, useBuild } from "./helpers.js";

const N = 2 ** 18;
const MARGINS = [8, 12, 16, 20, 30];

/** |a − b| / |b| */
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** Logits where the label's class leads the others by `margin`, give or take 0.5. */
function confidentLogits(
  map: Uint8Array,
  C: number,
  margin: number,
  layout: "channels-last" | "channels-first",
  n = N,
) {
  const r = seededRandom(margin);
  const x = new Float32Array(n * C);
  for (let v = 0; v < n; v++) {
    for (let c = 0; c < C; c++) {
      x[layout === "channels-last" ? v * C + c : c * n + v] = (map[v] === c ? margin : 0) + r() - 0.5;
    }
  }
  return x;
}

describe.each(BUILDS)("near-perfect predictions keep their digits (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each(MARGINS)("sigmoid, one class, all-ones target, logits %i ± 0.5", (margin) => {
    const r = seededRandom(margin);
    const x = Float32Array.from({ length: N }, () => margin + r() - 0.5);
    const t = new Float32Array(N).fill(1);
    const o = { shape: [1, N, 1], sigmoid: true };
    const { loss, grad } = diceLoss(x, t, { ...o, grad: true });
    const ref = referenceKeepingDigits(x, t, o);
    expect(loss).toBeGreaterThan(0);
    expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
    expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
    // the control: fn from 1 − p of the float32 probabilities, as float32 frameworks do, is far off
    let fn = 0;
    let tp = 0;
    for (const xi of x) {
      const p = Math.fround(1 / (1 + Math.exp(-xi)));
      fn += 1 - p;
      tp += p;
    }
    const naive = (fn + 1e-5 - 1e-5) / (2 * tp + fn + 1e-5);
    if (margin >= 16) expect(relative(naive, ref.loss)).toBeGreaterThan(1e-3);
  });

  for (const layout of ["channels-last", "channels-first"] as const) {
    it.each(MARGINS)(`softmax, 4 classes, label map, ${layout}, margin %i`, (margin) => {
      const C = 4;
      const map = labels(Uint8Array, N, C, margin);
      const x = confidentLogits(map, C, margin, layout);
      const o = { shape: shapeOf(1, [N], C, layout), layout, softmax: true, toOnehotY: true };
      const { loss, grad } = diceLoss(x, map, { ...o, grad: true });
      const ref = referenceKeepingDigits(x, map, o);
      expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
      expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
    });
  }

  it.each(MARGINS)("softmax, 3 classes, one-hot mask, margin %i", (margin) => {
    const C = 3;
    const map = labels(Uint8Array, N, C, margin);
    const x = confidentLogits(map, C, margin, "channels-last");
    const mask = oneHot(map, 1, N, C, "channels-last");
    const o = { shape: [1, N, C], softmax: true };
    const { loss, grad } = diceLoss(x, mask, { ...o, grad: true });
    const ref = referenceKeepingDigits(x, mask, o);
    expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
    expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
  });

  // the squared denominator and soft labels read p − g in the gradient: from 1 − p where g is 1
  for (const extra of [{ squaredPred: true }, { softLabel: true }] as const) {
    const name = Object.keys(extra)[0];
    it.each(MARGINS)(`sigmoid, ${name}, all-ones target, logits %i ± 0.5`, (margin) => {
      const r = seededRandom(margin + 100);
      const x = Float32Array.from({ length: N }, () => margin + r() - 0.5);
      const t = new Float32Array(N).fill(1);
      const o = { shape: [1, N, 1], sigmoid: true, ...extra };
      const { loss, grad } = diceLoss(x, t, { ...o, grad: true });
      const ref = referenceKeepingDigits(x, t, o);
      expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
      expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
    });
    it.each(MARGINS)(`softmax, ${name}, 4 classes, label map and one-hot mask, margin %i`, (margin) => {
      const C = 4;
      const map = labels(Uint8Array, N, C, margin + 2);
      const x = confidentLogits(map, C, margin, "channels-last");
      for (const target of [map, oneHot(map, 1, N, C, "channels-last")]) {
        const o = { shape: [1, N, C], softmax: true, toOnehotY: target === map, ...extra };
        const { loss, grad } = diceLoss(x, target, { ...o, grad: true });
        const ref = referenceKeepingDigits(x, target, o);
        expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
        expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it.each(MARGINS)("diceCELoss, 4 classes, label map, margin %i: the cross-entropy from log-sum-exp", (margin) => {
    const C = 4;
    const map = labels(Uint8Array, N, C, margin + 1);
    const x = confidentLogits(map, C, margin, "channels-last");
    const o = { shape: [1, N, C], softmax: true, toOnehotY: true };
    const { loss, grad } = diceCELoss(x, map, { ...o, grad: true });
    const ref = referenceKeepingDigits(x, map, { ...o, lambdaCe: 1 });
    expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
    expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
  });

  // the other kernel paths, on a voxel count that leaves a scalar tail in the SIMD build
  const ODD = 2 ** 16 + 3;
  const PATHS = [
    {
      name: "softmax, 6 classes (the generic loops), label map, channels-last",
      C: 6,
      layout: "channels-last",
      target: "labels",
      act: "softmax",
    },
    {
      name: "softmax, 5 classes, one-hot mask, channels-first",
      C: 5,
      layout: "channels-first",
      target: "mask",
      act: "softmax",
    },
    {
      name: "sigmoid, 3 classes, one-hot mask, channels-last",
      C: 3,
      layout: "channels-last",
      target: "mask",
      act: "sigmoid",
    },
    {
      name: "sigmoid, 2 classes, one-hot mask, channels-first",
      C: 2,
      layout: "channels-first",
      target: "mask",
      act: "sigmoid",
    },
  ] as const;
  for (const path of PATHS) {
    it.each([12, 20])(`${path.name}, ${ODD} voxels, margin %i`, (margin) => {
      const { C, layout } = path;
      const map = labels(Uint8Array, ODD, C, margin + 3);
      const x = confidentLogits(map, C, margin, layout, ODD);
      const target = path.target === "labels" ? map : oneHot(map, 1, ODD, C, layout);
      const o = {
        shape: shapeOf(1, [ODD], C, layout),
        layout,
        [path.act]: true,
        toOnehotY: path.target === "labels",
      };
      const { loss, grad } = diceLoss(x, target, { ...o, grad: true });
      const ref = referenceKeepingDigits(x, target, o);
      expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
      expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
    });
  }

  it.each([12, 20])("diceCELoss, 3 classes, one-hot mask, margin %i: g·(ln Σe − d)", (margin) => {
    const C = 3;
    const map = labels(Uint8Array, ODD, C, margin + 4);
    const x = confidentLogits(map, C, margin, "channels-last", ODD);
    const mask = oneHot(map, 1, ODD, C, "channels-last");
    const o = { shape: [1, ODD, C], softmax: true };
    const { loss, grad } = diceCELoss(x, mask, { ...o, grad: true });
    const ref = referenceKeepingDigits(x, mask, { ...o, lambdaCe: 1 });
    expect(relative(loss, ref.loss)).toBeLessThanOrEqual(1e-6);
    expect(gradError(grad!, ref.grad, 0)).toBeLessThanOrEqual(1e-4);
  });
});
