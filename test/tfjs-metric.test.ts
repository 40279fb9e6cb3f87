// The tfjs hard Dice metric: against the core diceMetric on the same argmax,
// on both backends, and as a model.compile metric in the training logs.
import { beforeAll, describe, expect, it } from "vitest";
import { segmentationData, segmentationModel } from "../examples/segmentation.js";
import { diceMetric as coreDiceMetric } from "../src/index.js";
import { diceLoss, diceMetric } from "../src/tfjs/index.js";
import { expectError, labels, uniform } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

describe.each(TF_BACKENDS)("diceMetric for tfjs on %s", (backendName) => {
  beforeAll(() => useTfBackend(backendName));
  const [B, S, C] = [3, 200, 4];
  const map = labels(Int32Array, B * S, C, 1).map((l, i) => (i < S && l === 3 ? 2 : l)); // item 0 lacks class 3

  it.each([true, false])("includeBackground %s: the core metric's 'mean' of the same argmax", (includeBackground) => {
    const scores = tf.tensor(uniform(B * S * C, 2, -1, 1), [B, S, C]);
    const yTrue = tf.oneHot(tf.tensor(map, [B, S], "int32"), C);
    const got = diceMetric({ includeBackground })(yTrue, scores);
    const predicted = Uint8Array.from(tf.argMax(scores, -1).dataSync());
    const want = coreDiceMetric(predicted, Uint8Array.from(map), { shape: [B, S], numClasses: C, includeBackground });
    expect(got.shape).toEqual([]);
    expect(got.dataSync()[0]).toBeCloseTo(want as number, 6);
    tf.dispose([scores, yTrue, got]);
  });

  it("is a model.compile metric: named dice in the logs, rising as the loss falls", async () => {
    const data = segmentationData(16, 3, 2);
    const model = segmentationModel(16, 3);
    model.compile({
      optimizer: tf.train.adam(0.02),
      loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => diceLoss(yTrue, yPred, { softmax: true }),
      metrics: [diceMetric()],
    });
    const history = (await model.fit(data.images, data.labels, { epochs: 6, batchSize: 2, verbose: 0 })).history;
    const dice = history.dice as number[];
    expect(dice).toHaveLength(6);
    expect(dice.every((d) => d >= 0 && d <= 1)).toBe(true);
    expect(dice.at(-1)!).toBeGreaterThan(dice[0]!);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it("one channel (sigmoid probabilities): the Dice of yPred > 0.5", () => {
    const yPred = tf.tensor([0.9, 0.2, 0.7, 0.4, 0.6, 0.1], [1, 6, 1]);
    const yTrue = tf.tensor([1, 0, 0, 1, 1, 0], [1, 6, 1]);
    const got = diceMetric()(yTrue, yPred);
    expect(got.dataSync()[0]).toBeCloseTo((2 * 2) / (3 + 3), 6); // predicted {0, 2, 4}, true {0, 3, 4}
    tf.dispose([yPred, yTrue, got]);
  });

  it("bad input: typed errors", () => {
    expectError(
      () => diceMetric({ include_background: false } as never),
      "INVALID_OPTION",
      /only option is includeBackground/,
    );
    const a = tf.zeros([2, 4, 3]);
    const b = tf.zeros([2, 4, 2]);
    expectError(() => diceMetric()(a, b), "SHAPE_MISMATCH", /one-hot of the predictions' shape/);
    tf.dispose([a, b]);
  });
});
