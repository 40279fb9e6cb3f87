// The losses built from tf ops, MONAI's formulas as written: the fallback on
// backends without our kernels (webgl, webgpu, tensorflow), the peer our kernels
// are benchmarked against, and the reference their tfjs tests compare with.
import * as tf from "@tensorflow/tfjs-core";
import { DiceWasmError } from "../errors.js";
import type { AnyLossOptions, LossKind } from "../losses.js";

/** Predictions and one-hot (or soft) targets, channels-last, after activation and background removal. */
function prepare(labels: tf.Tensor, predictions: tf.Tensor, o: AnyLossOptions): [tf.Tensor, tf.Tensor] {
  let x = toChannelsLast(predictions, o);
  const rank = x.rank;
  const C = x.shape[rank - 1]!;
  if (o.sigmoid) x = tf.sigmoid(x);
  else if (o.softmax && C > 1) x = tf.softmax(x);
  let g = targets(labels, o, x.shape);
  const kept = keptOf(labels, o, x.shape);
  if (kept) {
    // left out: prediction and target zeroed, as smp and MONAI do
    x = tf.mul(x, kept);
    g = tf.mul(g, kept);
  }
  if (o.includeBackground === false && C > 1) {
    const begin = [...Array(rank - 1).fill(0), 1];
    x = tf.slice(x, begin);
    g = tf.slice(g, begin);
  }
  return [x, g];
}

/** A tensor of the prediction's rank, channels-last (tf.softmax works on the last axis only). */
function toChannelsLast(t: tf.Tensor, o: AnyLossOptions): tf.Tensor {
  return o.layout === "channels-first" ? tf.transpose(t, [0, ...range(2, t.rank), 1]) : t;
}

/** Float targets of channels-last `shape`: the one-hot of a label map, or the masks themselves. */
function targets(labels: tf.Tensor, o: AnyLossOptions, shape: number[]): tf.Tensor {
  const C = shape[shape.length - 1]!;
  if (!(o.toOnehotY && C > 1)) return tf.cast(toChannelsLast(labels, o), "float32");
  // a label map with a singleton class axis is moved like a prediction; one without is left as it is
  const ids = tf.reshape(labels.rank === shape.length ? toChannelsLast(labels, o) : labels, shape.slice(0, -1));
  return tf.cast(tf.oneHot(tf.cast(ids, "int32"), C), "float32");
}

/**
 * 1 where ignoreIndex keeps an element, 0 where it leaves it out: per voxel
 * ([..., 1]) for a label map, per element for masks; undefined without ignoreIndex.
 */
function keptOf(labels: tf.Tensor, o: AnyLossOptions, shape: number[]): tf.Tensor | undefined {
  if (o.ignoreIndex === undefined) return undefined;
  const C = shape[shape.length - 1]!;
  const labelMap = o.toOnehotY && C > 1;
  const values = labelMap
    ? tf.reshape(labels.rank === shape.length ? toChannelsLast(labels, o) : labels, [...shape.slice(0, -1), 1])
    : toChannelsLast(labels, o);
  return tf.cast(tf.notEqual(tf.cast(values, "float32"), o.ignoreIndex), "float32");
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * The checks our kernels make as they go, as one small read: non-finite
 * predictions, and label-map values that are not class ids in [0, C).
 */
function check(labels: tf.Tensor, predictions: tf.Tensor, o: AnyLossOptions, C: number): void {
  const counts = tf.tidy(() => {
    const bad = tf.sum(tf.cast(tf.logicalNot(tf.isFinite(predictions)), "float32"));
    if (!(o.toOnehotY && C > 1)) return tf.stack([bad, tf.scalar(0)]);
    const l = tf.cast(labels, "float32");
    const classId = tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(l, 0), tf.less(l, C)), tf.equal(tf.floor(l), l));
    const valid = o.ignoreIndex === undefined ? classId : tf.logicalOr(classId, tf.equal(l, o.ignoreIndex));
    return tf.stack([bad, tf.sum(tf.cast(tf.logicalNot(valid), "float32"))]);
  });
  const [nonFinite, invalid] = counts.dataSync();
  counts.dispose();
  if (nonFinite) {
    throw new DiceWasmError(
      "NON_FINITE_INPUT",
      `the predictions hold ${nonFinite} NaN or infinite values; find where your network produced them before computing the loss.`,
    );
  }
  if (invalid) {
    throw new DiceWasmError(
      "LABEL_OUT_OF_RANGE",
      `the label map holds ${invalid} values that are not class ids in [0, ${C}); check the labels or the number of output channels.`,
      { numClasses: C },
    );
  }
}

