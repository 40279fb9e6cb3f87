// The 3D U-Net example on tfjs: on the wasm backend (our Conv3D kernels) its
// gradients equal the cpu backend's, a few steps of training lower the loss,
// and warmStart makes a wider model compute exactly what the narrow one does.
import { beforeAll, describe, expect, it } from "vitest";
import { segmentationData } from "../examples/segmentation.js";
import { unet3d, warmStart } from "../examples/unet3d.js";
import { diceCELoss, registerDiceOps } from "../src/tfjs/index.js";
import { relMaxError } from "./helpers.js";
import { tf, useTfBackend } from "./tfjs-helpers.js";

const [size, classes] = [8, 3];

/** Loss and gradients of the U-Net (seeded weights) on a fixed batch, on one backend. */
async function lossAndGrads(backendName: string, ourConv3D: boolean) {
  await useTfBackend(backendName);
  await registerDiceOps({ conv3d: ourConv3D });
  const data = segmentationData(size, classes, 2, 3);
  const model = unet3d({ size, classes, filters: 4 });
  const { value, grads } = tf.variableGrads(
    () => diceCELoss(data.labels, model.apply(data.images) as tf.Tensor, { softmax: true }) as tf.Scalar,
  );
  const result = {
    loss: value.dataSync()[0]!,
    grads: Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.dataSync().slice()])),
  };
  tf.dispose([value, ...Object.values(grads), data.images, data.labels, data.labelMap]);
  model.dispose();
  return result;
}

describe("the 3D U-Net example", () => {
  it("has the same loss and gradients on wasm (our Conv3D) as on cpu (tfjs's)", async () => {
    const cpu = await lossAndGrads("cpu", false);
    const wasm = await lossAndGrads("wasm", true);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5 * cpu.loss);
    // variable names carry a per-model counter: the two models' variables match by order
    const [names, want, got] = [Object.keys(cpu.grads), Object.values(cpu.grads), Object.values(wasm.grads)];
    expect(names.length).toBe(14); // 7 convolutions, kernel and bias
    for (const [i, name] of names.entries()) expect(relMaxError(got[i]!, want[i]!), name).toBeLessThan(1e-4);
  });

  describe("on wasm", () => {
    beforeAll(async () => {
      await useTfBackend("wasm");
      await registerDiceOps();
    });

    it("trains: the loss falls over a few steps", () => {
      const data = segmentationData(size, classes, 2, 5);
      const model = unet3d({ size, classes, filters: 4 });
      const optimizer = tf.train.adam(0.01);
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) {
        const loss = optimizer.minimize(
          () => diceCELoss(data.labels, model.apply(data.images) as tf.Tensor, { softmax: true }) as tf.Scalar,
          true,
        )!;
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
      }
      expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]!);
      tf.dispose([data.images, data.labels, data.labelMap]);
      optimizer.dispose();
      model.dispose();
    });

    it("warmStart: the wider model starts out computing what the narrow one does", () => {
      const data = segmentationData(size, classes, 1, 6);
      const narrow = unet3d({ size, classes, filters: 4, seed: 1 });
      // trained weights have biases: give every layer some
      for (const layer of narrow.layers) {
        const weights = layer.getWeights();
        if (weights.length === 2) {
          tf.tidy(() => layer.setWeights([weights[0]!, tf.randomUniform(weights[1]!.shape, -0.2, 0.2, "float32", 7)]));
        }
      }
      const wide = unet3d({ size, classes, filters: 8, seed: 2 });
      const before = tf.tidy(() => (wide.predict(data.images) as tf.Tensor).dataSync());
      const want = tf.tidy(() => (narrow.predict(data.images) as tf.Tensor).dataSync());
      const tensors = tf.memory().numTensors;
      warmStart(narrow, wide);
      expect(tf.memory().numTensors).toBe(tensors);
      const got = tf.tidy(() => (wide.predict(data.images) as tf.Tensor).dataSync());
      expect(relMaxError(got, want)).toBeLessThan(1e-5);
      expect(relMaxError(before, want)).toBeGreaterThan(1e-2); // it was a different function
      tf.dispose([data.images, data.labels, data.labelMap]);
      narrow.dispose();
      wide.dispose();
    });
  });
});
