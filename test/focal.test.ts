// The focal family against a float64 reference written as MONAI 1.5 writes it
// (FocalLoss, DiceFocalLoss, GeneralizedDiceFocalLoss), gradients against
// central differences of it, γ = 0 against binary cross-entropy computed here
// independently, and the errors for bad options.
import { beforeAll, describe, expect, it } from "vitest";
import {
  createVolume,
  type DiceFocalOptions,
  diceFocalLoss,
  type FocalOptions,
  focalLoss,
  generalizedDiceFocalLoss,
} from "../src/index.js";
import { referenceGradient, referenceLoss } from "../src/reference/losses.js";
import { BUILDS, expectError, gradError, labels, oneHot, seededRandom, shapeOf, uniform, useBuild } from "./helpers.js";

const [B, C, SPATIAL, S] = [2, 3, [3, 5], 15];

const FOCAL_VARIANTS: Array<Partial<FocalOptions>> = [
  {},
  { gamma: 0 },
  { gamma: 0.5, alpha: 0.25 },
  { weight: [0.5, 2, 1] },
  { includeBackground: false, weight: [2, 0.5] },
  { useSoftmax: true },
  { useSoftmax: true, alpha: 0.3, gamma: 1.5 },
  { useSoftmax: true, includeBackground: false },
  { reduction: "sum" },
  { useSoftmax: true, reduction: "sum", weight: 2 },
];

/** A soft mask: per voxel, class probabilities summing to 1. */
function softMask(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(n * C);
  for (let v = 0; v < n; v++) {
    const w = [r(), r(), r()];
    const total = w[0]! + w[1]! + w[2]!;
    for (let c = 0; c < C; c++) out[v * C + c] = w[c]! / total;
  }
  return out;
}