/** Σ over the spatial axes (and the batch axis with `batch`) of a channels-last tensor: [rows, C]. */
function sums(t: tf.Tensor, batch: boolean): tf.Tensor {
  const axes = range(batch ? 0 : 1, t.rank - 1);
  const s = tf.sum(t, axes);
  return batch ? tf.expandDims(s, 0) : s;
}

/**
 * The loss from tf ops with tfjs's autodiff, MONAI 1.5's formulas: the same
 * semantics as our kernels (labels, predictions and options already checked
 * and resolved by coreOptions).
 */
export function compositeLoss(
  kind: LossKind | "focal",
  labels: tf.Tensor,
  predictions: tf.Tensor,
  o: AnyLossOptions,
  validate = true,
): tf.Tensor {
  const C = o.layout === "channels-first" ? predictions.shape[1]! : predictions.shape[predictions.rank - 1]!;
  if (validate) check(labels, predictions, o, C);
  return tf.tidy(() => TWINS[kind](labels, predictions, o, C));
}

/** A loss from tf ops: labels and predictions checked, options resolved, C classes. */
type Twin = (labels: tf.Tensor, predictions: tf.Tensor, o: AnyLossOptions, C: number) => tf.Tensor;

/** The statistics MONAI's losses start from, per (row, class): Σp, Σg, tp (soft labels: from L1 norms). */
function overlapSums(labels: tf.Tensor, predictions: tf.Tensor, o: AnyLossOptions) {
  const [p, g] = prepare(labels, predictions, o);
  const batch = Boolean(o.batch);
  const sumP = sums(p, batch);
  const sumG = sums(g, batch);
  // MONAI's compute_tp_fp_fn: soft labels use L1 norms, tp = (|p| + |g| − |p − g|) / 2
  const tp = o.softLabel
    ? tf.div(tf.sub(tf.add(sumP, sumG), sums(tf.abs(tf.sub(p, g)), batch)), 2)
    : sums(tf.mul(p, g), batch);
  return { p, g, batch, sumP, sumG, tp, smoothNr: o.smoothNr ?? 1e-5, smoothDr: o.smoothDr ?? 1e-5 };
}

function reduceItems(f: tf.Tensor, o: AnyLossOptions): tf.Tensor {
  if (o.reduction === "none") return f;
  return o.reduction === "sum" ? tf.sum(f) : tf.mean(f);
}

const dice: Twin = (labels, predictions, o) => {
  const { p, g, batch, sumP, sumG, tp, smoothNr, smoothDr } = overlapSums(labels, predictions, o);
  const ground = o.squaredPred ? sums(tf.square(g), batch) : sumG;
  const pred = o.squaredPred ? sums(tf.square(p), batch) : sumP;
  let denominator = tf.add(ground, pred);
  if (o.jaccard) denominator = tf.mul(2, tf.sub(denominator, tp));
  let f = tf.sub(1, tf.div(tf.add(tf.mul(2, tp), smoothNr), tf.add(denominator, smoothDr)));
  if (o.weight !== undefined && f.shape[1]! > 1) {
    const weight = typeof o.weight === "number" ? Array(f.shape[1]).fill(o.weight) : [...o.weight];
    f = tf.mul(f, tf.tensor1d(weight));
  }
  return reduceItems(f, o);
};

const tversky: Twin = (labels, predictions, o) => {
  const { p, g, batch, sumP, sumG, tp, smoothNr, smoothDr } = overlapSums(labels, predictions, o);
  const fp = o.softLabel ? tf.sub(sumP, tp) : sums(tf.mul(p, tf.sub(1, g)), batch);
  const fn = o.softLabel ? tf.sub(sumG, tp) : sums(tf.mul(tf.sub(1, p), g), batch);
  const denominator = tf.add(tf.add(tp, tf.mul(o.alpha ?? 0.5, fp)), tf.mul(o.beta ?? 0.5, fn));
  return reduceItems(tf.sub(1, tf.div(tf.add(tp, smoothNr), tf.add(denominator, smoothDr))), o);
};

const generalizedDice: Twin = (labels, predictions, o) => {
  const { batch, sumP, sumG, tp, smoothNr, smoothDr } = overlapSums(labels, predictions, o);
  const w = gdlWeights(sumG, o.wType ?? "square", batch);
  const numerator = tf.add(tf.mul(2, tf.sum(tf.mul(tp, w), 1)), smoothNr);
  const denominator = tf.add(tf.sum(tf.mul(tf.add(sumG, sumP), w), 1), smoothDr);
  return reduceItems(tf.sub(1, tf.div(numerator, denominator)), o);
};

