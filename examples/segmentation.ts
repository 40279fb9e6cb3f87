// A tiny 3D segmentation problem for tfjs: synthetic scans (spheres of classes
// 1…C−1 in noise) with their one-hot labels, and a small fully convolutional
// Conv3D network. Shared by examples/train-tfjs.ts and the tfjs training test.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { syntheticVolume } from "../src/synthetic.js";

export interface SegmentationData {
  /** scans [B, D, H, W, 1]: the class id scaled to [0, 1], plus noise, standardised per scan */
  images: tf.Tensor5D;
  /** one-hot labels [B, D, H, W, C] */
  labels: tf.Tensor5D;
  /** class ids [B, D, H, W] */
  labelMap: tf.Tensor4D;
  /** each class's fraction of the voxels */
  frequencies: number[];
}

/** `batch` synthetic scans of size³ voxels with `classes` classes (background included). */
export function segmentationData(size: number, classes: number, batch: number, seed = 1): SegmentationData {
  const { labels, shape } = syntheticVolume({ size: [size, size, size], classes, batch, seed });
  const noise = syntheticVolume({
    size: [size, size, size],
    classes: 1,
    batch,
    seed: seed + 1,
    margin: 0,
    noise: 0.25,
  });
  const image = Float32Array.from(labels, (cls, i) => cls / (classes - 1) + noise.logits[i]!);
  const spatial = shape.slice(0, 4) as [number, number, number, number];
  standardise(image, batch);
  const frequencies = Array.from({ length: classes }, () => 0);
  for (const cls of labels) frequencies[cls]! += 1 / labels.length;
  return tf.tidy(() => {
    const labelMap = tf.tensor4d(Int32Array.from(labels), spatial, "int32");
    return {
      images: tf.tensor5d(image, [...spatial, 1]),
      labels: tf.cast(tf.oneHot(labelMap, classes), "float32") as tf.Tensor5D,
      labelMap,
      frequencies,
    };
  });
}

/**
 * Zero mean and unit variance for each of the `batch` scans in `image`, in
 * place: the intensity normalisation MRI pipelines apply (MONAI's
 * NormalizeIntensity). Networks without normalisation layers, like these,
 * learn several times faster from it.
 */
function standardise(image: Float32Array, batch: number): void {
  const n = image.length / batch;
  for (let b = 0; b < batch; b++) {
    const scan = image.subarray(b * n, (b + 1) * n);
    let [sum, squares] = [0, 0];
    for (const v of scan) [sum, squares] = [sum + v, squares + v * v];
    const mean = sum / n;
    const std = Math.sqrt(squares / n - mean * mean) || 1; // a constant scan is only centred
    for (let i = 0; i < n; i++) scan[i] = (scan[i]! - mean) / std;
  }
}

/**
 * Three Conv3D layers, 'same' padding: logits [B, D, H, W, C] for scans
 * [B, D, H, W, 1]. On the tfjs wasm backend they need our Conv3D kernels
 * (registerDiceOps registers them): tfjs-backend-wasm 4.22's own Conv3D
 * gradients are wrong, so stacked Conv3D layers would not train there.
 */
export function segmentationModel(size: number, classes: number, filters = 8, seed = 1): tfl.LayersModel {
  // seeded initial weights: the same run every time
  const init = (k: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + k }) });
  return tfl.sequential({
    layers: [
      tfl.layers.conv3d({
        inputShape: [size, size, size, 1],
        filters,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        ...init(0),
      }),
      tfl.layers.conv3d({ filters, kernelSize: 1, activation: "relu", ...init(1) }),
      tfl.layers.conv3d({ filters: classes, kernelSize: 1, ...init(2) }),
    ],
  });
}
