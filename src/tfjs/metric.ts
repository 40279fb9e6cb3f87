// Hard Dice as a tfjs metric, for model.compile({ metrics }): from the model's
// class scores (argmax over the last axis) and one-hot labels, as tf ops, so it
// runs on any backend and costs one pass of small ops per batch.
import * as tf from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";

export interface DiceMetricOptions {
  /** Keep class 0 (default true, as MONAI's DiceMetric). */
  includeBackground?: boolean;
}

/**
 * A metric function (yTrue, yPred) → scalar: the hard Dice of argmax(yPred)
 * (with one channel, of yPred > 0.5) against one-hot yTrue [B, ...spatial, C], reduced as MONAI's DiceMetric
 * does by default: each item's mean over the classes present in its labels
 * (ignore_empty), then the mean over the items that have one (0 when none
 * has). Named `dice` in the training logs.
 *
 * @example
 * model.compile({ optimizer: "adam", loss, metrics: [diceMetric({ includeBackground: false })] });
 */
export function diceMetric(options: DiceMetricOptions = {}): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  const keys = Object.keys(options).filter((k) => k !== "includeBackground");
  if (keys.length || (options.includeBackground !== undefined && typeof options.includeBackground !== "boolean")) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `diceMetric: the only option is includeBackground (true or false), got ${JSON.stringify(options)}.`,
    );
  }
  const first = options.includeBackground === false ? 1 : 0;
  const dice = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      if (yTrue.rank < 3 || yTrue.shape.join() !== yPred.shape.join()) {
        throw new DiceWasmError(
          "SHAPE_MISMATCH",
          `diceMetric: labels must be one-hot of the predictions' shape [B, ...spatial, C], got [${yTrue.shape}] and [${yPred.shape}].`,
        );
      }
      const C = yPred.shape.at(-1)!;
      const B = yPred.shape[0]!;
      // float32 counts: tf.div of int32 tensors would floor. One channel: sigmoid probabilities, foreground above 0.5
      const hard = C === 1 ? tf.greater(yPred, 0.5) : tf.oneHot(tf.argMax(yPred, -1), C);
      const predicted = tf.reshape(tf.cast(hard, "float32"), [B, -1, C]);
      const truth = tf.reshape(tf.cast(tf.greater(yTrue, 0.5), "float32"), [B, -1, C]);
      const hits = tf.sum(tf.mul(predicted, truth), 1);
      const [t, p] = [tf.sum(truth, 1), tf.sum(predicted, 1)];
      const skip = C === 1 ? 0 : first; // one channel is the foreground: nothing to leave out
      const kept = (x: tf.Tensor) => tf.slice(x, [0, skip], [B, C - skip]);
      const present = tf.greater(kept(t), 0);
      const perClass = tf.div(tf.mul(2, kept(hits)), tf.maximum(tf.add(kept(t), kept(p)), 1));
      // MONAI's 'mean': each item's mean over its present classes, then over the items that have one
      const perItem = tf.sum(tf.cast(present, "float32"), 1);
      const itemMean = tf.div(tf.sum(tf.where(present, perClass, tf.zerosLike(perClass)), 1), tf.maximum(perItem, 1));
      const scored = tf.cast(tf.greater(perItem, 0), "float32");
      return tf.div(tf.sum(tf.mul(itemMean, scored)), tf.maximum(tf.sum(scored), 1)) as tf.Scalar;
    });
  Object.defineProperty(dice, "name", { value: "dice" });
  return dice;
}
