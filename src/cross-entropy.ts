// The cross-entropy term of diceCELoss from pass 1's per-(item, class) sums
// Σ g·(−ln p), normalised as PyTorch's CrossEntropyLoss (MONAI's DiceCELoss
// uses it): a label map is a class-index target, so 'mean' divides by the
// weight of every voxel's class, Σ w_y; a one-hot or soft mask is a
// probability target, so 'mean' divides by the voxel count.
import { DiceWasmError } from "./errors.js";
import type { RawStats } from "./passes.js";

export interface CrossEntropy {
  value: number;
  /** ∂value/∂(ce sum of item b, class c), row-major [B][C]: the kernels' coefficient u before the upstream gradient */
  u: Float64Array;
  /** what the sum is divided by: Σ w_y (label maps), the voxels (masks), or 1 for 'sum' */
  norm: number;
}

export function crossEntropy(
  raw: RawStats,
  voxels: number,
  labels: boolean,
  weights: Float64Array | undefined,
  reduction: "mean" | "sum",
): CrossEntropy {
  const n = raw.ce.length;
  const C = weights?.length ?? 1;
  const w = (i: number) => (weights ? weights[i % C]! : 1);
  let total = 0;
  let norm = 0;
  let labelled = 0;
  for (let i = 0; i < n; i++) {
    total += w(i) * raw.ce[i]!;
    norm += w(i) * raw.count[i]!;
    labelled += raw.count[i]!;
  }
  if (!labels) norm = voxels;
  if (reduction === "sum") norm = 1;
  // every voxel left out (ignoreIndex, mask): nothing to average, a term of 0, as the focal and BCE terms
  if (labels ? labelled === 0 : voxels === 0) return { value: 0, u: new Float64Array(n), norm: 0 };
  if (!(norm > 0)) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      "diceCELoss: the cross-entropy's weighted mean is 0/0: every labelled voxel has a class of weight 0; give the classes present a weight > 0.",
    );
  }
  return { value: total / norm, u: Float64Array.from({ length: n }, (_, i) => w(i) / norm), norm };
}
