// Every loss against the float64 reference (MONAI's formulas, test/../reference),
// and every gradient against central differences of that reference.
// Tolerances: inputs are the same float32 numbers, so values agree to float32
// precision (1e-6 relative); gradients are float32 (1e-5 of their largest entry).
import { beforeAll, describe, expect, it } from "vitest";
import type { DiceOptions, GeneralizedDiceOptions, LossResult, TverskyOptions } from "../src/index.js";
import { createVolume, diceLoss, generalizedDiceLoss, tverskyLoss } from "../src/index.js";
import { type ReferenceKind, referenceGradient, referenceLoss } from "../src/reference/losses.js";
import { BUILDS, expectError, gradError, labels, oneHot, relMaxError, shapeOf, uniform, useBuild } from "./helpers.js";

type Layout = "channels-last" | "channels-first";
type AnyOptions = DiceOptions & TverskyOptions & GeneralizedDiceOptions;

interface Variant {
  name: string;
  kind: ReferenceKind;
  options: Partial<AnyOptions>;
}

const VARIANTS: Variant[] = [
  { name: "dice", kind: "dice", options: {} },
  { name: "jaccard", kind: "dice", options: { jaccard: true } },
  { name: "squared dice", kind: "dice", options: { squaredPred: true } },
  {
    name: "squared jaccard",
    kind: "dice",
    options: { squaredPred: true, jaccard: true },
  },
  { name: "weighted dice", kind: "dice", options: { weight: [0.5, 2, 1] } },
  {
    name: "tversky 0.3/0.7",
    kind: "tversky",
    options: { alpha: 0.3, beta: 0.7 },
  },
  { name: "gdl square", kind: "generalizedDice", options: { wType: "square" } },
  { name: "gdl simple", kind: "generalizedDice", options: { wType: "simple" } },
  {
    name: "gdl uniform",
    kind: "generalizedDice",
    options: { wType: "uniform" },
  },
];

function run(
  kind: ReferenceKind,
  input: Float32Array,
  target: Float32Array | Int32Array | Uint8Array,
  options: AnyOptions,
): LossResult {
  if (kind === "dice") return diceLoss(input, target, options);
  if (kind === "tversky") return tverskyLoss(input, target, options);
  return generalizedDiceLoss(input, target, options);
}

const B = 2;
const C = 3;
const SPATIAL = [3, 5];
const S = 15;

interface Case {
  layout: Layout;
  act: "none" | "sigmoid" | "softmax";
  labelMap: boolean;
}

function fixture(c: Case, seed: number, soft = false) {
  // probabilities for no activation, logits otherwise
  const input = c.act === "none" ? uniform(B * S * C, seed) : uniform(B * S * C, seed, -3, 3);
  const map = labels(Int32Array, B * S, C, seed + 1);
  const target = c.labelMap ? map : soft ? uniform(B * S * C, seed + 2) : oneHot(map, B, S, C, c.layout);
  return { input, target };
}

function options(c: Case, extra: Partial<AnyOptions>): AnyOptions {
  return {
    shape: shapeOf(B, SPATIAL, C, c.layout),
    layout: c.layout,
    sigmoid: c.act === "sigmoid",
    softmax: c.act === "softmax",
    toOnehotY: c.labelMap,
    ...extra,
  };
}

const CASES: Case[] = (["channels-last", "channels-first"] as const).flatMap((layout) =>
  (["none", "sigmoid", "softmax"] as const).flatMap((act) =>
    [false, true].map((labelMap) => ({ layout, act, labelMap })),
  ),
);

