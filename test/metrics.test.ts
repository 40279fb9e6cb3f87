// Hard metrics: the counting kernel (both builds, every label type, chunk
// boundaries, the ignore label) against plain float64 loops, and MONAI 1.5's
// semantics for empty classes and reductions, on cases worked by hand.
import { beforeAll, describe, expect, it } from "vitest";
import { metricsScalar, metricsSimd } from "../src/generated/metrics.js";
import {
  confusionCounts,
  confusionMetric,
  createVolume,
  diceMetric,
  generalizedDiceScore,
  init,
  meanIoU,
  mergeCounts,
} from "../src/index.js";
import { runtime } from "../src/runtime.js";
import { BUILDS, expectError, labels, useBuild } from "./helpers.js";

/** tp, fp, fn, tn per (item, class) by the definition, in float64. */
function referenceCounts(p: ArrayLike<number>, t: ArrayLike<number>, B: number, C: number, ignore?: number) {
  const S = t.length / B;
  const z = () => new Float64Array(B * C);
  const r = { tp: z(), fp: z(), fn: z(), tn: z() };
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      const [tl, pl] = [t[b * S + v]!, p[b * S + v]!];
      if (tl === ignore) continue;
      for (let c = 0; c < C; c++) {
        const key = tl === c ? (pl === c ? "tp" : "fn") : pl === c ? "fp" : "tn";
        r[key][b * C + c]! += 1;
      }
    }
  }
  return r;
}

