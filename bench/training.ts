// npm run bench:training: the training step — loss + gradient from logits —
// against PyTorch on the CPU (MONAI's DiceLoss formula, 1 and 2 threads) and
// the same loss from tf ops on tfjs's wasm backend, all in the same run, every
// contender checked against the float64 reference first. Writes its tables
// into docs/BENCHMARKS.md between the <!-- training --> markers.
//   BENCH_SIDE=96 npm run bench:training   for a quicker run (default 128)
//   BENCH_ONLY=family npm run bench:training   one group: step, classes, ce or family
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-layers"; // the gradients of tfjs's own ops
import * as tf from "@tensorflow/tfjs-core";
import { type Contender, environment, type Group, type Row, runGroup, saveJson } from "../src/bench/harness.js";
import { environmentLine, writeSection } from "../src/bench/report.js";
import { createVolume, diceCELoss, diceFocalLoss, diceLoss, focalLoss, init } from "../src/index.js";
import { referenceLoss } from "../src/reference/losses.js";
import { syntheticVolume } from "../src/synthetic.js";
import { coreOptions } from "../src/tfjs/arguments.js";
import * as ops from "../src/tfjs/index.js";
import { startTorch, type TorchPeer } from "./torch-peer.js";

const SIDE = Number(process.env.BENCH_SIDE ?? 128);
const N = SIDE ** 3;
const ROUNDS = 5;
const TIME = 300;
const ONLY = process.env.BENCH_ONLY;
/** Whether the group `name` runs (BENCH_ONLY picks one). */
const wanted = (name: string) => !ONLY || ONLY === name;
await init();
await tf.setBackend("wasm");
await tf.ready();
await ops.registerDiceOps();

interface Result {
  group: Group;
  rows: Row[];
  /** logits per call, for ns per logit */
  logits: number;
}
const results: Result[] = [];

/** A check that `value()` is within `tol` (relative) of the float64 loss `exact`; for us and for peers. */
const checkWith = (exact: number, tol: number) => (name: string, value: () => number) => () => {
  const got = value();
  if (!(Math.abs(got - exact) <= tol * exact)) throw new Error(`${name}: ${got}, float64 reference ${exact}`);
};

/** A contender of ours, checked against the float64 loss `exact` to `tol` before it is timed. */
function checked(name: string, exact: number, run: () => number, tol = 1e-5): Contender {
  return { name, run, check: checkWith(exact, tol)(name, run) };
}

/** A tfjs training step's loss part: value and gradient of `f` at `x`, the gradient left on the backend. */
function tfStep(x: tf.Tensor, f: (z: tf.Tensor) => tf.Tensor): () => number {
  const vg = tf.valueAndGrad(f);
  return () => {
    const { value, grad } = vg(x);
    const loss = value.dataSync()[0]!;
    tf.dispose([value, grad]);
    return loss;
  };
}

/** The synthetic volume for C classes (one class: sigmoid logits and a mask). */
function volume(C: number) {
  const s = syntheticVolume({ size: [SIDE, SIDE, SIDE], classes: Math.max(C, 2), seed: C });
  if (C > 1) return { logits: s.logits, labels: s.labels, mask: undefined };
  const logits = Float32Array.from({ length: N }, (_, v) => s.logits[2 * v + 1]! - s.logits[2 * v]!);
  return { logits, labels: undefined, mask: Float32Array.from(s.labels) };
}

/** Ours in wasm memory and from JS arrays, with a reused gradient array, plus PyTorch. */
async function stepGroup(C: number, title: string, extra: (peer: TorchPeer | undefined) => Contender[] = () => []) {
  const { logits, labels, mask } = volume(C);
  const target = labels ?? mask!;
  const shape = [1, SIDE, SIDE, SIDE, C];
  const o = { shape, softmax: C > 1, sigmoid: C === 1, toOnehotY: C > 1 };
  const exact = referenceLoss("dice", logits, target, o) as number;
  const x = createVolume(N * C);
  x.array.set(logits);
  const t = labels ? createVolume(N, "uint8") : createVolume(N);
  t.array.set(target);
  const g = createVolume(N * C);
  const reused = new Float32Array(N * C);
  const peer = await startTorch({ logits, target, shape: [1, SIDE, SIDE, SIDE, C] });
  const contenders = [
    checked("dice-wasm, arrays in wasm memory", exact, () => diceLoss(x, t, { ...o, grad: g }).loss),
    checked("dice-wasm, JS arrays", exact, () => diceLoss(logits, target, { ...o, grad: reused }).loss),
    ...(peer?.contenders(true, checkWith(exact, 1e-4)) ?? []),
    ...extra(peer),
  ];
  const group: Group = {
    title,
    voxels: N,
    bytes: N * C * 4,
    peer: peer ? contenders[2]!.name : contenders[0]!.name,
    contenders,
  };
  results.push({ group, rows: await runGroup(group, ROUNDS, TIME), logits: N * C });
  peer?.close();
  for (const v of [x, t, g]) v.free();
}

