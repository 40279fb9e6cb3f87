// Runs in Chromium (test/browser.test.ts drives it): a representative part of
// the core suite on a chosen kernel build, and the tfjs op on the wasm backend.
// Each check returns numbers; the Node side asserts on them.
import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs's own ops
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import {
  backend,
  DiceWasmError,
  diceCELoss,
  diceLoss,
  generalizedDiceLoss,
  init,
  overlapStats,
  tverskyLoss,
} from "../../src/index.js";
import { ExactSum } from "../../src/reference/exact.js";
import { referenceGradient, referenceLoss } from "../../src/reference/losses.js";
import { coreOptions } from "../../src/tfjs/arguments.js";
import * as ops from "../../src/tfjs/index.js";
import { gradError, labels, oneHot, uniform } from "../helpers.js";

async function core(simd: boolean) {
  await init({ simd });
  const [B, S, C] = [2, 40, 3];
  const shape = [B, 5, 8, C];
  const logits = uniform(B * S * C, 1, -3, 3);
  const map = labels(Int32Array, B * S, C, 2);
  const mask = oneHot(map, B, S, C, "channels-last");
  const o = { shape, softmax: true };
  const errors: Record<string, number> = {};
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  errors.dice = rel(
    diceLoss(logits, map, { ...o, toOnehotY: true }).loss,
    referenceLoss("dice", logits, map, { ...o, toOnehotY: true }) as number,
  );
  errors.tversky = rel(
    tverskyLoss(logits, mask, { ...o, alpha: 0.3, beta: 0.7 }).loss,
    referenceLoss("tversky", logits, mask, { ...o, alpha: 0.3, beta: 0.7 }) as number,
  );
  errors.generalizedDice = rel(
    generalizedDiceLoss(logits, map, { ...o, toOnehotY: true }).loss,
    referenceLoss("generalizedDice", logits, map, { ...o, toOnehotY: true }) as number,
  );
  errors.diceCE = rel(
    diceCELoss(logits, map, { ...o, toOnehotY: true }).loss,
    referenceLoss("diceCE", logits, map, { ...o, toOnehotY: true }) as number,
  );
  const grad = diceLoss(logits, mask, { ...o, grad: true }).grad!;
  errors.gradient = gradError(grad, referenceGradient("dice", logits, mask, o));
  // statistics of 2^16 + 3 elements against an exact sum
  const n = 2 ** 16 + 3;
  const p = uniform(n, 3);
  const t = uniform(n, 4);
  const exact = new ExactSum();
  for (let i = 0; i < n; i++) exact.addProduct(p[i]!, t[i]!);
  errors.tp = rel(overlapStats(p, t, { shape: [1, n, 1] }).tp[0]!, exact.value());
  let code = "";
  try {
    diceLoss(
      logits,
      Int32Array.from(map, (l, i) => (i === 5 ? 9 : l)),
      { ...o, toOnehotY: true },
    );
  } catch (e) {
    code = e instanceof DiceWasmError ? e.code : String(e);
  }
  return { backend: backend(), errors, code };
}

async function tfjs() {
  setWasmPaths("/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
  await tf.setBackend("wasm");
  await ops.registerDiceOps();
  const x = tf.tensor(uniform(2 * 64 * 4, 5, -3, 3), [2, 8, 8, 4]);
  const y = tf.tensor(labels(Int32Array, 2 * 64, 4, 6), [2, 8, 8], "int32");
  const options = { softmax: true };
  const resolved = coreOptions("dice", y, x, options);
  const before = tf.memory().numTensors;
  const ours = tf.valueAndGrad((z: tf.Tensor) => ops.diceLoss(y, z, options))(x);
  const theirs = tf.valueAndGrad((z: tf.Tensor) => ops.compositeLoss("dice", y, z, resolved))(x);
  const result = {
    backend: tf.getBackend(),
    implementation: ops.lossImplementation(),
    valueError: Math.abs(ours.value.dataSync()[0]! - theirs.value.dataSync()[0]!) / theirs.value.dataSync()[0]!,
    gradError: gradError(ours.grad.dataSync(), theirs.grad.dataSync(), 0),
    leaked: 0,
  };
  tf.dispose([ours.value, ours.grad, theirs.value, theirs.grad]);
  result.leaked = tf.memory().numTensors - before;
  return result;
}

declare global {
  interface Window {
    checks: { core: typeof core; tfjs: typeof tfjs };
  }
}
window.checks = { core, tfjs };