describe.each(BUILDS)("loss values vs float64 reference (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each(VARIANTS)(
    "$name: every layout, activation, target kind, background, batch and reduction",
    ({ kind, options: extra }) => {
      let checked = 0;
      for (const c of CASES) {
        const { input, target } = fixture(c, 100 + checked);
        for (const includeBackground of [true, false]) {
          for (const batch of [false, true]) {
            for (const reduction of ["mean", "sum", "none"] as const) {
              const weight = extra.weight && !includeBackground ? [2, 0.5] : extra.weight;
              const o = options(c, {
                ...extra,
                weight,
                includeBackground,
                batch,
                reduction,
              });
              const ours = run(kind, input, target, o).loss;
              const ref = referenceLoss(kind, input, target, o);
              if (typeof ref === "number")
                expect(Math.abs((ours as number) - ref)).toBeLessThanOrEqual(1e-6 * Math.abs(ref) + 1e-12);
              else {
                expect(ours).toBeInstanceOf(Float64Array);
                expect((ours as Float64Array).length).toBe(ref.length);
                expect(relMaxError(ours as Float64Array, ref)).toBeLessThanOrEqual(1e-6);
              }
              checked++;
            }
          }
        }
      }
    },
  );

  it.each(["dice", "tversky", "generalizedDice"] as const)("%s with soft labels", (kind) => {
    for (const layout of ["channels-last", "channels-first"] as const) {
      const c: Case = { layout, act: "none", labelMap: false };
      const { input, target } = fixture(c, 7, true);
      const o = options(c, { softLabel: true, alpha: 0.4, beta: 0.6 });
      if (kind !== "tversky") Object.assign(o, { alpha: undefined, beta: undefined });
      const clean = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as AnyOptions;
      const ours = run(kind, input, target, clean).loss as number;
      expect(Math.abs(ours - (referenceLoss(kind, input, target, clean) as number))).toBeLessThan(1e-6 * ours);
    }
  });

  it("smoothing terms go where MONAI puts them", () => {
    const c: Case = { layout: "channels-first", act: "none", labelMap: true };
    const { input, target } = fixture(c, 3);
    for (const [smoothNr, smoothDr] of [
      [0, 0],
      [1, 1],
      [0, 1e-3],
      [2, 0.5],
    ]) {
      const o = options(c, { smoothNr, smoothDr });
      const ours = diceLoss(input, target, o).loss;
      expect(Math.abs(ours - (referenceLoss("dice", input, target, o) as number))).toBeLessThan(1e-6);
    }
  });
});

describe.each(BUILDS)("gradients vs central differences (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  const GRAD_CASES = CASES.flatMap((c, i) =>
    VARIANTS.map((v, j) => ({
      ...c,
      variant: v,
      includeBackground: (i + j) % 2 === 0,
      batch: (i + j) % 3 === 0,
    })),
  );
  const reductions = ["mean", "sum", "none"] as const;

  it.each(
    GRAD_CASES.map((g, i) => ({
      ...g,
      label: `${g.variant.name}, ${g.layout}, ${g.act}, ${g.labelMap ? "labels" : "mask"}`,
      i,
    })),
  )("$label", ({ variant, includeBackground, batch, i, ...c }) => {
    const { input, target } = fixture(c, 500 + i);
    const weight = variant.options.weight && !includeBackground ? [2, 0.5] : variant.options.weight;
    const reduction = reductions[i % 3]!;
    const o = options(c, {
      ...variant.options,
      weight,
      includeBackground,
      batch,
      reduction,
    });
    const { grad } = run(variant.kind, input, target, { ...o, grad: true });
    const ref = referenceGradient(variant.kind, input, target, o);
    expect(grad).toBeInstanceOf(Float32Array);
    expect(relMaxError(grad!, ref)).toBeLessThanOrEqual(1e-5);
  });

  it.each(["dice", "tversky", "generalizedDice"] as const)("%s with soft labels", (kind) => {
    const c: Case = {
      layout: "channels-last",
      act: "none",
      labelMap: false,
    };
    const { input, target } = fixture(c, 9, true);
    const o = options(c, { softLabel: true });
    const { grad } = run(kind, input, target, { ...o, grad: true });
    expect(relMaxError(grad!, referenceGradient(kind, input, target, o))).toBeLessThanOrEqual(1e-5);
  });
});

