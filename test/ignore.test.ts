// ignoreIndex and mask: what they leave out adds nothing to any sum and gets
// gradient 0, for every loss, target type, activation and layout, against the
// float64 reference (which zeroes prediction and target there, as smp and
// MONAI do) and central differences of it.
import { beforeAll, describe, expect, it } from "vitest";
import { focalScalar, focalScalarShared, focalSimd, focalSimdShared } from "../src/generated/focal.js";
import { ignoreScalar, ignoreScalarShared, ignoreSimd, ignoreSimdShared } from "../src/generated/ignore.js";
import {
  createVolume,
  type DiceCEOptions,
  diagnose,
  diceCELoss,
  diceLoss,
  generalizedDiceLoss,
  overlapStats,
  tverskyLoss,
} from "../src/index.js";
import type { LossResult } from "../src/losses.js";
import { referenceGradient, referenceLoss } from "../src/reference/losses.js";
import {
  BUILDS,
  expectError,
  gradError,
  labels,
  oneHot,
  seededRandom,
  shapeOf,
  uniform,
  useBuild,
  wasmSections,
} from "./helpers.js";

type Options = DiceCEOptions & { alpha?: number; beta?: number; wType?: "square" | "simple" | "uniform" };
type Kind = "dice" | "tversky" | "generalizedDice" | "diceCE";
const LOSSES: Record<Kind, (x: Float32Array, t: never, o: Options) => LossResult> = {
  dice: diceLoss as never,
  tversky: tverskyLoss as never,
  generalizedDice: generalizedDiceLoss as never,
  diceCE: diceCELoss as never,
};

const [B, C, SPATIAL, S] = [2, 3, [4, 5], 20];
const IGNORE = 255;

/** A label map of classes 0…C−1 with about a quarter of the voxels set to IGNORE. */
function labelsWithIgnored<
  T extends Uint8ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor,
>(Type: T, n: number, seed: number): InstanceType<T> {
  const map = labels(Type, n, C, seed);
  const r = seededRandom(seed + 1);
  for (let i = 0; i < n; i++) if (r() < 0.25) map[i] = IGNORE;
  return map;
}

/** One value per voxel, 0 for about a third of them. */
function voxelMask<T extends Uint8ArrayConstructor | Float32ArrayConstructor>(Type: T, n: number, seed: number) {
  const r = seededRandom(seed);
  const mask = new Type(n) as InstanceType<T>;
  for (let i = 0; i < n; i++) mask[i] = r() < 0.35 ? 0 : 1;
  return mask;
}

/** Checks loss and gradient against the reference, and that left-out elements get exactly 0. */
function check(kind: Kind, input: Float32Array, target: ArrayLike<number>, options: Options, left: boolean[]) {
  const before = Float32Array.from(input);
  const { loss, grad } = LOSSES[kind](input, target as never, { ...options, grad: true });
  const ref = referenceLoss(kind, input, target, options) as number;
  expect(Math.abs((loss as number) - ref)).toBeLessThanOrEqual(1e-6 * Math.max(ref, 1e-3));
  expect(gradError(grad!, referenceGradient(kind, input, target, options))).toBeLessThan(1e-5);
  left.forEach((out, i) => {
    if (out) expect(Math.abs(grad![i]!)).toBe(0);
  });
  expect(input).toEqual(before);
}

/** Which elements of an array of the prediction's shape are left out, from a per-voxel rule. */
function leftOut(layout: "channels-last" | "channels-first", out: (b: number, v: number, c: number) => boolean) {
  const left: boolean[] = Array(B * S * C).fill(false);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      for (let c = 0; c < C; c++) {
        left[layout === "channels-last" ? (b * S + v) * C + c : (b * C + c) * S + v] = out(b, v, c);
      }
    }
  }
  return left;
}