const diceCE: Twin = (labels, predictions, o, C) => {
  const all = typeof o.weight === "number" ? undefined : o.weight;
  const weight = all && o.includeBackground === false ? all.slice(1) : o.weight;
  const value = dice(labels, predictions, { ...o, weight }, C);
  const ce = o.sigmoid ? binaryCrossEntropy(labels, predictions, o) : crossEntropy(labels, predictions, o, C);
  return tf.add(tf.mul(o.lambdaDice ?? 1, value), tf.mul(o.lambdaCe ?? 1, ce));
};

/** Dice (or generalized Dice) + focal; MONAI: the focal term is the sigmoid one, whatever the Dice term's activation. */
function withFocal(overlap: Twin, gdl: boolean): Twin {
  return (labels, predictions, o, C) => {
    const value = overlap(labels, predictions, gdl ? { ...o, weight: undefined } : o, C);
    const term = focal(labels, predictions, gdl ? { ...o, alpha: undefined } : o, C, false);
    return tf.add(tf.mul((gdl ? o.lambdaGdl : o.lambdaDice) ?? 1, value), tf.mul(o.lambdaFocal ?? 1, term));
  };
}

/** One twin per loss of the registry (and focalLoss): a new loss cannot go without one. */
const TWINS: Record<LossKind | "focal", Twin> = {
  dice,
  tversky,
  generalizedDice,
  diceCE,
  diceFocal: withFocal(dice, false),
  generalizedDiceFocal: withFocal(generalizedDice, true),
  focal: (labels, predictions, o, C) => focal(labels, predictions, o, C, Boolean(o.useSoftmax)),
};

/** PyTorch's CrossEntropyLoss on the logits: class indices (label map) or class probabilities (masks). */
function crossEntropy(labels: tf.Tensor, logits: tf.Tensor, o: AnyLossOptions, C: number): tf.Tensor {
  const x = toChannelsLast(logits, o);
  const logp = tf.logSoftmax(x);
  const kept = keptOf(labels, o, x.shape);
  // ignored voxels: out of the sum and of the mean's count (PyTorch's ignore_index)
  const g = kept ? tf.mul(targets(labels, o, x.shape), kept) : targets(labels, o, x.shape);
  const w =
    o.weight === undefined
      ? tf.ones([C])
      : typeof o.weight === "number"
        ? tf.fill([C], o.weight)
        : tf.tensor1d([...o.weight]);
  let total = tf.neg(tf.sum(tf.mul(tf.mul(g, w), logp)));
  const eps = o.labelSmoothing ?? 0;
  if (eps > 0) {
    // PyTorch's label smoothing: (1 − ε)·CE + ε/C·Σ_c w_c·(−ln p_c) over the voxels kept, same normaliser
    const all = tf.neg(tf.sum(tf.mul(tf.mul(logp, w), kept ?? 1)));
    total = tf.add(tf.mul(1 - eps, total), tf.mul(eps / C, all));
  }
  if (o.reduction === "sum") return total;
  const voxels = kept ? tf.div(tf.sum(tf.broadcastTo(kept, x.shape)), C) : g.size / C;
  // every voxel left out: a term of 0, as in the kernels
  return tf.div(total, tf.maximum(o.toOnehotY ? tf.sum(tf.mul(g, w)) : voxels, 1e-30));
}

/** PyTorch's BCEWithLogitsLoss, `weight` as pos_weight, over the elements kept. */
function binaryCrossEntropy(labels: tf.Tensor, logits: tf.Tensor, o: AnyLossOptions): tf.Tensor {
  const x = toChannelsLast(logits, o);
  const g = targets(labels, o, x.shape);
  const kept = keptOf(labels, o, x.shape);
  const pw = o.weight === undefined ? 1 : typeof o.weight === "number" ? o.weight : tf.tensor1d([...o.weight]);
  // softplus(±x) = (±x)⁺ + ln(1 + e^−|x|)
  const tail = tf.log1p(tf.exp(tf.neg(tf.abs(x))));
  const positive = tf.mul(tf.mul(g, pw), tf.add(tf.relu(tf.neg(x)), tail));
  let loss = tf.add(positive, tf.mul(tf.sub(1, g), tf.add(tf.relu(x), tail)));
  if (kept) loss = tf.mul(loss, kept);
  const total = tf.sum(loss);
  if (o.reduction === "sum") return total;
  return tf.div(total, kept ? tf.maximum(tf.sum(tf.broadcastTo(kept, loss.shape)), 1) : loss.size);
}