// 1. The training step of the issue: [1, S³, 4] softmax logits and a label map, against PyTorch and tf ops.
if (wanted("step")) {
  const C = 4;
  const { logits, labels } = volume(C);
  const shape = [1, SIDE, SIDE, SIDE, C];
  const exact = referenceLoss("dice", logits, labels!, { shape, softmax: true, toOnehotY: true }) as number;
  const xt = tf.tensor(logits, shape);
  const yt = tf.tensor(Int32Array.from(labels!), shape.slice(0, 4), "int32");
  const resolved = coreOptions("dice", yt, xt, { softmax: true });
  await stepGroup(C, `Dice loss + gradient, [1, ${SIDE}³, ${C}] softmax logits, label map`, () => [
    checked(
      "dice-wasm/tfjs op, tfjs wasm (int32 labels)",
      exact,
      tfStep(xt, (z) => ops.diceLoss(yt, z, { softmax: true })),
    ),
    // tfjs-wasm sums in float32, one after another: its loss is off by ~1e-4
    checked(
      "tf ops + autodiff, tfjs wasm",
      exact,
      tfStep(xt, (z) => ops.compositeLoss("dice", yt, z, resolved, false)),
      1e-2,
    ),
  ]);
  tf.dispose([xt, yt]);
}

// 2. ns per logit over class counts (softmax, channels-last) and the sigmoid with one class.
for (const C of wanted("classes") ? [1, 2, 3, 8] : []) {
  await stepGroup(
    C,
    `Dice loss + gradient, [1, ${SIDE}³, ${C}] ${C === 1 ? "sigmoid logits, float mask" : "softmax logits, label map"}`,
  );
}

// 3. Dice + cross-entropy against Dice alone, in wasm memory and as tfjs ops.
if (wanted("ce")) {
  const C = 4;
  const { logits, labels } = volume(C);
  const shape = [1, SIDE, SIDE, SIDE, C];
  const o = { shape, softmax: true, toOnehotY: true };
  const x = createVolume(N * C);
  x.array.set(logits);
  const t = createVolume(N, "uint8");
  t.array.set(labels!);
  const g = createVolume(N * C);
  const xt = tf.tensor(logits, shape);
  const yt = tf.tensor(Int32Array.from(labels!), shape.slice(0, 4), "int32");
  const exactDice = referenceLoss("dice", logits, labels!, o) as number;
  const exactCE = referenceLoss("diceCE", logits, labels!, o) as number;
  const contenders = [
    checked("diceLoss, arrays in wasm memory", exactDice, () => diceLoss(x, t, { ...o, grad: g }).loss),
    checked("diceCELoss, arrays in wasm memory", exactCE, () => diceCELoss(x, t, { ...o, grad: g }).loss),
    checked(
      "diceLoss, tfjs wasm",
      exactDice,
      tfStep(xt, (z) => ops.diceLoss(yt, z, { softmax: true })),
    ),
    checked(
      "diceCELoss, tfjs wasm",
      exactCE,
      tfStep(xt, (z) => ops.diceCELoss(yt, z, { softmax: true })),
    ),
  ];
  const group: Group = {
    title: `Dice + cross-entropy against Dice, loss + gradient, [1, ${SIDE}³, ${C}] softmax, label map`,
    voxels: N,
    bytes: N * C * 4,
    peer: contenders[0]!.name,
    contenders,
  };
  results.push({ group, rows: await runGroup(group, ROUNDS, TIME), logits: N * C });
  tf.dispose([xt, yt]);
  for (const v of [x, t, g]) v.free();
}

