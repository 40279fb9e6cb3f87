// The tfjs ops on the cpu and wasm backends: values and gradients against the
// same losses built from tf ops and differentiated by tfjs (compositeLoss), for
// every loss, activation and label kind; the composite itself against the
// float64 reference. Tolerances: float32 sums of ~10^3 terms, so values agree
// to 1e-5 relative and gradients to 1e-4 of their largest entry.
import { beforeAll, describe, expect, it } from "vitest";
import type { AnyLossOptions } from "../src/losses.js";
import { referenceLoss } from "../src/reference/losses.js";
import { coreOptions } from "../src/tfjs/arguments.js";
import {
  compositeLoss,
  diceCELoss,
  diceLoss,
  generalizedDiceLoss,
  lossImplementation,
  type TensorDiceOptions,
  tverskyLoss,
} from "../src/tfjs/index.js";
import { labels, oneHot, relMaxError, uniform } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

const OPS = { dice: diceLoss, tversky: tverskyLoss, generalizedDice: generalizedDiceLoss, diceCE: diceCELoss };

interface Variant {
  name: string;
  kind: keyof typeof OPS;
  options: TensorDiceOptions & Partial<AnyLossOptions>;
}

const VARIANTS: Variant[] = [
  { name: "dice", kind: "dice", options: {} },
  { name: "jaccard, no background", kind: "dice", options: { jaccard: true, includeBackground: false } },
  { name: "squared dice, batch", kind: "dice", options: { squaredPred: true, batch: true } },
  { name: "weighted dice, sum", kind: "dice", options: { weight: [0.5, 2, 1], reduction: "sum" } },
  { name: "dice, none", kind: "dice", options: { reduction: "none" } },
  { name: "dice, channels-first", kind: "dice", options: { layout: "channels-first" } },
  { name: "tversky 0.3/0.7", kind: "tversky", options: { alpha: 0.3, beta: 0.7 } },
  { name: "gdl square", kind: "generalizedDice", options: {} },
  { name: "gdl simple, none", kind: "generalizedDice", options: { wType: "simple", reduction: "none" } },
  { name: "dice + CE", kind: "diceCE", options: {} },
  {
    name: "dice + CE, weighted, no background, λ",
    kind: "diceCE",
    options: { weight: [0.5, 2, 1], includeBackground: false, lambdaDice: 0.7, lambdaCe: 1.5 },
  },
  { name: "dice + CE, sum, jaccard, batch", kind: "diceCE", options: { reduction: "sum", jaccard: true, batch: true } },
  { name: "dice + CE, channels-first", kind: "diceCE", options: { layout: "channels-first" } },
];

const ACTIVATIONS = [
  { name: "probabilities", options: {}, lo: 0, hi: 1 },
  { name: "sigmoid", options: { sigmoid: true }, lo: -4, hi: 4 },
  { name: "softmax", options: { softmax: true }, lo: -4, hi: 4 },
] as const;

/** The cross-entropy takes logits and softmax: the other activations do not apply to it. */
const activationsOf = (variant: Variant) =>
  variant.kind === "diceCE" ? ACTIVATIONS.filter((a) => a.name === "softmax") : ACTIVATIONS;

const [B, spatial, C] = [2, [6, 5, 4], 3];
const S = spatial.reduce((a, b) => a * b, 1);

function data(variant: Variant, activation: (typeof ACTIVATIONS)[number], labelMap: boolean, seed: number) {
  const layout = variant.options.layout ?? "channels-last";
  const shape = layout === "channels-last" ? [B, ...spatial, C] : [B, C, ...spatial];
  const ids = labels(Int32Array, B * S, C, seed);
  const x = tf.tensor(uniform(B * S * C, seed + 1, activation.lo, activation.hi), shape);
  const y = labelMap ? tf.tensor(ids, [B, ...spatial], "int32") : tf.tensor(oneHot(ids, B, S, C, layout), shape);
  return { x, y, options: { ...variant.options, ...activation.options } };
}

describe.each(TF_BACKENDS)("tfjs ops on the %s backend", (backendName) => {
  beforeAll(() => useTfBackend(backendName));

  it("runs our kernels there", () => {
    expect(lossImplementation()).toBe("kernels");
  });

  describe.each(VARIANTS)("$name", (variant) => {
    describe.each(activationsOf(variant))("$name", (activation) => {
      it.each([false, true])("label map %s: value and gradient match tf ops + tfjs autodiff", (labelMap) => {
        const { x, y, options } = data(variant, activation, labelMap, 7);
        const op = OPS[variant.kind];
        const resolved = coreOptions(variant.kind, y, x, options);
        const before = tf.memory().numTensors;
        const ours = op(y, x, options);
        const theirs = compositeLoss(variant.kind, y, x, resolved);
        expect(ours.shape).toEqual(theirs.shape);
        expect(relMaxError(ours.dataSync(), theirs.dataSync())).toBeLessThan(1e-5);

        // a non-uniform upstream gradient checks the chain rule through 'none'
        const weights = tf.randomUniform(ours.shape, 0.5, 1.5, "float32", 3);
        const ourGrad = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(op(y, z, options), weights)))(x);
        const theirGrad = tf.grad((z: tf.Tensor) =>
          tf.sum(tf.mul(compositeLoss(variant.kind, y, z, resolved), weights)),
        )(x);
        expect(relMaxError(ourGrad.dataSync(), theirGrad.dataSync())).toBeLessThan(1e-4);
        tf.dispose([ours, theirs, weights, ourGrad, theirGrad]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, y]);
      });
    });
  });

  it("one class with a sigmoid, labels with a singleton class axis, soft labels", () => {
    const x = tf.tensor(uniform(B * S, 3, -3, 3), [B, ...spatial, 1]);
    const soft = tf.tensor(uniform(B * S, 4), [B, ...spatial, 1]);
    const ids = tf.tensor(labels(Int32Array, B * S, 2, 5), [B, ...spatial, 1], "int32");
    const twoClass = tf.tensor(uniform(B * S * 2, 6, -3, 3), [B, ...spatial, 2]);
    const cases: Array<[tf.Tensor, tf.Tensor, TensorDiceOptions]> = [
      [soft, x, { sigmoid: true, softLabel: true }],
      [ids, twoClass, { softmax: true }],
    ];
    for (const [y, p, options] of cases) {
      const resolved = coreOptions("dice", y, p, options);
      expect(
        relMaxError(diceLoss(y, p, options).dataSync(), compositeLoss("dice", y, p, resolved).dataSync()),
      ).toBeLessThan(1e-5);
      const a = tf
        .grad((z: tf.Tensor) => diceLoss(y, z, options))(p)
        .dataSync();
      const b = tf
        .grad((z: tf.Tensor) => compositeLoss("dice", y, z, resolved))(p)
        .dataSync();
      expect(relMaxError(a, b)).toBeLessThan(1e-4);
    }
  });
});

describe("the tf-ops composite", () => {
  beforeAll(() => useTfBackend("cpu"));

  it.each(VARIANTS)("$name matches the float64 reference", (variant) => {
    for (const activation of activationsOf(variant)) {
      for (const labelMap of [false, true]) {
        const { x, y, options } = data(variant, activation, labelMap, 11);
        const resolved = coreOptions(variant.kind, y, x, options);
        const value = compositeLoss(variant.kind, y, x, resolved).dataSync();
        const expected = referenceLoss(variant.kind, x.dataSync(), y.dataSync(), resolved);
        expect(relMaxError(value, typeof expected === "number" ? [expected] : expected)).toBeLessThan(1e-5);
      }
    }
  });
});
