// Training with the tfjs ops: a Conv3D model's loss falls under model.fit, and
// no tensor leaks through tf.grad, variableGrads, optimizer.minimize or fit;
// gradient clipping and the Dice warm-up schedule.
import { beforeAll, describe, expect, it } from "vitest";
import { segmentationData, segmentationModel } from "../examples/segmentation.js";
import { clipByGlobalNorm, diceCELoss, diceLoss, diceWarmup, generalizedDiceLoss } from "../src/tfjs/index.js";
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

describe("clipByGlobalNorm", () => {
  beforeAll(() => useTfBackend("cpu"));

  it("scales every gradient by maxNorm / global norm when above it, as PyTorch's clip_grad_norm_", () => {
    const a = tf.tensor([3, 4]); // norm 5
    const b = tf.tensor([[12]]); // norm 12: global norm 13
    const before = tf.memory().numTensors;
    const { grads, totalNorm } = clipByGlobalNorm({ a, b }, 6.5);
    expect(totalNorm.dataSync()[0]).toBeCloseTo(13, 5);
    const scale = 6.5 / (13 + 1e-6);
    expect([...grads.a!.dataSync()]).toEqual([3, 4].map((x) => expect.closeTo(x * scale, 6)));
    expect(grads.b!.dataSync()[0]).toBeCloseTo(12 * scale, 5);
    expect(tf.memory().numTensors).toBe(before + 3); // two clipped gradients and the norm
    tf.dispose([grads.a!, grads.b!, totalNorm]);
  });

  it("leaves gradients below maxNorm as they are, takes arrays and the ∞-norm", () => {
    const g = [tf.tensor([0.3, -0.4]), tf.tensor([-2])];
    const { grads, totalNorm } = clipByGlobalNorm(g, 10);
    expect([...grads[0]!.dataSync()]).toEqual([expect.closeTo(0.3, 6), expect.closeTo(-0.4, 6)]);
    const inf = clipByGlobalNorm(g, 1, { normType: Number.POSITIVE_INFINITY });
    expect(inf.totalNorm.dataSync()[0]).toBeCloseTo(2, 6);
    expect(inf.grads[1]!.dataSync()[0]).toBeCloseTo(-1, 5);
    tf.dispose([...g, ...grads, totalNorm, ...inf.grads, inf.totalNorm]);
  });

  it("rejects a bad maxNorm, and a non-finite norm when asked to check", () => {
    const g = [tf.tensor([Number.NaN, 1])];
    expect(() => clipByGlobalNorm(g, 0)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    const before = tf.memory().numTensors;
    expect(() => clipByGlobalNorm(g, 1, { errorIfNonfinite: true })).toThrow(
      expect.objectContaining({ code: "NON_FINITE_INPUT" }),
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(g);
  });
});

describe("diceWarmup", () => {
  it("is 0 during the warm-up, then ramps linearly to diceWeight", () => {
    const s = diceWarmup({ warmupEpochs: 2, rampEpochs: 4, diceWeight: 2 });
    expect([0, 1, 2, 3, 4, 5, 6, 9].map(s.weightAt)).toEqual([0, 0, 0.5, 1, 1.5, 2, 2, 2]);
    expect(diceWarmup({ warmupEpochs: 1, rampEpochs: 0 }).weightAt(1)).toBe(1);
    expect(() => diceWarmup({ warmupEpochs: -1, rampEpochs: 2 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });

  it("follows the epochs as a model.fit callback and changes the loss it weighs", async () => {
    await useTfBackend("wasm");
    const data = segmentationData(16, 3, 2);
    const model = segmentationModel(16, 3);
    const schedule = diceWarmup({ warmupEpochs: 1, rampEpochs: 2 });
    const seen: number[] = [];
    model.compile({
      optimizer: tf.train.adam(0.01),
      loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => {
        seen.push(schedule.lambdaDice);
        return diceCELoss(yTrue, yPred, { softmax: true, lambdaDice: schedule.lambdaDice });
      },
    });
    await model.fit(data.images, data.labels, { epochs: 4, batchSize: 2, verbose: 0, callbacks: schedule });
    expect(seen).toEqual([0, 0.5, 1, 1]);
    model.dispose();
    tf.dispose(Object.values(data));
  });
});