describe.each(BUILDS)("confusionCounts (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each([
    [Uint8Array, 4],
    [Uint8Array, 9], // past the vector path's 8 classes
    [Uint16Array, 5],
    [Int32Array, 3],
  ] as const)("%o labels, %i classes, two items of an odd size: as counted by definition", (Type, C) => {
    const [B, S] = [2, 16 * 300 + 7]; // more than 255 vectors a block, and a scalar tail
    const t = labels(Type, B * S, C, 1);
    const p = t.map((l: number, i: number) => (i % 5 === 0 ? (l + 1) % C : l)) as typeof t; // 80% right
    const got = confusionCounts(p, t, { shape: [B, S], numClasses: C });
    expect({ ...got }).toEqual({ B, C, ...referenceCounts(p, t, B, C) });
  });

  it("the ignore label counts nowhere, in the target or where the prediction meets it; 255 with 3 classes", () => {
    const t = labels(Uint8Array, 4096 + 3, 3, 2).map((l, i) => (i % 7 === 0 ? 255 : l));
    const p = labels(Uint8Array, t.length, 3, 3);
    const got = confusionCounts(p, t, { shape: [1, t.length], numClasses: 3, ignoreIndex: 255 });
    expect({ ...got }).toEqual({ B: 1, C: 3, ...referenceCounts(p, t, 1, 3, 255) });
    const kept = t.length - t.filter((l) => l === 255).length;
    for (let c = 0; c < 3; c++) expect(got.tp[c]! + got.fp[c]! + got.fn[c]! + got.tn[c]!).toBe(kept);
  });

  it.each([2, 3, 4, 6])("ignoreIndex 0 (a class's own label) with %i classes: those voxels count for no class", (C) => {
    const t = labels(Uint8Array, 4096 + 5, C, 5);
    const p = labels(Uint8Array, t.length, C, 6);
    const got = confusionCounts(p, t, { shape: [1, t.length], numClasses: C, ignoreIndex: 0 });
    expect({ ...got }).toEqual({ B: 1, C, ...referenceCounts(p, t, 1, C, 0) });
    expect(got.tp[0]! + got.fn[0]!).toBe(0); // no target voxel of class 0 is counted
  });

  it("the counting program stays under 4 KiB, the most a browser compiles synchronously on its main thread", () => {
    for (const base64 of [metricsSimd, metricsScalar]) expect(atob(base64).length).toBeLessThan(4096);
  });

  it("across a chunk boundary (2^20 voxels a call), mixed types, merged counts add", () => {
    const n = 2 ** 20 + 37;
    const t = labels(Int32Array, n, 4, 4);
    const p = Uint8Array.from(t, (l, i) => (i % 3 ? l : 0));
    const whole = confusionCounts(p, t, { shape: [1, n], numClasses: 4 });
    expect({ ...whole }).toEqual({ B: 1, C: 4, ...referenceCounts(p, t, 1, 4) });
    const half = n >> 1;
    const a = confusionCounts(p.subarray(0, half), t.subarray(0, half), { shape: [1, half], numClasses: 4 });
    const b = confusionCounts(p.subarray(half), t.subarray(half), { shape: [1, n - half], numClasses: 4 });
    expect(mergeCounts(a, b)).toEqual(whole);
  });

  it.each(["channels-last", "channels-first"] as const)(
    "class scores with argmax: true, %s: the counts of their argmax (first maximum, NaN the largest, as torch)",
    (layout) => {
      const [B, S, C] = [2, 3000, 5];
      const scores = Float32Array.from({ length: B * S * C }, (_, i) => Math.round(Math.sin(i * 12.9898) * 4) / 2);
      scores[7] = Number.NaN;
      const at = (b: number, v: number, c: number) =>
        layout === "channels-last" ? (b * S + v) * C + c : (b * C + c) * S + v;
      const argmax = Int32Array.from({ length: B * S }, (_, i) => {
        const [b, v] = [Math.floor(i / S), i % S];
        let best = 0;
        for (let c = 1; c < C; c++) {
          const [x, y] = [scores[at(b, v, c)]!, scores[at(b, v, best)]!];
          if (x > y || (Number.isNaN(x) && !Number.isNaN(y))) best = c;
        }
        return best;
      });
      const t = labels(Uint8Array, B * S, C, 9).map((l, i) => (i % 11 === 0 ? 200 : l));
      const o = { shape: [B, S], numClasses: C, ignoreIndex: 200 };
      const got = confusionCounts(scores, t, { ...o, argmax: true, layout });
      expect(got).toEqual(confusionCounts(argmax, t, o));
      expect({ ...got }).toEqual({ B, C, ...referenceCounts(argmax, t, B, C, 200) });
    },
  );

  it("bad input: typed errors that say what to do", () => {
    const t = Uint8Array.of(0, 1, 2, 1);
    const o = { shape: [1, 4], numClasses: 3 };
    expectError(
      () => confusionCounts(Uint8Array.of(0, 1, 3, 1), t, o),
      "LABEL_OUT_OF_RANGE",
      /prediction holds 3 at index 2.*numClasses/,
    );
    expectError(
      () => confusionCounts(t, Uint8Array.of(0, 7, 1, 1), o),
      "LABEL_OUT_OF_RANGE",
      /target holds 7 at index 1.*ignoreIndex/,
    );
    expectError(() => confusionCounts(t, Int32Array.of(0, -1, 1, 1), o), "LABEL_OUT_OF_RANGE", /-1 at index 1/);
    expectError(
      () => confusionCounts(t, t.subarray(0, 3), o),
      "LENGTH_MISMATCH",
      /target has 3 labels but shape \[1,4\] needs 4/,
    );
    expectError(() => confusionCounts(new Float32Array(4), t, o), "UNSUPPORTED_DTYPE", /class scores set argmax: true/);
    expectError(
      () => confusionCounts(t, t, { ...o, argmax: true }),
      "UNSUPPORTED_DTYPE",
      /argmax: true takes class scores/,
    );
    expectError(
      () => confusionCounts(new Float32Array(8), t, { ...o, argmax: true }),
      "LENGTH_MISMATCH",
      /prediction has 8 scores but shape \[1,4\] with 3 classes needs 12/,
    );
    expectError(
      () => confusionCounts(t, t, { ...o, numClasses: 2.5 }),
      "INVALID_OPTION",
      /numClasses must be a whole number/,
    );
    expectError(
      () => confusionCounts(t, t, { ...o, ignoreIndex: 0.5 }),
      "INVALID_OPTION",
      /ignoreIndex must be a whole number/,
    );
    expectError(
      () => confusionCounts(t, t, { ...o, num_classes: 3 } as never),
      "INVALID_OPTION",
      /unknown option 'num_classes'/,
    );
    // an ignore label beyond int32 matches nothing (passed on as int32 it would wrap to 1)
    const far = confusionCounts(t, t, { ...o, ignoreIndex: 2 ** 32 + 1 });
    expect(far.tp).toEqual(Float64Array.of(1, 2, 1));
    expect(t).toEqual(Uint8Array.of(0, 1, 2, 1)); // inputs untouched
  });
});