describe.each(BUILDS)("other class counts: 1, 2, 4 (in registers), 5 and 8 (generic) (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each([1, 2, 4, 5, 8])("C = %i: values and gradients, every activation and label type, both layouts", (C) => {
    const S = 37; // groups of four and a tail
    const map = labels(Int32Array, B * S, C, C + 1);
    for (const layout of ["channels-last", "channels-first"] as const) {
      for (const act of ["none", "sigmoid", "softmax"] as const) {
        const input = act === "none" ? uniform(B * S * C, C) : uniform(B * S * C, C, -3, 3);
        const targets = [
          oneHot(map, B, S, C, layout),
          Uint8Array.from(map),
          Uint16Array.from(map),
          map,
          Float32Array.from(map),
        ];
        for (const target of targets) {
          const toOnehotY = target.length === B * S && C > 1;
          if (target.length === B * S && !toOnehotY) continue; // one class: a mask only
          for (const variant of VARIANTS.filter((v) => !v.options.weight)) {
            const o = {
              shape: shapeOf(B, [S], C, layout),
              layout,
              toOnehotY,
              sigmoid: act === "sigmoid",
              softmax: act === "softmax",
              ...variant.options,
            } as AnyOptions;
            const r = run(variant.kind, input, target as Float32Array, { ...o, grad: true });
            const ref = referenceLoss(variant.kind, input, target, o) as number;
            expect(Math.abs((r.loss as number) - ref)).toBeLessThanOrEqual(1e-6 * ref);
            expect(gradError(r.grad!, referenceGradient(variant.kind, input, target, o))).toBeLessThanOrEqual(1e-5);
          }
        }
      }
    }
  });
});

describe.each(BUILDS)(
  "channels-last probabilities, 2 or 4 classes, no gradient: read interleaved (simd: $simd)",
  (build) => {
    beforeAll(() => useBuild(build));
    const S = 10007; // several chunks, and a tail

    it.each([2, 4])("C = %i: every target type and variant against the reference", (C) => {
      const input = uniform(S * C, C + 20);
      const map = labels(Int32Array, S, C, C + 21);
      const targets = [
        oneHot(map, 1, S, C, "channels-last"),
        Uint8Array.from(map),
        Uint16Array.from(map),
        map,
        Float32Array.from(map),
      ];
      for (const target of targets) {
        for (const variant of VARIANTS.filter((v) => !v.options.weight)) {
          const o = { shape: [1, S, C], toOnehotY: target.length === S, ...variant.options } as AnyOptions;
          const loss = run(variant.kind, input, target as Float32Array, o).loss as number;
          const ref = referenceLoss(variant.kind, input, target, o) as number;
          expect(Math.abs(loss - ref), `${variant.kind} ${JSON.stringify(variant.options)}`).toBeLessThanOrEqual(
            1e-6 * ref,
          );
        }
      }
    });

    it.each([2, 4])("C = %i: NaN in the prediction and a label out of range are found", (C) => {
      const input = uniform(S * C, C + 30);
      const map = labels(Uint8Array, S, C, C + 31);
      input[7777 * C + 1] = Number.NaN;
      expectError(
        () => diceLoss(input, map, { shape: [1, S, C], toOnehotY: true }),
        "NON_FINITE_INPUT",
        new RegExp(`index ${7777 * C + 1}`),
      );
      input[7777 * C + 1] = 0.5;
      map[9001] = C;
      expectError(
        () => diceLoss(input, map, { shape: [1, S, C], toOnehotY: true }),
        "LABEL_OUT_OF_RANGE",
        /index 9001/,
      );
    });
  },
);

describe.each(BUILDS)("arrays in wasm memory over many chunks (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it.each([3, 4, 6])("C = %i softmax with a label map: in place, the loss and gradient of copies", (C) => {
    const S = 20011;
    const logits = uniform(S * C, C + 40, -4, 4);
    const map = labels(Uint8Array, S, C, C + 41);
    const x = createVolume(S * C);
    const t = createVolume(S, "uint8");
    const g = createVolume(S * C);
    x.array.set(logits);
    t.array.set(map);
    const o = { shape: [1, S, C], softmax: true, toOnehotY: true };
    const { loss, grad } = diceLoss(x, t, { ...o, grad: g });
    const ref = referenceLoss("dice", logits, map, o) as number;
    expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-6 * ref);
    expect(grad!.buffer).toBe(g.array.buffer);
    // the copying path's gradient is checked against central differences above, on small volumes
    const copied = diceLoss(logits, map, { ...o, grad: true });
    expect(copied.loss).toBe(loss);
    expect(gradError(g.array, copied.grad!)).toBeLessThanOrEqual(1e-6);
    for (const v of [x, t, g]) v.free();
  });
});