/**
 * MONAI 1.5's FocalLoss on the logits, as written there: sigmoid_focal_loss or
 * softmax_focal_loss on the classes kept, class weights, then 'mean' over the
 * elements kept, 'sum' of the spatial means, or every element ('none', in the
 * predictions' layout).
 */
function focal(labels: tf.Tensor, logits: tf.Tensor, o: AnyLossOptions, C: number, softmax: boolean): tf.Tensor {
  let x = toChannelsLast(logits, o);
  let g = targets(labels, o, x.shape);
  let kept = keptOf(labels, o, x.shape);
  const rank = x.rank;
  const c0 = o.includeBackground === false && C > 1 ? 1 : 0;
  if (c0) {
    const begin = [...Array(rank - 1).fill(0), 1];
    x = tf.slice(x, begin);
    g = tf.slice(g, begin);
    if (kept && kept.shape[rank - 1] === C) kept = tf.slice(kept, begin);
  }
  const K = C - c0;
  const gamma = o.gamma ?? 2;
  let loss: tf.Tensor;
  if (softmax) {
    const logp = tf.logSoftmax(x);
    // (1 − p)^γ with 1 − p = −expm1(ln p), kept ≥ 1e-30: at 0 pow's gradient is 0·∞ for γ < 1
    // (a comparison to mask it has no gradient in tfjs; maximum's routes none below the floor)
    const q = tf.maximum(tf.neg(tf.expm1(logp)), 1e-30);
    const factor = gamma === 0 ? tf.onesLike(q) : tf.pow(q, gamma);
    loss = tf.neg(tf.mul(tf.mul(factor, logp), g));
    if (o.alpha !== undefined && c0 === 0)
      loss = tf.mul(loss, tf.tensor1d([1 - o.alpha, ...Array(K - 1).fill(o.alpha)]));
  } else {
    // x − x·g − logsigmoid(x), as (1 − g)·x⁺ + g·(−x)⁺ + ln(1 + e^−|x|): no cancellation in float32
    const softTail = tf.log1p(tf.exp(tf.neg(tf.abs(x))));
    loss = tf.add(tf.add(tf.mul(tf.sub(1, g), tf.relu(x)), tf.mul(g, tf.relu(tf.neg(x)))), softTail);
    const invprobs = logSigmoid(tf.mul(tf.neg(x), tf.sub(tf.mul(g, 2), 1)));
    loss = tf.mul(tf.exp(tf.mul(invprobs, gamma)), loss);
    if (o.alpha !== undefined) loss = tf.mul(tf.add(tf.mul(g, o.alpha), tf.mul(tf.sub(1, g), 1 - o.alpha)), loss);
  }
  if (o.weight !== undefined && K > 1) {
    loss = tf.mul(loss, typeof o.weight === "number" ? tf.fill([K], o.weight) : tf.tensor1d([...o.weight]));
  }
  const spatial = loss.size / (loss.shape[0]! * K);
  if (kept) loss = tf.mul(loss, kept);
  if (o.reduction === "none")
    return o.layout === "channels-first" ? tf.transpose(loss, [0, rank - 1, ...range(1, rank - 1)]) : loss;
  const total = tf.sum(loss);
  if (o.reduction === "sum") return tf.div(total, spatial);
  // over the elements kept (0 when none is: the sum is 0 too)
  const n = kept ? tf.maximum(tf.sum(tf.broadcastTo(kept, loss.shape)), 1) : loss.size;
  return tf.div(total, n);
}

/** ln σ(u) = min(u, 0) − ln(1 + e^−|u|) from plain ops: two tf.logSigmoid in one graph break its gradient (tfjs 4.22: a disposed saved tensor). */
function logSigmoid(u: tf.Tensor): tf.Tensor {
  return tf.sub(tf.minimum(u, 0), tf.log1p(tf.exp(tf.neg(tf.abs(u)))));
}

/** 1/(Σg)², 1/Σg or 1; an absent class's infinite weight becomes the row's largest finite weight (MONAI). */
function gdlWeights(ground: tf.Tensor, wType: string, batch: boolean): tf.Tensor {
  const w =
    wType === "square"
      ? tf.reciprocal(tf.square(ground))
      : wType === "simple"
        ? tf.reciprocal(ground)
        : tf.onesLike(ground);
  const infinite = tf.logicalNot(tf.isFinite(w));
  const finite = tf.where(infinite, tf.zerosLike(w), w);
  const largest = batch ? tf.max(finite) : tf.max(finite, 1, true);
  return tf.add(finite, tf.mul(tf.cast(infinite, "float32"), largest));
}