describe("metrics from counts, MONAI 1.5 semantics", () => {
  beforeAll(() => useBuild({ simd: true }));
  // item 0: class 1 half found, class 2 absent from target and prediction; item 1: class 2 predicted, absent from target
  const t = Uint8Array.of(0, 0, 1, 1, /* item 1 */ 0, 0, 1, 1);
  const p = Uint8Array.of(0, 0, 1, 0, /* item 1 */ 0, 2, 1, 1);
  const o = { shape: [2, 4], numClasses: 3 };

  it("Dice and IoU per item and class: NaN for a class absent from the target (ignoreEmpty)", () => {
    const dice = diceMetric(p, t, { ...o, reduction: "none" }) as Float64Array;
    // item 0: class 0 tp 2, fp 1 → 4/5; class 1 tp 1, fn 1 → 2/3; class 2 empty → NaN
    // item 1: class 0 tp 1, fn 1 → 2/3; class 1 tp 2 → 1; class 2 empty target → NaN
    expect(Array.from(dice)).toEqual([4 / 5, 2 / 3, Number.NaN, 2 / 3, 1, Number.NaN]);
    const iou = meanIoU(p, t, { ...o, reduction: "none" }) as Float64Array;
    expect(Array.from(iou)).toEqual([2 / 3, 1 / 2, Number.NaN, 1 / 2, 1, Number.NaN]);
    // ignoreEmpty false: 1 when the prediction is empty too, else 0
    const kept = diceMetric(p, t, { ...o, reduction: "none", ignoreEmpty: false }) as Float64Array;
    expect([kept[2], kept[5]]).toEqual([1, 0]);
    expect(Array.from(diceMetric(p, t, { ...o, reduction: "none", includeBackground: false }) as Float64Array)).toEqual(
      [2 / 3, Number.NaN, 1, Number.NaN],
    );
  });

  it("reductions: 'mean' averages each item's classes, then the items; 'mean_batch' each class over the items", () => {
    const counts = confusionCounts(p, t, o);
    expect(diceMetric(counts)).toBeCloseTo(((4 / 5 + 2 / 3) / 2 + (2 / 3 + 1) / 2) / 2, 15);
    expect(Array.from(diceMetric(counts, { reduction: "mean_batch" }) as Float64Array)).toEqual([
      (4 / 5 + 2 / 3) / 2,
      (2 / 3 + 1) / 2,
      0, // no item has class 2: 0, as MONAI
    ]);
  });

  it("generalized Dice score: one per item for 'mean', weights 1/|target|², the absent class's weight the item's largest", () => {
    const counts = confusionCounts(p, t, o);
    // item 0: |t| = (2, 2, 0), |p| = (3, 1, 0), tp = (2, 1, 0); w = (1/4, 1/4, 1/4)
    const item0 = (2 * (2 + 1) * 0.25) / (0.25 * (5 + 3 + 0));
    // item 1: |t| = (2, 2, 0), |p| = (1, 2, 1), tp = (1, 2, 0)
    const item1 = (2 * (1 + 2) * 0.25) / (0.25 * (3 + 4 + 1));
    expect(generalizedDiceScore(counts, { reduction: "none" })).toEqual(Float64Array.of(4 / 5, 2 / 3, 1, 2 / 3, 1, 0));
    expect(generalizedDiceScore(counts)).toBeCloseTo((item0 + item1) / 2, 15);
    expect(generalizedDiceScore(counts, { weightType: "uniform" })).toBeCloseTo((item0 + item1) / 2, 15);
  });

  it("confusion rates per class, NaN where undefined", () => {
    const counts = confusionCounts(p, t, o);
    const sensitivity = confusionMetric(counts, "sensitivity", { reduction: "none" }) as Float64Array;
    expect(Array.from(sensitivity)).toEqual([1, 1 / 2, Number.NaN, 1 / 2, 1, Number.NaN]);
    const specificity = confusionMetric(counts, "specificity", { reduction: "none" }) as Float64Array;
    expect(Array.from(specificity)).toEqual([1 / 2, 1, 1, 1, 1, 3 / 4]);
    // F1 is Dice, but defined (0) for a class predicted where the target has none
    const f1 = confusionMetric(counts, "f1", { reduction: "none" }) as Float64Array;
    expect(Array.from(f1)).toEqual([4 / 5, 2 / 3, Number.NaN, 2 / 3, 1, 0]);
    expectError(() => confusionMetric(counts, "recall" as never), "INVALID_OPTION", /rate must be one of/);
    expectError(() => diceMetric(counts, { reduction: "sum" as never }), "INVALID_OPTION", /reduction must be/);
    expectError(
      () => diceMetric(counts, { ignoreEmpty: "false" as never }),
      "INVALID_OPTION",
      /ignoreEmpty must be true or false/,
    );
  });
});

