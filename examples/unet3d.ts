// A small 3D U-Net for tfjs: two levels, two 3³ Conv3D layers per block,
// max pooling down, a stride-2 transposed convolution up, an additive skip
// connection (so that widening the model keeps channel positions), and 1×1×1
// Conv3D logits. Shared by examples/train-unet3d.ts and the tests.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

export interface UNetOptions {
  /** the scans' side (a multiple of 2) */
  size: number;
  classes: number;
  /** filters of the first level; the second has twice as many */
  filters: number;
  /**
   * The classes' frequencies in the training labels: the logits' bias starts
   * at their logarithm, so that the untrained net predicts the class prior and
   * training does not spend its first steps learning it (most voxels are
   * background). Default: a zero bias.
   */
  classFrequencies?: readonly number[];
  seed?: number;
}

/** Logits [B, D, H, W, classes] for scans [B, D, H, W, 1]. */
export function unet3d({ size, classes, filters, classFrequencies, seed = 1 }: UNetOptions): tfl.LayersModel {
  let k = 0;
  // seeded initial weights, named by position, so that warmStart can match layers
  const conv = (f: number, kernelSize: number, activation?: "relu") =>
    tfl.layers.conv3d({
      filters: f,
      kernelSize,
      padding: "same",
      activation,
      name: `conv${k}`,
      kernelInitializer: tfl.initializers.heNormal({ seed: seed + k++ }),
    });
  const input = tfl.input({ shape: [size, size, size, 1] });
  const down = conv(filters, 3, "relu").apply(conv(filters, 3, "relu").apply(input)) as tfl.SymbolicTensor;
  const pooled = tfl.layers.maxPooling3d({ poolSize: 2, strides: 2 }).apply(down) as tfl.SymbolicTensor;
  const bottom = conv(2 * filters, 3, "relu").apply(conv(2 * filters, 3, "relu").apply(pooled)) as tfl.SymbolicTensor;
  const up = tfl.layers
    .conv3dTranspose({
      filters,
      kernelSize: 2,
      strides: 2,
      padding: "same",
      activation: "relu",
      name: `conv${k}`,
      kernelInitializer: tfl.initializers.heNormal({ seed: seed + k++ }),
    })
    .apply(bottom) as tfl.SymbolicTensor;
  const merged = tfl.layers.add().apply([down, up]) as tfl.SymbolicTensor;
  const decoded = conv(filters, 3, "relu").apply(merged) as tfl.SymbolicTensor;
  const head = conv(classes, 1);
  const logits = head.apply(decoded) as tfl.SymbolicTensor;
  if (classFrequencies) {
    if (classFrequencies.length !== classes)
      throw new Error(`unet3d: ${classFrequencies.length} class frequencies for ${classes} classes`);
    const [kernel] = head.getWeights();
    tf.tidy(() => head.setWeights([kernel!, tf.log(tf.tensor1d(classFrequencies.map((f) => Math.max(f, 1e-6))))]));
  }
  return tfl.model({ inputs: input, outputs: logits });
}

/**
 * Initialises `to`'s Conv3D (and transposed Conv3D) layers from a trained,
 * narrower `from` of the same architecture, layers matched by name, so that
 * `to` starts out computing exactly what `from` computes: the overlapping
 * block of each kernel and bias is copied, the new input channels' weights are
 * zero (nothing reads the new channels yet), and the new output channels keep
 * their fresh initialisation (so that they can learn: all-zero channels behind
 * a ReLU would get no gradient).
 *
 * @example
 * const wide = unet3d({ size, classes, filters: 16 });
 * warmStart(trainedNarrow, wide);
 */
export function warmStart(from: tfl.LayersModel, to: tfl.LayersModel): void {
  for (const layer of to.layers) {
    const source = from.layers.find((l) => l.name === layer.name);
    const fresh = layer.getWeights();
    if (!source || fresh.length === 0) continue;
    const trained = source.getWeights();
    if (trained.length !== fresh.length)
      throw new Error(`warmStart: layer ${layer.name} has other weights in the two models`);
    // a transposed convolution's kernel is [d, h, w, out, in]
    const transposed = layer.getClassName() === "Conv3DTranspose";
    // setWeights copies into the layer's variables: the widened tensors can go
    tf.tidy(() => layer.setWeights(fresh.map((w, i) => widen(trained[i]!, w, transposed))));
  }
}

/**
 * A kernel [d, h, w, in, out] (transposed: [d, h, w, out, in]) or bias [out] of `fresh`'s shape holding
 * `trained` where both have channels, zero for the new input channels, and
 * `fresh` for the new output channels.
 */
function widen(trained: tf.Tensor, fresh: tf.Tensor, transposed: boolean): tf.Tensor {
  const [t, f] = [trained.shape, fresh.shape];
  if (t.length !== f.length || t.slice(0, -2).some((d, i) => d !== f[i]) || t.some((d, i) => d > f[i]!)) {
    throw new Error(`warmStart: cannot widen [${t}] to [${f}]`);
  }
  const old = trained.dataSync();
  const out = Float32Array.from(fresh.dataSync());
  if (t.length === 1) {
    out.set(old);
    return tf.tensor(out, f);
  }
  // the last two axes, a then b: (in, out), or (out, in) when transposed
  const [aOld, bOld, aNew, bNew] = [t.at(-2)!, t.at(-1)!, f.at(-2)!, f.at(-1)!];
  const taps = out.length / (aNew * bNew);
  for (let k = 0; k < taps; k++) {
    for (let a = 0; a < aNew; a++) {
      for (let b = 0; b < bNew; b++) {
        const [input, inOld] = transposed ? [b, bOld] : [a, aOld];
        const at = (k * aNew + a) * bNew + b;
        if (input >= inOld) out[at] = 0;
        else if (a < aOld && b < bOld) out[at] = old[(k * aOld + a) * bOld + b]!;
      }
    }
  }
  return tf.tensor(out, f);
}
