// Training with the tfjs ops: a Conv3D model's loss falls under model.fit, and
// no tensor leaks through tf.grad, variableGrads, optimizer.minimize or fit.
import { beforeAll, describe, expect, it } from "vitest";
import { segmentationData, segmentationModel } from "../examples/segmentation.js";
import { diceLoss, generalizedDiceLoss } from "../src/tfjs/index.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

describe.each(TF_BACKENDS)("training on the %s backend", (backendName) => {
  beforeAll(() => useTfBackend(backendName));

  it("a Conv3D model on 32³ volumes with 3 classes: the Dice loss falls under model.fit", async () => {
    const data = segmentationData(32, 3, 2);
    const model = segmentationModel(32, 3);
    model.compile({
      optimizer: tf.train.adam(0.01),
      loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => diceLoss(yTrue, yPred, { softmax: true }),
    });
    const train = async (epochs: number) =>
      (await model.fit(data.images, data.labels, { epochs, batchSize: 2, verbose: 0 })).history.loss as number[];
    const first = await train(1); // Adam creates its slots on the first step
    const before = tf.memory().numTensors;
    const losses = [...first, ...(await train(7))];
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.95 * losses[0]!);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  describe("no tensor leaks", () => {
    const shape = [2, 8, 8, 8, 3];
    const make = () => ({
      logits: tf.variable(tf.randomNormal(shape, 0, 1, "float32", 5)),
      labelMap: tf.randomUniformInt(shape.slice(0, 4), 0, 3, 6) as tf.Tensor,
    });

    it("tf.grad", () => {
      const { logits, labelMap } = make();
      const before = tf.memory().numTensors;
      const g = tf.grad((x: tf.Tensor) => generalizedDiceLoss(labelMap, x, { softmax: true }))(logits);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([logits, labelMap]);
    });

    it("tf.variableGrads", () => {
      const { logits, labelMap } = make();
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => diceLoss(labelMap, logits, { softmax: true }) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([logits, labelMap]);
    });

    it("optimizer.minimize, many steps", () => {
      const { logits, labelMap } = make();
      const optimizer = tf.train.sgd(0.1);
      const step = () => optimizer.minimize(() => diceLoss(labelMap, logits, { softmax: true }) as tf.Scalar, true);
      step()!.dispose(); // SGD keeps no slots, but the first step may create its learning-rate scalar
      const before = tf.memory().numTensors;
      const first = step()!;
      for (let i = 0; i < 20; i++) step()!.dispose();
      const last = step()!;
      expect(last.dataSync()[0]).toBeLessThan(first.dataSync()[0]!);
      tf.dispose([first, last]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([logits, labelMap]);
      optimizer.dispose();
    });
  });
});