describe.each(BUILDS)("focalLoss (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  for (const layout of ["channels-last", "channels-first"] as const) {
    for (const target of ["label map", "one-hot", "soft mask"] as const) {
      it.each(FOCAL_VARIANTS)(`${layout}, ${target}: %o`, (extra) => {
        const input = uniform(B * S * C, 3, -4, 4);
        const map = labels(Uint16Array, B * S, C, 4);
        const t =
          target === "label map" ? map : target === "one-hot" ? oneHot(map, B, S, C, layout) : softMask(B * S, 5);
        // the soft mask is channels-last; read channels-first it is another soft target, which is as good a test
        const options: FocalOptions = {
          shape: shapeOf(B, SPATIAL, C, layout),
          layout,
          toOnehotY: target === "label map",
          ...extra,
        };
        const before = Float32Array.from(input);
        const { loss, grad } = focalLoss(input, t, { ...options, grad: true });
        const ref = referenceLoss("focal", input, t, options) as number;
        expect(Math.abs(loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
        expect(gradError(grad!, referenceGradient("focal", input, t, options))).toBeLessThan(1e-5);
        expect(input).toEqual(before);
      });
    }
  }

  it("γ = 0 is binary cross-entropy with logits (mean over elements), computed here", () => {
    const n = 40;
    const input = uniform(n * C, 6, -30, 30);
    const t = softMask(n, 7);
    let bce = 0;
    for (let i = 0; i < input.length; i++) {
      const [x, y] = [input[i]!, t[i]!];
      bce += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    }
    const { loss } = focalLoss(input, t, { shape: [1, n, C], gamma: 0 });
    expect(Math.abs(loss - bce / input.length)).toBeLessThanOrEqual(1e-6 * loss);
  });

  it("near-perfect logits keep their digits: terms far below float32's 1e-38 are not lost", () => {
    const n = 24;
    const map = labels(Uint8Array, n, C, 8);
    // softmax: the label 30 above the others, (1 − p)^2 ≈ 4e-26 and −ln p ≈ 2e-13;
    // sigmoid: ±30, so that each term is about 1e-39 (a float32 subnormal)
    for (const [extra, hi, lo] of [
      [{ useSoftmax: true }, 20, -10],
      [{}, 30, -30],
    ] as const) {
      const input = Float32Array.from({ length: n * C }, (_, i) => (map[Math.floor(i / C)] === i % C ? hi : lo));
      const options = { shape: [1, n, C], toOnehotY: true, ...extra };
      const ref = referenceLoss("focal", input, map, options) as number;
      expect(ref).toBeGreaterThan(0);
      expect(ref).toBeLessThan(1e-30);
      expect(Math.abs(focalLoss(input, map, options).loss - ref)).toBeLessThanOrEqual(1e-5 * ref);
    }
  });

  it("reduction 'none': every element of the classes kept, in the prediction's layout", () => {
    const input = uniform(B * S * C, 9, -3, 3);
    const map = labels(Int32Array, B * S, C, 10);
    for (const layout of ["channels-last", "channels-first"] as const) {
      const options: FocalOptions = {
        shape: shapeOf(B, SPATIAL, C, layout),
        layout,
        toOnehotY: true,
        includeBackground: false,
        reduction: "none",
      };
      const { loss } = focalLoss(input, map, options as FocalOptions & { reduction: "none" });
      const ref = referenceLoss("focal", input, map, options) as Float64Array; // channels-first [B, C − 1, S]
      expect(loss.length).toBe(B * S * (C - 1));
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < C - 1; k++) {
          for (let v = 0; v < S; v++) {
            const ours = loss[layout === "channels-last" ? (b * S + v) * (C - 1) + k : (b * (C - 1) + k) * S + v]!;
            const want = ref[(b * (C - 1) + k) * S + v]!;
            expect(Math.abs(ours - want)).toBeLessThanOrEqual(2e-6 * want + 1e-12);
          }
        }
      }
    }
  });

  it("ignoreIndex and mask: the mean is over the elements kept, and they get gradient 0", () => {
    const r = seededRandom(11);
    const map = Uint8Array.from({ length: B * S }, () => (r() < 0.3 ? 255 : Math.floor(r() * C)));
    const mask = Uint8Array.from({ length: B * S }, () => (r() < 0.2 ? 0 : 1));
    const input = uniform(B * S * C, 12, -3, 3);
    for (const extra of [{}, { useSoftmax: true }, { reduction: "sum" as const }]) {
      const options: FocalOptions = { shape: [B, S, C], toOnehotY: true, ignoreIndex: 255, mask, ...extra };
      const { loss, grad } = focalLoss(input, map, { ...options, grad: true });
      const ref = referenceLoss("focal", input, map, options) as number;
      expect(Math.abs(loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
      expect(gradError(grad!, referenceGradient("focal", input, map, options))).toBeLessThan(1e-5);
      for (let v = 0; v < B * S; v++) {
        if (map[v] === 255 || mask[v] === 0) for (let c = 0; c < C; c++) expect(Math.abs(grad![v * C + c]!)).toBe(0);
      }
    }
  });

  it("across chunks, from JS arrays and from volumes in wasm memory alike", () => {
    const K = 4;
    const n = 6000;
    const input = uniform(2 * n * K, 13, -5, 5);
    const map = labels(Uint8Array, 2 * n, K, 14);
    const options: FocalOptions = { shape: [2, n, K], toOnehotY: true, useSoftmax: true, gamma: 2 };
    const ref = referenceLoss("focal", input, map, options) as number;
    const ours = focalLoss(input, map, { ...options, grad: true });
    expect(Math.abs(ours.loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
    const [x, t] = [createVolume(input.length), createVolume(map.length, "uint8")];
    x.array.set(input);
    t.array.set(map);
    const inWasm = focalLoss(x, t, { ...options, grad: true });
    expect(inWasm.loss).toBe(ours.loss);
    expect(inWasm.grad).toEqual(ours.grad);
    x.free();
    t.free();
  });

  describe("bad input", () => {
    const input = uniform(24, 15, -1, 1);
    const map = labels(Uint8Array, 8, 3, 16);
    const shape = [1, 8, 3];
    it.each([
      [{ gamma: -1 }, /gamma must be in \[0, 3.4e38\]/],
      [{ alpha: 1.5 }, /alpha must be in \[0, 1\]/],
      [{ weight: [1, 2] }, /weight needs one number per class kept \(3\)/],
      [{ softmax: true }, /unknown option 'softmax'/],
      [{ useSoftmax: "yes" }, /useSoftmax must be true or false/],
    ])("%o", (extra, message) => {
      expectError(
        () => focalLoss(input, map, { shape, toOnehotY: true, ...(extra as object) }),
        "INVALID_OPTION",
        message,
      );
    });
    it.each([
      {},
      { grad: true },
      { reduction: "sum" as const },
      { reduction: "none" as const },
      { useSoftmax: true, grad: true },
    ])("the kernel's label count finds a bad label in every path (%o); what is left out is no error", (extra) => {
      const o = { shape, toOnehotY: true, ...extra } as FocalOptions;
      const bad = Uint16Array.from([0, 1, 2, 0, 9, 1, 2, 0]);
      expectError(() => focalLoss(input, bad, o), "LABEL_OUT_OF_RANGE", /label 9 at index 4/);
      const half = Float32Array.from([0, 1, 2, 0.5, 1, 1, 2, 0]);
      expectError(() => focalLoss(input, half, o), "NON_INTEGER_LABEL", /label 0.5 at index 3/);
      const mask = Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1]);
      expect(() => focalLoss(input, bad, { ...o, mask })).not.toThrow();
      expect(() =>
        focalLoss(input, Uint16Array.from([0, 1, 2, 0, 1, 1, 2, 0]), { ...o, ignoreIndex: 1 }),
      ).not.toThrow();
    });
    it("labels out of range, and NaN logits, are named", () => {
      expectError(
        () => focalLoss(input, Uint8Array.from([0, 1, 2, 3, 0, 1, 2, 0]), { shape, toOnehotY: true }),
        "LABEL_OUT_OF_RANGE",
        /label 3 at index 3/,
      );
      const bad = Float32Array.from(input);
      bad[5] = Number.NaN;
      expectError(() => focalLoss(bad, map, { shape, toOnehotY: true }), "NON_FINITE_INPUT", /NaN at index 5/);
    });
  });
});

