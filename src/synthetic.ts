// A synthetic 3D multi-class segmentation problem: spheres in a volume, and the
// logits of a plausible, imperfect network. For the demo, benchmarks and tests.
import { seededRandom } from "./random.js";

export interface SyntheticOptions {
  /** Spatial size [D, H, W]; default [96, 96, 96]. */
  size?: readonly [number, number, number];
  /** Classes including background (class 0); default 4. */
  classes?: number;
  /** Batch size; default 1. */
  batch?: number;
  /** How sure the fake network is: the logit margin of the true class; default 3. */
  margin?: number;
  /** Standard deviation of the logit noise; default 1.5. */
  noise?: number;
  seed?: number;
}

export interface SyntheticVolume {
  /** Channels-last logits [B, D, H, W, C]. */
  logits: Float32Array;
  /** Class ids [B, D, H, W]. */
  labels: Uint8Array;
  shape: [number, number, number, number, number];
}

/**
 * Spheres of classes 1…C−1 in a background of class 0, and noisy logits that
 * favour the true class. Deterministic for a given seed.
 *
 * @example
 * const { logits, labels, shape } = syntheticVolume({ size: [64, 64, 64], classes: 3 });
 * const { loss } = diceLoss(logits, labels, { shape, softmax: true, toOnehotY: true });
 */
export function syntheticVolume(options: SyntheticOptions = {}): SyntheticVolume {
  const [D, H, W] = options.size ?? [96, 96, 96];
  const C = options.classes ?? 4;
  const B = options.batch ?? 1;
  const margin = options.margin ?? 3;
  const noise = options.noise ?? 1.5;
  const random = seededRandom(options.seed ?? 1);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const S = D * H * W;
  const labels = new Uint8Array(B * S);
  const logits = new Float32Array(B * S * C);
  for (let b = 0; b < B; b++) {
    const spheres = Array.from({ length: C - 1 }, (_, k) => ({
      cls: k + 1,
      z: D * (0.25 + 0.5 * random()),
      y: H * (0.25 + 0.5 * random()),
      x: W * (0.25 + 0.5 * random()),
      r: Math.min(D, H, W) * (0.08 + 0.17 * random()),
    }));
    for (let z = 0, v = 0; z < D; z++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++, v++) {
          let cls = 0;
          for (const s of spheres) if ((z - s.z) ** 2 + (y - s.y) ** 2 + (x - s.x) ** 2 <= s.r ** 2) cls = s.cls;
          labels[b * S + v] = cls;
          const o = (b * S + v) * C;
          for (let c = 0; c < C; c++) logits[o + c] = (c === cls ? margin : 0) + noise * gaussian();
        }
      }
    }
  }
  return { logits, labels, shape: [B, D, H, W, C] };
}
