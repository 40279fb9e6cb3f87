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

/** max |a − b| over max |b|. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / (scale || 1);
}

export { tf };