describe.each(BUILDS)("diceFocalLoss and generalizedDiceFocalLoss (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each([
    ["diceFocal", { softmax: true }],
    ["diceFocal", { sigmoid: true, alpha: 0.25, gamma: 1, lambdaDice: 0.5, lambdaFocal: 2 }],
    ["diceFocal", { softmax: true, weight: [2, 3], includeBackground: false, jaccard: true }],
    ["diceFocal", { softmax: true, reduction: "sum", batch: true }],
    ["diceFocal", { softmax: true, ignoreIndex: 255 }],
    ["generalizedDiceFocal", { softmax: true }],
    ["generalizedDiceFocal", { softmax: true, weight: [1, 0.5, 2], lambdaGdl: 0.3, lambdaFocal: 1.5, wType: "simple" }],
    ["generalizedDiceFocal", { sigmoid: true, ignoreIndex: 255, reduction: "sum" }],
  ] as const)("%s %o: value and gradient", (kind, extra) => {
    const r = seededRandom(17);
    const ignore = "ignoreIndex" in extra;
    const map = Uint8Array.from({ length: B * S }, () => (ignore && r() < 0.25 ? 255 : Math.floor(r() * C)));
    const input = uniform(B * S * C, 18, -3, 3);
    const options = { shape: [B, ...SPATIAL, C], toOnehotY: true, ...extra } as DiceFocalOptions;
    const run = kind === "diceFocal" ? diceFocalLoss : generalizedDiceFocalLoss;
    const { loss, grad } = run(input, map, { ...options, grad: true } as never);
    const ref = referenceLoss(kind, input, map, options) as number;
    expect(Math.abs(loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
    expect(gradError(grad!, referenceGradient(kind, input, map, options))).toBeLessThan(1e-5);
    // the loss without a gradient is the same number
    expect(Math.abs(run(input, map, options as never).loss - loss)).toBeLessThanOrEqual(1e-7 * loss);
  });

  it("errors: reduction 'none', negative λ", () => {
    const input = uniform(24, 19, -1, 1);
    const map = labels(Uint8Array, 8, 3, 20);
    const o = { shape: [1, 8, 3], softmax: true, toOnehotY: true };
    expectError(() => diceFocalLoss(input, map, { ...o, reduction: "none" }), "INVALID_OPTION", /reduction 'none'/);
    expectError(
      () => diceFocalLoss(input, map, { ...o, lambdaFocal: -1 }),
      "INVALID_OPTION",
      /lambdaFocal must be ≥ 0/,
    );
    expectError(() => generalizedDiceFocalLoss(input, map, { ...o, gamma: -2 }), "INVALID_OPTION", /gamma must be in/);
  });
});

