// The precision suite: for volume sizes 2^10…2^26 and four data regimes, the
// Dice loss by each method of comparePrecision, and by the same loss built from
// tf ops on the tfjs wasm and cpu backends (when installed), as relative errors
// against the exact value.

import { comparePrecision } from "../precision.js";
import { seededRandom } from "../random.js";
import { init } from "../runtime.js";

export interface Regime {
  name: string;
  /** prediction and target of voxel i, from a uniform random number generator */
  make(random: () => number): [p: number, g: number];
}

export const REGIMES: Regime[] = [
  {
    name: "random probabilities, 1% foreground",
    make: (r) => [r(), Number(r() < 0.01)],
  },
  {
    name: "near-perfect prediction (loss ≈ 1e-4)",
    make: (r) => {
      const g = Number(r() < 0.3);
      return [g ? 1 - 1e-4 * r() : 1e-4 * r(), g];
    },
  },
  {
    name: "very sparse foreground (0.01%)",
    make: (r) => {
      const g = Number(r() < 1e-4);
      return [g ? 0.6 + 0.4 * r() : 0.05 * r(), g];
    },
  },
  {
    name: "all-ones target, p = 0.99",
    make: () => [0.99, 1],
  },
];

export interface PrecisionRow {
  regime: string;
  n: number;
  exact: number;
  errors: Record<string, number>;
  /** largest relative error of Σp·g, Σp, Σg, per method of comparePrecision */
  statisticsErrors: Record<string, number>;
}

type TfLoss = (p: Float32Array, g: Float32Array, n: number) => number;

/** The tf-ops loss on each tfjs backend that is installed; none when tfjs is not. */
async function tfjsLosses(): Promise<Record<string, TfLoss>> {
  try {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-cpu");
    await import("@tensorflow/tfjs-backend-wasm");
    const { compositeLoss } = await import("../tfjs/composite.js");
    const loss =
      (backend: string): TfLoss =>
      (p, g, n) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const value = compositeLoss(
            "dice",
            tf.tensor(g, [1, n, 1]),
            tf.tensor(p, [1, n, 1]),
            { shape: [1, n, 1] },
            false,
          );
          return value.dataSync()[0]!;
        });
      };
    await tf.setBackend("wasm");
    await tf.ready();
    return { "tf ops, tfjs wasm": loss("wasm"), "tf ops, tfjs cpu": loss("cpu") };
  } catch {
    return {};
  }
}

/** 2^10, 2^12, … up to 2^maxLog2 voxels. */
export function precisionSizes(maxLog2: number): number[] {
  return Array.from({ length: Math.floor((maxLog2 - 10) / 2) + 1 }, (_, i) => 2 ** (10 + 2 * i));
}

export async function precisionSuite(
  sizes: number[],
  onProgress: (done: number, total: number, label: string) => void = () => {},
): Promise<PrecisionRow[]> {
  await init();
  const tfjs = await tfjsLosses();
  const rows: PrecisionRow[] = [];
  const total = sizes.length * REGIMES.length;
  for (const regime of REGIMES) {
    for (const n of sizes) {
      onProgress(rows.length, total, `${regime.name}, N = 2^${Math.log2(n)}`);
      const random = seededRandom(n);
      const p = new Float32Array(n);
      const g = new Float32Array(n);
      for (let i = 0; i < n; i++) [p[i], g[i]] = regime.make(random);
      const report = comparePrecision(p, g, { shape: [1, n, 1] });
      const errors: Record<string, number> = {};
      const statisticsErrors: Record<string, number> = {};
      for (const m of report.methods) {
        errors[m.method] = m.relativeError;
        statisticsErrors[m.method] = m.statisticsError;
      }
      for (const [name, loss] of Object.entries(tfjs))
        errors[name] = Math.abs(loss(p, g, n) - report.exact) / report.exact;
      rows.push({ regime: regime.name, n, exact: report.exact, errors, statisticsErrors });
    }
  }
  onProgress(total, total, "done");
  return rows;
}
