// npm start: the losses on a synthetic 3D multi-class volume, their gradients,
// the time they take, and what a naive float32 computation gets instead.
import { backend, diceLoss, generalizedDiceLoss, init, tverskyLoss } from "../src/index.js";
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

const common = { shape, softmax: true, toOnehotY: true, grad: true } as const;
const runs = [
  ["Dice", () => diceLoss(logits, labels, common)],
  ["Dice, no background", () => diceLoss(logits, labels, { ...common, includeBackground: false })],
  ["Jaccard", () => diceLoss(logits, labels, { ...common, jaccard: true })],
  ["Dice, squared denominator", () => diceLoss(logits, labels, { ...common, squaredPred: true })],
  ["Tversky α=0.3 β=0.7", () => tverskyLoss(logits, labels, { ...common, alpha: 0.3, beta: 0.7 })],
  ["generalized Dice", () => generalizedDiceLoss(logits, labels, common)],
] as const;

const rows = runs.map(([name, run]) => {
  run(); // warm-up: compile and allocate once
  const start = performance.now();
  const { loss, grad } = run();
  const ms = performance.now() - start;
  let norm = 0;
  for (const g of grad!) norm += g * g;
  return {
    loss: loss.toPrecision(9),
    "‖grad‖₂": Math.sqrt(norm).toExponential(3),
    "loss + grad (ms)": ms.toFixed(1),
    name,
  };
});
console.table(Object.fromEntries(rows.map(({ name, ...r }) => [name, r])));

// The same Dice loss the common way: softmax, then sequential float32 sums and 1 − 2I/(ΣP + ΣG).
const C = classes;
const S = labels.length;
const f = Math.fround;
const [inter, sumP, sumG] = [new Float32Array(C), new Float32Array(C), new Float32Array(C)];
const start = performance.now();
for (let v = 0; v < S; v++) {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < C; c++) max = Math.max(max, logits[v * C + c]!);
  let total = 0;
  for (let c = 0; c < C; c++) total += Math.exp(logits[v * C + c]! - max);
  for (let c = 0; c < C; c++) {
    const p = f(Math.exp(logits[v * C + c]! - max) / total);
    const g = labels[v] === c ? 1 : 0;
    inter[c] = f(inter[c]! + f(p * g));
    sumP[c] = f(sumP[c]! + p);
    sumG[c] = f(sumG[c]! + g);
  }
}
let naive = 0;
for (let c = 0; c < C; c++) naive += f(1 - f(f(2 * inter[c]! + 1e-5) / f(sumP[c]! + sumG[c]! + 1e-5)));
naive /= C;
const ms = performance.now() - start;
const ours = diceLoss(logits, labels, { ...common, grad: false }).loss;
console.log("\nDice loss, the same data:");
console.log(`  dice-wasm (Kahan-compensated sums, float64 algebra): ${ours.toPrecision(9)}`);
console.log(`  naive JS float32 loop, value only:                   ${naive.toPrecision(9)}  (${ms.toFixed(0)} ms)`);
console.log(`  relative difference: ${(Math.abs(naive - ours) / ours).toExponential(2)}`);