describe.each(BUILDS)("ignoreIndex and mask (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  for (const layout of ["channels-last", "channels-first"] as const) {
    const shape = shapeOf(B, SPATIAL, C, layout);

    describe(`${layout}, label map with ignoreIndex 255 (3 classes)`, () => {
      for (const Type of [Uint8Array, Uint16Array, Int32Array, Float32Array]) {
        it.each([
          ["dice", { softmax: true }],
          ["dice", { sigmoid: true, includeBackground: false }],
          ["dice", { squaredPred: true, softmax: true, batch: true }],
          ["tversky", { softmax: true, alpha: 0.3, beta: 0.7 }],
          ["generalizedDice", { softmax: true }],
          ["diceCE", { softmax: true, weight: [1, 2, 0.5] }],
        ] as const)(`${Type.name}: %s %o`, (kind, extra) => {
          const input = uniform(B * S * C, 7, -3, 3);
          const map = labelsWithIgnored(Type, B * S, 8);
          const options: Options = { shape, layout, toOnehotY: true, ignoreIndex: IGNORE, ...extra };
          check(
            kind,
            input,
            map,
            options,
            leftOut(layout, (b, v) => map[b * S + v] === IGNORE),
          );
        });
      }
    });

    it(`${layout}: ignoreIndex that is a class id (0) leaves those voxels out too`, () => {
      const input = uniform(B * S * C, 9, -3, 3);
      const map = labels(Int32Array, B * S, C, 10);
      const options: Options = { shape, layout, toOnehotY: true, softmax: true, ignoreIndex: 0 };
      check(
        "diceCE",
        input,
        map,
        options,
        leftOut(layout, (b, v) => map[b * S + v] === 0),
      );
    });

    it(`${layout}: the mask option (uint8 and float32), with and without ignoreIndex`, () => {
      const input = uniform(B * S * C, 11, -3, 3);
      const map = labelsWithIgnored(Uint8Array, B * S, 12);
      for (const mask of [voxelMask(Uint8Array, B * S, 13), voxelMask(Float32Array, B * S, 14)]) {
        const options: Options = { shape, layout, toOnehotY: true, softmax: true, mask };
        check(
          "dice",
          input,
          labels(Uint8Array, B * S, C, 12),
          options,
          leftOut(layout, (b, v) => mask[b * S + v] === 0),
        );
        const both = { ...options, ignoreIndex: IGNORE };
        const out = (b: number, v: number) => mask[b * S + v] === 0 || map[b * S + v] === IGNORE;
        check("diceCE", input, map, both, leftOut(layout, out));
      }
    });

    it(`${layout}: float mask, ignoreIndex per element with sigmoid and without activation`, () => {
      const map = labels(Uint8Array, B * S, C, 15);
      const target = oneHot(map, B, S, C, layout);
      const r = seededRandom(16);
      for (let i = 0; i < target.length; i++) if (r() < 0.2) target[i] = -1;
      const left = Array.from(target, (g) => g === -1);
      check("dice", uniform(B * S * C, 17, -3, 3), target, { shape, layout, sigmoid: true, ignoreIndex: -1 }, left);
      check("tversky", uniform(B * S * C, 18, 0, 1), target, { shape, layout, ignoreIndex: -1, alpha: 0.2 }, left);
    });

    it(`${layout}: float mask with softmax leaves whole voxels out, for the Dice and the cross-entropy`, () => {
      const map = labels(Uint8Array, B * S, C, 19);
      const target = oneHot(map, B, S, C, layout);
      const out = (b: number, v: number) => (b * S + v) % 3 === 1;
      const left = leftOut(layout, out);
      left.forEach((l, i) => {
        if (l) target[i] = IGNORE;
      });
      check(
        "diceCE",
        uniform(B * S * C, 20, -3, 3),
        target,
        { shape, layout, softmax: true, ignoreIndex: IGNORE },
        left,
      );
    });
  }

  it("one class: an integer 0/1 mask may hold ignoreIndex", () => {
    const n = 40;
    const target = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 255 : i % 2));
    const input = uniform(n, 21, -2, 2);
    const options: Options = { shape: [1, n, 1], sigmoid: true, ignoreIndex: 255 };
    check(
      "dice",
      input,
      target,
      options,
      Array.from(target, (g) => g === 255),
    );
  });

  it("across chunks: 3 × 5000 voxels of 4 classes, arrays in JS and volumes in wasm memory", () => {
    const K = 4;
    const n = 5000;
    const input = uniform(3 * n * K, 22, -4, 4);
    const r = seededRandom(23);
    const map = Uint8Array.from({ length: 3 * n }, () => (r() < 0.1 ? 255 : Math.floor(r() * K)));
    const mask = Uint8Array.from({ length: 3 * n }, () => (r() < 0.1 ? 0 : 1));
    const options: Options = { shape: [3, n, K], softmax: true, toOnehotY: true, ignoreIndex: 255, mask };
    const ref = referenceLoss("diceCE", input, map, options) as number;
    const { loss, grad } = diceCELoss(input, map, { ...options, grad: true });
    expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-6 * ref);
    const volumes = {
      x: createVolume(input.length),
      t: createVolume(map.length, "uint8"),
      m: createVolume(n * 3, "uint8"),
    };
    volumes.x.array.set(input);
    volumes.t.array.set(map);
    volumes.m.array.set(mask);
    const inWasm = diceCELoss(volumes.x, volumes.t, { ...options, mask: volumes.m, grad: true });
    expect(inWasm.loss).toBe(loss);
    expect(inWasm.grad).toEqual(grad);
    for (let i = 0; i < 3 * n; i++) {
      if (map[i] === 255 || mask[i] === 0) for (let c = 0; c < K; c++) expect(Math.abs(grad![i * K + c]!)).toBe(0);
    }
    for (const v of Object.values(volumes)) v.free();
  });

  it("overlapStats: left-out voxels add to no statistic", () => {
    const input = uniform(B * S * C, 24, 0, 1);
    const map = labelsWithIgnored(Uint8Array, B * S, 25);
    const kept = Uint8Array.from(map, (l) => (l === IGNORE ? 0 : 1));
    const stats = overlapStats(input, map, { shape: [B, S, C], toOnehotY: true, ignoreIndex: IGNORE });
    const zeroed = Float32Array.from(input, (x, i) => (kept[Math.floor(i / C)] ? x : 0));
    const relabelled = Uint8Array.from(map, (l) => (l === IGNORE ? 0 : l));
    const masked = overlapStats(zeroed, relabelled, { shape: [B, S, C], toOnehotY: true, mask: kept });
    expect(stats.tp).toEqual(masked.tp);
    expect(stats.fp).toEqual(masked.fp);
    expect(stats.fn).toEqual(masked.fn);
  });

  it("diagnose() does not report what ignoreIndex and mask leave out", () => {
    const input = uniform(B * S * C, 27, 0, 1);
    const map = labelsWithIgnored(Uint8Array, B * S, 28);
    const codes = (o: object) => diagnose(input, map, { shape: [B, S, C], toOnehotY: true, ...o }).map((f) => f.code);
    expect(codes({})).toContain("LABEL_OUT_OF_RANGE");
    expect(codes({ ignoreIndex: IGNORE })).not.toContain("LABEL_OUT_OF_RANGE");
    expect(codes({ mask: Uint8Array.from(map, (l) => (l === IGNORE ? 0 : 1)) })).not.toContain("LABEL_OUT_OF_RANGE");
  });

  describe("bad input", () => {
    const shape = [1, 8, 3];
    const input = uniform(24, 26, -1, 1);
    const map = new Uint8Array(8);
    it.each([1.5, Number.NaN, "255", Number.POSITIVE_INFINITY])(
      "ignoreIndex %s is not a whole number",
      (ignoreIndex) => {
        expectError(
          () => diceLoss(input, map, { shape, softmax: true, toOnehotY: true, ignoreIndex: ignoreIndex as number }),
          "INVALID_OPTION",
          /ignoreIndex must be a whole number/,
        );
      },
    );
    it("a mask of the wrong length, or type", () => {
      const o = { shape, softmax: true, toOnehotY: true };
      expectError(
        () => diceLoss(input, map, { ...o, mask: new Uint8Array(24) }),
        "LENGTH_MISMATCH",
        /one value per voxel, B × spatial = 8/,
      );
      expectError(
        () => diceLoss(input, map, { ...o, mask: new Int32Array(8) as never }),
        "UNSUPPORTED_DTYPE",
        /Uint8Array or Float32Array/,
      );
    });
    it("a mask value other than 0 and 1 is named with its index", () => {
      const mask = Float32Array.from([1, 1, 0, 1, 0.5, 1, 1, 1]);
      expectError(
        () => diceLoss(input, map, { shape, toOnehotY: true, mask }),
        "INVALID_OPTION",
        /mask holds 0.5 at index 4/,
      );
    });
    it("labels out of range are still errors, except where left out", () => {
      const bad = Uint8Array.from([0, 1, 2, 255, 7, 0, 1, 2]);
      expectError(
        () => diceLoss(input, bad, { shape, toOnehotY: true, ignoreIndex: 255 }),
        "LABEL_OUT_OF_RANGE",
        /label 7 at index 4/,
      );
      const mask = Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1]);
      expect(() => diceLoss(input, bad, { shape, toOnehotY: true, ignoreIndex: 255, mask })).not.toThrow();
    });
    it("with softmax, a float mask voxel ignored in some classes only", () => {
      const target = new Float32Array(24);
      target[0] = 255;
      expectError(
        () => diceLoss(input, target, { shape, softmax: true, ignoreIndex: 255 }),
        "INVALID_OPTION",
        /left out whole: 1 voxels/,
      );
    });
  });
});

it.each([
  ["ignore", ignoreSimd, ignoreScalar, ignoreSimdShared, ignoreScalarShared],
  ["focal", focalSimd, focalScalar, focalSimdShared, focalScalarShared],
])(
  "the %s program's builds have no data segment and no start function (they run on other libraries' memory)",
  (_, ...builds) => {
    for (const base64 of builds) {
      const sections = wasmSections(base64);
      expect(sections).toContain(10);
      for (const id of [8, 11, 12]) expect(sections).not.toContain(id);
    }
  },
);