describe("label maps in wasm memory", () => {
  beforeAll(() => useBuild({ simd: true }));

  it("volumes of one type are read where they lie: the same counts, the volumes untouched", () => {
    const n = 70_000;
    const [tv, pv] = [createVolume(n, "uint8"), createVolume(n, "uint8")];
    tv.array.set(labels(Uint8Array, n, 4, 11));
    pv.array.set(tv.array.map((l, i) => (i % 3 ? l : (l + 1) % 4)));
    const [t, p] = [tv.array.slice(), pv.array.slice()];
    const o = { shape: [1, n], numClasses: 4, ignoreIndex: 3 };
    expect(confusionCounts(pv, tv, o)).toEqual(confusionCounts(p, t, o));
    expect(diceMetric(pv, tv, o)).toBe(diceMetric(p, t, o));
    expect([tv.array, pv.array]).toEqual([t, p]);
    tv.free();
    pv.free();
  });
});

describe("the counting kernel where it can go wrong", () => {
  beforeAll(() => useBuild({ simd: true }));

  it.each([3, 6])("constant labels around a block's 255 vectors (u8 lanes must not wrap), %i classes", (C) => {
    for (const n of [255 * 16, 255 * 16 + 16, 256 * 16 + 16, 510 * 16 + 15]) {
      const t = new Uint8Array(n).fill(C - 1);
      const got = confusionCounts(t, t.slice(), { shape: [1, n], numClasses: C });
      expect([got.tp[C - 1], got.fp[C - 1], got.fn[C - 1]]).toEqual([n, 0, 0]);
    }
  });

  it.each([2, 3])("labels 2, 3 and 255 on the vector path with %i classes are bad labels, named", (C) => {
    const n = 64 * 16;
    for (const bad of [2, 3, 255].filter((b) => b >= C)) {
      const t = labels(Uint8Array, n, C, 12);
      t[700] = bad;
      expectError(
        () => confusionCounts(t.slice(), t, { shape: [1, n], numClasses: C }),
        "LABEL_OUT_OF_RANGE",
        new RegExp(`holds ${bad} at index 700`),
      );
    }
  });

  it("a view of wasm memory passed as an array (volume.array) stays right when counting grows memory", async () => {
    await init(); // a fresh runtime: little free memory, so the count's buffers grow it
    const n = 2 ** 21;
    const v = createVolume(n, "uint8");
    v.array.set(labels(Uint8Array, n, 3, 13));
    const copy = v.array.slice();
    const before = runtime().heap.memory.buffer.byteLength;
    const view = v.array;
    const got = confusionCounts(view, view, { shape: [1, n], numClasses: 3 });
    expect(runtime().heap.memory.buffer.byteLength).toBeGreaterThan(before); // it did grow
    expect(got).toEqual(confusionCounts(copy, copy, { shape: [1, n], numClasses: 3 }));
    v.free();
  });
});
