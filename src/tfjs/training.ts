// Training helpers that PyTorch users reach for and tfjs lacks: global-norm
// gradient clipping, and the "cross-entropy first, then ramp in Dice" schedule.
import * as tf from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";

export interface ClipOptions {
  /** 2 (default) or Infinity, as PyTorch's norm_type. */
  normType?: 2 | typeof Number.POSITIVE_INFINITY;
  /** Throw when the total norm is NaN or infinite (reads it back: one sync). Default false, as PyTorch. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients so that their global norm is at most `maxNorm`, as
 * PyTorch's clip_grad_norm_: coefficient min(1, maxNorm / (norm + 1e-6)) on
 * every gradient. Returns new tensors (the caller's are not disposed) and the
 * norm before clipping, without reading anything back unless asked to check.
 *
 * @example
 * const { value, grads } = tf.variableGrads(() => diceLoss(labels, model.predict(x), { softmax: true }));
 * const { grads: clipped, totalNorm } = clipByGlobalNorm(grads, 1.0);
 * optimizer.applyGradients(clipped);
 */
export function clipByGlobalNorm<G extends tf.NamedTensorMap | tf.Tensor[]>(
  grads: G,
  maxNorm: number,
  options: ClipOptions = {},
): { grads: G; totalNorm: tf.Scalar } {
  if (!(typeof maxNorm === "number" && maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new DiceWasmError("INVALID_OPTION", `clipByGlobalNorm: maxNorm must be a finite number > 0, got ${maxNorm}.`);
  }
  const normType = options.normType ?? 2;
  if (normType !== 2 && normType !== Number.POSITIVE_INFINITY) {
    throw new DiceWasmError("INVALID_OPTION", `clipByGlobalNorm: normType must be 2 or Infinity, got ${normType}.`);
  }
  const list = Array.isArray(grads) ? grads : Object.values(grads);
  const totalNorm = tf.tidy(() => {
    if (list.length === 0) return tf.scalar(0);
    const norms = tf.stack(list.map((g) => tf.norm(g, normType === 2 ? "euclidean" : Number.POSITIVE_INFINITY)));
    return (normType === 2 ? tf.norm(norms) : tf.max(norms)) as tf.Scalar;
  });
  if (options.errorIfNonfinite && !Number.isFinite(totalNorm.dataSync()[0])) {
    totalNorm.dispose();
    throw new DiceWasmError(
      "NON_FINITE_INPUT",
      "clipByGlobalNorm: the total gradient norm is not finite; a NaN or Infinity reached the gradients (check the loss and the learning rate).",
    );
  }
  const clipped = tf.tidy(() => {
    const coefficient = tf.minimum(1, tf.div(maxNorm, tf.add(totalNorm, 1e-6)));
    return list.map((g) => tf.mul(g, coefficient));
  });
  const out = Array.isArray(grads)
    ? clipped
    : Object.fromEntries(Object.keys(grads).map((name, i) => [name, clipped[i]!]));
  return { grads: out as G, totalNorm };
}

export interface WarmupOptions {
  /** Epochs with the Dice weight at 0 (cross-entropy only). */
  warmupEpochs: number;
  /** Epochs over which the Dice weight then rises linearly to `diceWeight`. */
  rampEpochs: number;
  /** The Dice weight after the ramp; default 1. */
  diceWeight?: number;
}

/**
 * The weight of the Dice term for the recipe "cross-entropy first, then ramp in
 * the Dice loss": 0 for `warmupEpochs`, then linear up to `diceWeight` over
 * `rampEpochs`. The object is a tfjs-layers callback (pass it in `callbacks`):
 * it follows the epoch, and `lambdaDice` is the weight to use now.
 *
 * @example
 * const schedule = diceWarmup({ warmupEpochs: 2, rampEpochs: 5 });
 * model.compile({ optimizer: "adam", loss: (y, p) => diceCELoss(y, p, { softmax: true, lambdaDice: schedule.lambdaDice }) });
 * await model.fit(x, y, { epochs: 20, callbacks: schedule });
 */
export function diceWarmup(options: WarmupOptions) {
  const { warmupEpochs, rampEpochs } = options;
  const diceWeight = options.diceWeight ?? 1;
  for (const [name, value] of Object.entries({ warmupEpochs, rampEpochs, diceWeight })) {
    if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      throw new DiceWasmError("INVALID_OPTION", `diceWarmup: ${name} must be a finite number ≥ 0, got ${value}.`);
    }
  }
  /** The Dice weight during `epoch` (0-based, as tfjs counts). */
  const weightAt = (epoch: number) => {
    if (epoch < warmupEpochs) return 0;
    if (rampEpochs === 0) return diceWeight;
    return diceWeight * Math.min(1, (epoch - warmupEpochs + 1) / rampEpochs);
  };
  const schedule = {
    weightAt,
    /** The weight for the current epoch (updated by onEpochBegin). */
    lambdaDice: weightAt(0),
    /** tfjs-layers calls this at the start of every epoch (unbound: it must not rely on `this`). */
    onEpochBegin: (epoch: number): void => {
      schedule.lambdaDice = weightAt(epoch);
    },
  };
  return schedule;
}
