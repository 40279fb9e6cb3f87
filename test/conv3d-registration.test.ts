// Registration order: registering while on cpu, then setting up the wasm
// backend, then putting tfjs's kernels back. tfjs-wasm binds each kernel's C
// function in a setup run when the backend starts, which ours replaced; its
// kernels must still work once restored. Its own file: the wasm backend must
// start after registration, which only a fresh tfjs guarantees.
import { expect, it } from "vitest";
import { conv3dImplementation, registerDiceOps, unregisterConv3D } from "../src/tfjs/index.js";
import { tf } from "./tfjs-helpers.js";

it("tfjs's kernels work again after unregisterConv3D, also on a backend started after registering", async () => {
  await tf.setBackend("cpu");
  await registerDiceOps();
  await tf.setBackend("wasm"); // started now, with our kernels in place of tfjs's
  expect(conv3dImplementation()).toBe("dice-wasm");
  unregisterConv3D();
  expect(conv3dImplementation()).toBe("tfjs");
  const x = tf.ones([1, 3, 3, 3, 2]) as tf.Tensor5D;
  const w = tf.ones([1, 1, 1, 2, 1]) as tf.Tensor5D;
  // tfjs-wasm's forward convolution and (for these non-negative values) pooling are right
  expect(Array.from(tf.conv3d(x, w, 1, "same").dataSync())).toEqual(Array(27).fill(2));
  expect(Array.from(tf.maxPool3d(x, 3, 1, "valid").dataSync())).toEqual([1, 1]);
  await registerDiceOps();
  expect(conv3dImplementation()).toBe("dice-wasm");
  tf.dispose([x, w]);
});
