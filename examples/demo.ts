// npm start: the losses on a synthetic 3D multi-class volume, their gradients,
// the time they take, and what a naive float32 computation gets instead.
import {
  backend,
  diceCELoss,
  diceFocalLoss,
  diceLoss,
  focalLoss,
  generalizedDiceLoss,
  init,
  tverskyLoss,
} from "../src/index.js";
import { syntheticVolume } from "../src/synthetic.js";

const size = [128, 128, 128] as const;
const classes = 4;
await init();
console.log(
  `dice-wasm demo: synthetic ${size.join("×")} volume, ${classes} classes, channels-last, ${backend()} kernels`,
);
const t0 = performance.now();
const { logits, labels, shape } = syntheticVolume({ size, classes, seed: 42 });
console.log(
  `volume made in ${(performance.now() - t0).toFixed(0)} ms: ${(logits.byteLength / 2 ** 20).toFixed(0)} MiB of logits, ${(labels.byteLength / 2 ** 20).toFixed(0)} MiB of labels\n`,
);

// the same labels with the first and last 8 slices of x unlabelled (255), as a partly annotated scan
const unlabelled = labels.map((l, v) => (v % size[2] < 8 || v % size[2] >= size[2] - 8 ? 255 : l));
// one gradient array for every call, as a training loop would keep it
const grad = new Float32Array(logits.length);
const common = { shape, softmax: true, toOnehotY: true, grad } as const;
const runs = [
  ["Dice", () => diceLoss(logits, labels, common)],
  ["Dice, no background", () => diceLoss(logits, labels, { ...common, includeBackground: false })],
  ["Jaccard", () => diceLoss(logits, labels, { ...common, jaccard: true })],
  ["Dice, squared denominator", () => diceLoss(logits, labels, { ...common, squaredPred: true })],
  ["Tversky α=0.3 β=0.7", () => tverskyLoss(logits, labels, { ...common, alpha: 0.3, beta: 0.7 })],
  ["generalized Dice", () => generalizedDiceLoss(logits, labels, common)],
  ["Dice + cross-entropy", () => diceCELoss(logits, labels, common)],
  ["focal (softmax), γ = 2", () => focalLoss(logits, labels, { shape, toOnehotY: true, useSoftmax: true, grad })],
  ["Dice + focal (MONAI's)", () => diceFocalLoss(logits, labels, common)],
  ["Dice, border slices ignored", () => diceLoss(logits, unlabelled, { ...common, ignoreIndex: 255 })],
] as const;

const rows = runs.map(([name, run]) => {
  run(); // warm-up
  const start = performance.now();
  const { loss } = run();
  const ms = performance.now() - start;
  let norm = 0;
  for (const g of grad) norm += g * g;
  return {
    loss: loss.toPrecision(9),
    "‖grad‖₂": Math.sqrt(norm).toExponential(3),
    "loss + grad (ms)": ms.toFixed(1),
    name,
  };
});
console.table(Object.fromEntries(rows.map(({ name, ...r }) => [name, r])));

// The same Dice loss two other ways: the common one (softmax, then sequential
// float32 sums and 1 − 2I/(ΣP + ΣG)), and float64 throughout as the reference.
const C = classes;
const S = labels.length;
const f = Math.fround;
const naive = { inter: new Float32Array(C), p: new Float32Array(C), g: new Float32Array(C) };
const exact = { inter: new Float64Array(C), p: new Float64Array(C), g: new Float64Array(C) };
for (let v = 0; v < S; v++) {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < C; c++) max = Math.max(max, logits[v * C + c]!);
  let total = 0;
  for (let c = 0; c < C; c++) total += Math.exp(logits[v * C + c]! - max);
  for (let c = 0; c < C; c++) {
    const p = Math.exp(logits[v * C + c]! - max) / total;
    const g = labels[v] === c ? 1 : 0;
    naive.inter[c] = f(naive.inter[c]! + f(f(p) * g));
    naive.p[c] = f(naive.p[c]! + f(p));
    naive.g[c] = f(naive.g[c]! + g);
    exact.inter[c] = exact.inter[c]! + p * g;
    exact.p[c] = exact.p[c]! + p;
    exact.g[c] = exact.g[c]! + g;
  }
}
const dice = (s: Record<"inter" | "p" | "g", ArrayLike<number>>, round: (x: number) => number) => {
  let sum = 0;
  for (let c = 0; c < C; c++) sum += round(1 - round(round(2 * s.inter[c]! + 1e-5) / round(s.p[c]! + s.g[c]! + 1e-5)));
  return sum / C;
};
const reference = dice(exact, (x) => x);
const ours = diceLoss(logits, labels, { ...common, grad: false }).loss;
const common32 = dice(naive, f);
const error = (x: number) => (Math.abs(x - reference) / reference).toExponential(1);
console.log("\nDice loss of the same data, three ways:");
console.log(`  float64 throughout (reference):            ${reference.toPrecision(9)}`);
console.log(`  dice-wasm (compensated float32 sums):      ${ours.toPrecision(9)}   relative error ${error(ours)}`);
console.log(
  `  the common way (sequential float32 sums):  ${common32.toPrecision(9)}   relative error ${error(common32)}`,
);
