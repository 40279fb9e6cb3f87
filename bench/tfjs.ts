// npm run bench:tfjs: loss value + gradient of our tfjs op against the same
// loss built from tf ops and differentiated by tfjs, side by side on the wasm
// and cpu backends: [1, S, S, S, 4] softmax logits, an int32 label map.
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs's own ops
import * as tf from "@tensorflow/tfjs-core";
import { type Group, type Row, runGroup, saveResults } from "../src/bench/harness.js";
import { referenceDiceGradient, referenceLoss } from "../src/reference/losses.js";
import { syntheticVolume } from "../src/synthetic.js";
import { coreOptions } from "../src/tfjs/arguments.js";
import { compositeLoss, diceLoss, lossImplementation, registerDiceOps } from "../src/tfjs/index.js";

const SIDE = Number(process.env.BENCH_SIDE ?? 128);
const C = 4;
const { logits, labels, shape } = syntheticVolume({ size: [SIDE, SIDE, SIDE], classes: C, seed: 3 });
const results: Array<{ group: Group; rows: Row[] }> = [];
// the float64 reference both contenders are checked against
const exact = {
  value: referenceLoss("dice", logits, labels, { shape, softmax: true, toOnehotY: true }) as number,
  grad: referenceDiceGradient(logits, labels, { shape, softmax: true, toOnehotY: true }),
};

/** Throws unless the loss is within `valueTol` (relative) and the gradient within `gradTol` of its largest entry. */
function checkAgainstExact(
  name: string,
  got: { value: number; grad: Float32Array },
  valueTol: number,
  gradTol: number,
) {
  const valueError = Math.abs(got.value - exact.value) / exact.value;
  let err = 0;
  let scale = 0;
  got.grad.forEach((g, i) => {
    err = Math.max(err, Math.abs(g - exact.grad[i]!));
    scale = Math.max(scale, Math.abs(exact.grad[i]!));
  });
  console.log(
    `${name}: loss relative error ${valueError.toExponential(1)}, gradient ${(err / scale).toExponential(1)}`,
  );
  if (valueError > valueTol || err > gradTol * scale) throw new Error(`${name} is wrong`);
}

for (const backendName of ["wasm", "cpu"]) {
  await tf.setBackend(backendName);
  await tf.ready();
  await registerDiceOps();
  if (lossImplementation() !== "kernels") throw new Error(`our kernels are not running on ${backendName}`);
  const x = tf.tensor(logits, shape);
  const y = tf.tensor(Int32Array.from(labels), shape.slice(0, 4), "int32");
  const options = { softmax: true };
  const resolved = coreOptions("dice", y, x, options);
  const ours = tf.valueAndGrad((z: tf.Tensor) => diceLoss(y, z, options));
  const theirs = tf.valueAndGrad((z: tf.Tensor) => compositeLoss("dice", y, z, resolved, false));
  /** Value and gradient, read back for the checks. */
  const once = (f: typeof ours) => {
    const { value, grad } = f(x);
    const out = { value: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
    tf.dispose([value, grad]);
    return out;
  };
  /** Value and gradient as a training step uses them: computed (both backends are synchronous), not read back. */
  const step = (f: typeof ours) => () => {
    const { value, grad } = f(x);
    value.dataSync();
    tf.dispose([value, grad]);
  };
  const group: Group = {
    title: `Dice loss + gradient, softmax, [1, ${SIDE}³, ${C}] logits, int32 labels, tfjs ${backendName} backend`,
    voxels: SIDE ** 3,
    bytes: SIDE ** 3 * (4 * C + 4),
    peer: "tf ops + tfjs autodiff",
    contenders: [
      {
        name: "dice-wasm/tfjs diceLoss",
        run: step(ours),
        check: () => checkAgainstExact(`ours on ${backendName}`, once(ours), 1e-6, 1e-4),
      },
      {
        name: "tf ops + tfjs autodiff",
        run: step(theirs),
        // float32 sums over 2^21 voxels: tfjs-wasm's are sequential, so its error is larger
        check: () => checkAgainstExact(`tf ops on ${backendName}`, once(theirs), 1e-2, 1e-2),
      },
    ],
  };
  results.push({ group, rows: await runGroup(group, 3, 200) });
  tf.dispose([x, y]);
}
console.log(`\nresults: ${saveResults("tfjs", results)}`);
