// npm run example:tfjs: trains a small Conv3D network on synthetic 32³ scans
// with 3 classes, in Node on the tfjs wasm backend (no GPU), with our
// generalized Dice + cross-entropy warm-up recipe, and prints the loss per epoch.
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-layers";
import * as tf from "@tensorflow/tfjs-core";
import { diceCELoss, diceLoss, diceWarmup, lossImplementation, registerDiceOps } from "../src/tfjs/index.js";
import { segmentationData, segmentationModel } from "./segmentation.js";

const [size, classes, epochs] = [32, 3, 24];
await tf.setBackend(process.env.TFJS_BACKEND ?? "wasm");
await registerDiceOps();
console.log(`tfjs ${tf.getBackend()} backend; dice-wasm runs ${lossImplementation()}`);

const train = segmentationData(size, classes, 4, 1);
const test = segmentationData(size, classes, 2, 7);
const model = segmentationModel(size, classes);
// cross-entropy alone for 2 epochs, then the Dice term ramps in over 4
const schedule = diceWarmup({ warmupEpochs: 2, rampEpochs: 4 });
model.compile({
  optimizer: tf.train.adam(0.02),
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor) =>
    diceCELoss(yTrue, yPred, { softmax: true, lambdaDice: schedule.lambdaDice }),
});

/** Per-class Dice of the model's hard prediction on the test scans. */
function testDice(): string {
  return tf.tidy(() => {
    const predicted = tf.oneHot(tf.argMax(model.predict(test.images) as tf.Tensor, -1), classes);
    const perClass = diceLoss(test.labels, tf.cast(predicted, "float32"), { reduction: "none", batch: true });
    return Array.from(perClass.dataSync(), (l) => (1 - l).toFixed(3)).join(" ");
  });
}

console.log("epoch  λ_dice  train loss  test Dice per class (background, 1, 2)");
for (let epoch = 0; epoch < epochs; epoch++) {
  const t0 = performance.now();
  const history = await model.fit(train.images, train.labels, {
    epochs: epoch + 1,
    initialEpoch: epoch,
    batchSize: 2,
    verbose: 0,
    callbacks: schedule,
  });
  const loss = (history.history.loss![0] as number).toFixed(4);
  const ms = (performance.now() - t0).toFixed(0);
  console.log(
    `${String(epoch + 1).padStart(5)}  ${schedule.lambdaDice.toFixed(2).padStart(6)}  ${loss.padStart(10)}  ${testDice()}   (${ms} ms)`,
  );
}
