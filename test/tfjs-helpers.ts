// tfjs set-up shared by the tfjs tests: both accelerated backends, and the
// layers package (bare tfjs-core in Node registers no gradients).
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-layers";
import * as tf from "@tensorflow/tfjs-core";
import { registerDiceOps } from "../src/tfjs/index.js";

export const TF_BACKENDS = ["cpu", "wasm"] as const;

export async function useTfBackend(name: string): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
  await registerDiceOps();
}

export { tf };