// 4. The loss family against Dice: ignoreIndex, focal, Dice + focal; and the same losses from tf ops.
if (wanted("family")) {
  const C = 4;
  const { logits, labels } = volume(C);
  const shape = [1, SIDE, SIDE, SIDE, C];
  // one voxel in 20 left out with label 255, as an unlabelled border would be
  const ignored = Uint8Array.from(labels!, (l, v) => (v % 20 === 7 ? 255 : l));
  const o = { shape, softmax: true, toOnehotY: true };
  const x = createVolume(N * C);
  x.array.set(logits);
  const t = createVolume(N, "uint8");
  t.array.set(labels!);
  const ti = createVolume(N, "uint8");
  ti.array.set(ignored);
  const g = createVolume(N * C);
  const xt = tf.tensor(logits, shape);
  const yt = tf.tensor(Int32Array.from(labels!), shape.slice(0, 4), "int32");
  const focalOptions = { shape, toOnehotY: true, useSoftmax: true };
  const peer = await startTorch({ logits, target: labels!, shape: [1, SIDE, SIDE, SIDE, C], loss: "diceFocal" });
  const exact = {
    dice: referenceLoss("dice", logits, labels!, o) as number,
    ignored: referenceLoss("dice", logits, ignored, { ...o, ignoreIndex: 255 }) as number,
    focal: referenceLoss("focal", logits, labels!, focalOptions) as number,
    sigmoidFocal: referenceLoss("focal", logits, labels!, { shape, toOnehotY: true }) as number,
    diceFocal: referenceLoss("diceFocal", logits, labels!, o) as number,
  };
  const contenders = [
    checked("diceLoss, arrays in wasm memory", exact.dice, () => diceLoss(x, t, { ...o, grad: g }).loss),
    checked(
      "diceLoss with ignoreIndex",
      exact.ignored,
      () => diceLoss(x, ti, { ...o, ignoreIndex: 255, grad: g }).loss,
    ),
    checked("focalLoss, softmax", exact.focal, () => focalLoss(x, t, { ...focalOptions, grad: g }).loss),
    checked(
      "focalLoss, sigmoid (MONAI's default)",
      exact.sigmoidFocal,
      () => focalLoss(x, t, { shape, toOnehotY: true, grad: g }).loss,
    ),
    checked("diceFocalLoss", exact.diceFocal, () => diceFocalLoss(x, t, { ...o, grad: g }).loss),
    // PyTorch's MONAI DiceFocalLoss arithmetic, 1 and 2 threads
    ...(peer?.contenders(true, checkWith(exact.diceFocal, 1e-4)) ?? []),
    checked(
      "diceFocalLoss, tf ops on tfjs wasm",
      exact.diceFocal,
      tfStep(xt, (z) => ops.diceFocalLoss(yt, z, { softmax: true })),
      1e-2, // tfjs-wasm sums in float32, one after another
    ),
    checked(
      "focalLoss, softmax, tf ops on tfjs wasm",
      exact.focal,
      tfStep(xt, (z) => ops.focalLoss(yt, z, { useSoftmax: true })),
      1e-2,
    ),
  ];
  const group: Group = {
    title: `The loss family against Dice, loss + gradient, [1, ${SIDE}³, ${C}] softmax logits, label map`,
    voxels: N,
    bytes: N * C * 4,
    peer: contenders[0]!.name,
    contenders,
  };
  results.push({ group, rows: await runGroup(group, ROUNDS, TIME), logits: N * C });
  peer?.close();
  tf.dispose([xt, yt]);
  for (const v of [x, t, ti, g]) v.free();
}

const env = environment();
console.log(`\nresults: ${saveJson("training", { env, results })}`);
// one group alone is printed, not written over the whole section of docs/BENCHMARKS.md
if (ONLY) console.log(render(results));
else writeSection("docs/BENCHMARKS.md", "training", render(results));

/** Markdown: one table per group, our rows in bold, ns per logit and the ratio to the group's peer. */
function render(all: Result[]): string {
  const parts = [`${environmentLine(env)} \`npm run bench:training\` (BENCH_SIDE=${SIDE}).`, ""];
  for (const { group, rows, logits } of all) {
    parts.push(`### ${group.title}`, "");
    parts.push(`| contender | median ms | ns per logit | × ${group.peer} |`, "|---|---|---|---|");
    for (const r of rows) {
      const ours = /^(dice|focal)/.test(r.name) && !r.name.includes("tf ops");
      const cells = [r.name, r.medianMs.toFixed(2), ((r.medianMs * 1e6) / logits).toFixed(2), r.ratioToPeer.toFixed(2)];
      parts.push(`| ${cells.map((c) => (ours ? `**${c}**` : c)).join(" | ")} |`);
    }
    parts.push("");
  }
  return parts.join("\n");
}
