// diceCELoss against the float64 reference (MONAI's DiceCELoss: DiceLoss plus
// PyTorch's CrossEntropyLoss on the logits), and its fused gradient against
// central differences of that reference.
import { beforeAll, describe, expect, it } from "vitest";
import { type DiceCEOptions, diceCELoss } from "../src/index.js";
import { referenceGradient, referenceLoss } from "../src/reference/losses.js";
import { BUILDS, expectError, gradError, labels, oneHot, shapeOf, uniform, useBuild } from "./helpers.js";

const [B, C, SPATIAL, S] = [2, 4, [3, 7], 21];

const VARIANTS: Array<{ name: string; options: Partial<DiceCEOptions> }> = [
  { name: "defaults", options: {} },
  {
    name: "weights, no background, λ",
    options: { weight: [0.5, 2, 1, 3], includeBackground: false, lambdaDice: 0.3, lambdaCe: 2 },
  },
  { name: "sum, jaccard, batch", options: { reduction: "sum", jaccard: true, batch: true } },
];

describe.each(BUILDS)("diceCELoss (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  for (const layout of ["channels-last", "channels-first"] as const) {
    for (const target of ["label map", "one-hot", "soft mask"] as const) {
      it.each(VARIANTS)(`${layout}, ${target}: $name`, ({ options: extra }) => {
        const input = uniform(B * S * C, 3, -4, 4);
        const map = labels(Int32Array, B * S, C, 4);
        const mask = target === "soft mask" ? softMask(B * S, C, layout) : oneHot(map, B, S, C, layout);
        const t = target === "label map" ? map : mask;
        const options: DiceCEOptions = {
          shape: shapeOf(B, SPATIAL, C, layout),
          layout,
          softmax: true,
          toOnehotY: target === "label map",
          ...extra,
        };
        const { loss, grad } = diceCELoss(input, t, { ...options, grad: true });
        const ref = referenceLoss("diceCE", input, t, options) as number;
        expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-6 * ref);
        expect(gradError(grad!, referenceGradient("diceCE", input, t, options))).toBeLessThan(1e-5);
      });
    }
  }

  it.each([2, 3, 5, 8])("%i classes (in registers up to 4, generic past it), label map and one-hot", (K) => {
    const n = 37;
    const input = uniform(B * n * K, K, -4, 4);
    const map = labels(Uint8Array, B * n, K, K + 1);
    for (const t of [map, oneHot(map, B, n, K, "channels-last")]) {
      const options: DiceCEOptions = { shape: [B, n, K], softmax: true, toOnehotY: t === map };
      const { loss, grad } = diceCELoss(input, t, { ...options, grad: true });
      const ref = referenceLoss("diceCE", input, t, options) as number;
      expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-6 * ref);
      expect(gradError(grad!, referenceGradient("diceCE", input, t, options))).toBeLessThan(1e-5);
    }
  });

  it("the cross-entropy comes from log-sum-exp: no saturation where the label's p underflows float32", () => {
    // label 0 lies 200 below the others: −ln p = 200 + ln 3 per voxel, far past float32's smallest p
    const n = 64;
    const input = Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 === 0 ? -200 : 0));
    const map = new Uint8Array(n);
    for (const layout of ["channels-last", "channels-first"] as const) {
      const options = { shape: shapeOf(1, [n], 4, layout), layout, softmax: true, toOnehotY: true, lambdaDice: 0 };
      const x =
        layout === "channels-last"
          ? input
          : Float32Array.from(input.keys(), (i) => input[(i % n) * 4 + Math.floor(i / n)]!);
      expect(diceCELoss(x, map, options).loss).toBeCloseTo(200 + Math.log(3), 4);
    }
  });

  it("keeps its precision on 2^20 voxels: the cross-entropy is a compensated sum too", () => {
    const n = 2 ** 18;
    const input = uniform(n * 4, 9, -3, 3);
    const map = labels(Uint8Array, n, 4, 10);
    const options = { shape: [1, n, 4], softmax: true, toOnehotY: true, lambdaDice: 0 } as const;
    const ce = diceCELoss(input, map, options).loss;
    expect(Math.abs(ce - (referenceLoss("diceCE", input, map, options) as number))).toBeLessThan(1e-6 * ce);
  });

  it("says what it needs: softmax logits with 2+ classes, mean or sum, no squaredPred or softLabel", () => {
    const input = uniform(B * S * C, 1, -2, 2);
    const map = labels(Int32Array, B * S, C, 2);
    const shape = [B, ...SPATIAL, C];
    const base = { shape, toOnehotY: true } as const;
    const grad = new Float32Array(input.length).fill(7);
    expect(() => diceCELoss(input, map, { ...base, grad })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringMatching(/softmax: true/) }),
    );
    expect(grad.every((g) => g === 7)).toBe(true); // refused before the first pass writes anything
    expect(() => diceCELoss(input, map, { ...base, softmax: true, reduction: "none" } as never)).toThrow(
      /reduction 'none'/,
    );
    expect(() => diceCELoss(input, map, { ...base, softmax: true, lambdaCe: -1 })).toThrow(/≥ 0/);
    expect(() => diceCELoss(input, map, { ...base, softmax: true, weight: [0, 0, 0, 0] })).toThrow(/weight 0|left out/);
  });
});