describe.each(BUILDS)("the focal family's edges (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it("a NaN or −∞ logit is named, also where a max or a label mask could hide it (softmax, label map)", () => {
    const n = 9;
    const map = new Uint8Array(n); // every label 0: class 2 is never the label
    for (const bad of [Number.NaN, Number.NEGATIVE_INFINITY]) {
      const input = uniform(n * C, 30, -1, 1);
      input[1 * C + 2] = bad;
      expectError(
        () => focalLoss(input, map, { shape: [1, n, C], toOnehotY: true, useSoftmax: true }),
        "NON_FINITE_INPUT",
        /at index 5/,
      );
    }
  });

  it("confident logits: every gradient element keeps its digits (not just the largest)", () => {
    // the label's logit 15–18 above the others: p rounds to 1 in float32, 1 − p and the gradient do not
    const n = 8;
    const map = labels(Uint8Array, n, C, 31);
    const input = Float32Array.from({ length: n * C }, (_, i) => (map[Math.floor(i / C)] === i % C ? 15 + (i % 4) : 0));
    for (const extra of [
      { useSoftmax: true },
      { useSoftmax: true, gamma: 0 },
      { gamma: 0 },
      {},
      { reduction: "sum" as const },
    ]) {
      const options: FocalOptions = { shape: [1, n, C], toOnehotY: true, ...extra };
      const { grad } = focalLoss(input, map, { ...options, grad: true });
      // a term depends on its own voxel's logits (softmax) or its own logit (sigmoid) only: central
      // differences of that voxel or element alone resolve it where those of the whole sum cannot
      const share = (extra.reduction === "sum" ? 1 : C) * n; // the mean over n·C, or the spatial sum over n
      for (let v = 0; v < n; v++) {
        for (let c = 0; c < C; c++) {
          const i = v * C + c;
          const w = options.useSoftmax
            ? referenceGradient(
                "focal",
                input.subarray(v * C, (v + 1) * C),
                map.subarray(v, v + 1),
                { ...options, shape: [1, 1, C] },
                1e-4,
              )[c]! / n
            : referenceGradient(
                "focal",
                input.subarray(i, i + 1),
                [Number(map[v] === c)],
                { ...options, shape: [1, 1, 1], toOnehotY: false },
                1e-4,
              )[0]! / share;
          expect(Math.abs(grad![i]! - w)).toBeLessThanOrEqual(1e-4 * Math.abs(w) + 1e-45);
        }
      }
    }
  });

  it("with softmax, a float-mask voxel ignored in some classes only is refused, as in the Dice losses", () => {
    const target = new Float32Array(4 * C);
    target[0] = 255;
    target[C + 1] = 1;
    expectError(
      () => focalLoss(uniform(4 * C, 32, -1, 1), target, { shape: [1, 4, C], useSoftmax: true, ignoreIndex: 255 }),
      "INVALID_OPTION",
      /left out whole/,
    );
  });

  it("bad options are refused before the first pass writes into the caller's gradient array", () => {
    const input = uniform(8 * C, 33, -1, 1);
    const map = labels(Uint8Array, 8, C, 34);
    const grad = new Float32Array(input.length).fill(7);
    const o = { shape: [1, 8, C], softmax: true, toOnehotY: true, grad };
    expectError(() => diceFocalLoss(input, map, { ...o, gamma: -1 }), "INVALID_OPTION", /gamma/);
    expectError(() => diceFocalLoss(input, map, { ...o, weight: [1, 2] }), "INVALID_OPTION", /weight/);
    expect(grad.every((g) => g === 7)).toBe(true);
  });

  it("everything left out: every loss is a finite number and the gradient is 0", () => {
    const n = 12;
    const map = new Uint8Array(n).fill(255);
    const input = uniform(n * C, 35, -2, 2);
    const o = { shape: [1, n, C], toOnehotY: true, ignoreIndex: 255, grad: true } as const;
    const runs = [
      focalLoss(input, map, o),
      focalLoss(input, map, { ...o, useSoftmax: true }),
      diceFocalLoss(input, map, { ...o, softmax: true }),
      generalizedDiceFocalLoss(input, map, { ...o, softmax: true }),
    ];
    for (const { loss, grad } of runs) {
      expect(Number.isFinite(loss)).toBe(true);
      expect(grad!.every((g) => g === 0)).toBe(true);
    }
  });

  it("the scalar tail in a later chunk: 2 × (5456 + 7) voxels of 3 classes, channels-first, with ignoreIndex and mask", () => {
    const n = 5463; // the workspace holds 5456 voxels of 3 classes a chunk
    const r = seededRandom(36);
    const map = Uint8Array.from({ length: 2 * n }, () => (r() < 0.1 ? 255 : Math.floor(r() * C)));
    const mask = Uint8Array.from({ length: 2 * n }, () => (r() < 0.1 ? 0 : 1));
    const input = uniform(2 * n * C, 37, -4, 4);
    for (const extra of [{}, { useSoftmax: true }]) {
      const options: FocalOptions = {
        shape: [2, C, n],
        layout: "channels-first",
        toOnehotY: true,
        ignoreIndex: 255,
        mask,
        ...extra,
      };
      const { loss, grad } = focalLoss(input, map, { ...options, grad: true });
      const ref = referenceLoss("focal", input, map, options) as number;
      expect(Math.abs(loss - ref)).toBeLessThanOrEqual(2e-6 * ref);
      for (let b = 0; b < 2; b++) {
        for (let v = 0; v < n; v++) {
          const out = map[b * n + v] === 255 || mask[b * n + v] === 0;
          if (out) for (let c = 0; c < C; c++) expect(Math.abs(grad![(b * C + c) * n + v]!)).toBe(0);
        }
      }
    }
  });
});