/** Random class probabilities per voxel (rows sum to 1), in the layout. */
function softMask(voxels: number, classes: number, layout: "channels-last" | "channels-first"): Float32Array {
  const u = uniform(voxels * classes, 8, 0.05, 1);
  const out = new Float32Array(voxels * classes);
  for (let v = 0; v < voxels; v++) {
    let total = 0;
    for (let c = 0; c < classes; c++) total += u[v * classes + c]!;
    for (let c = 0; c < classes; c++) {
      const b = Math.floor(v / S);
      const s = v % S;
      const at = layout === "channels-last" ? v * classes + c : (b * classes + c) * S + s;
      out[at] = u[v * classes + c]! / total;
    }
  }
  return out;
}

describe.each(BUILDS)("diceCELoss: binary cross-entropy with sigmoid, label smoothing (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each([
    ["one class, sigmoid: MONAI's BCEWithLogitsLoss", 1, { sigmoid: true }],
    ["one class, pos_weight", 1, { sigmoid: true, weight: 3, reduction: "sum" }],
    ["multi-label, sigmoid, pos_weight per class", C, { sigmoid: true, weight: [1, 2, 0.5, 3], lambdaCe: 0.7 }],
    ["softmax, label smoothing 0.1", C, { softmax: true, labelSmoothing: 0.1 }],
    [
      "softmax, label smoothing, weights, sum",
      C,
      { softmax: true, labelSmoothing: 0.3, weight: [0.5, 2, 1, 3], reduction: "sum" },
    ],
    ["softmax, label smoothing, ignoreIndex", C, { softmax: true, labelSmoothing: 0.2, ignoreIndex: 255 }],
    ["softmax, squaredPred (V-Net denominator)", C, { softmax: true, squaredPred: true, weight: [1, 2, 0.5, 3] }],
    ["softmax, softLabel, jaccard", C, { softmax: true, softLabel: true, jaccard: true }],
  ] as const)("%s", (_, K, extra) => {
    const input = uniform(B * S * K, 21, -4, 4);
    const map = labels(Uint8Array, B * S, Math.max(K, 2), 22).map((l, i) =>
      "ignoreIndex" in extra && i % 5 === 2 ? 255 : l,
    );
    for (const target of K === 1 ? ["mask"] : ["label map", "one-hot"]) {
      if (target === "one-hot" && "ignoreIndex" in extra) continue;
      const t =
        target === "label map"
          ? map
          : K === 1
            ? Float32Array.from(map, (l) => l % 2)
            : oneHot(map, B, S, K, "channels-last");
      checkDiceCE(input, t, {
        shape: [B, ...SPATIAL, K],
        toOnehotY: target === "label map",
        ...extra,
      } as DiceCEOptions);
    }
  });

  it.each([{ softLabel: true }, { squaredPred: true }, { softLabel: true, labelSmoothing: 0.1 }])(
    "a soft mask with %o: the cross-entropy of class probabilities beside the Dice term",
    (extra) => {
      const input = uniform(B * S * C, 25, -4, 4);
      const t = softMask(B * S, C, "channels-last");
      checkDiceCE(input, t, { shape: [B, ...SPATIAL, C], softmax: true, ...extra });
    },
  );

  it("bad options", () => {
    const input = uniform(B * S * C, 23, -1, 1);
    const map = labels(Uint8Array, B * S, C, 24);
    const o = { shape: [B, ...SPATIAL, C], toOnehotY: true };
    expectError(
      () => diceCELoss(input, map, { ...o, softmax: true, labelSmoothing: 1 }),
      "INVALID_OPTION",
      /labelSmoothing must be in \[0, 1\)/,
    );
    expectError(
      () => diceCELoss(input, map, { ...o, sigmoid: true, labelSmoothing: 0.1 }),
      "INVALID_OPTION",
      /binary cross-entropy of sigmoid: true has none/,
    );
    expectError(
      () => diceCELoss(input, map, { ...o, sigmoid: true, weight: [1, 2] }),
      "INVALID_OPTION",
      /pos_weight: one finite number ≥ 0 per class/,
    );
    expectError(() => diceCELoss(input, map, o), "INVALID_OPTION", /softmax: true .* or sigmoid: true/);
  });
});

/** Loss and gradient against the float64 reference and central differences of it. */
function checkDiceCE(input: Float32Array, target: ArrayLike<number>, options: DiceCEOptions): void {
  const { loss, grad } = diceCELoss(input, target as Float32Array, { ...options, grad: true });
  const ref = referenceLoss("diceCE", input, target, options) as number;
  expect(Math.abs(loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
  expect(gradError(grad!, referenceGradient("diceCE", input, target, options))).toBeLessThan(1e-5);
}
