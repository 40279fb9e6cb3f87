// The demo page: trains examples/unet3d.ts's 3D U-Net on synthetic scans, on
// the tfjs wasm backend with our Conv3D kernels and loss, until every structure
// reaches the goal Dice on held-out scans; draws the loss curve, per-class Dice
// and a slice as it goes, then times one whole training step with and without
// our kernels. ?seconds=N caps the training time; window.demo exposes the run
// for the browser test.
import "@tensorflow/tfjs-layers";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import plainWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import simdWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import threadedWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import * as tf from "@tensorflow/tfjs-core";
import type { LayersModel } from "@tensorflow/tfjs-layers";
import { coreOptions } from "../../src/tfjs/arguments.js";
import {
  compositeLoss,
  diceCELoss,
  diceLoss,
  registerConv3D,
  registerDiceOps,
  unregisterConv3D,
} from "../../src/tfjs/index.js";
import { type SegmentationData, segmentationData } from "../segmentation.js";
import { unet3d } from "../unet3d.js";

const [SIZE, CLASSES, TRAIN_SCANS, FILTERS, GOAL] = [32, 4, 8, 8, 0.8];
const SECONDS = Number(new URLSearchParams(location.search).get("seconds") ?? 180);
const NAMES = ["background", "1", "2", "3"];
const COLORS = [
  [20, 20, 20],
  [230, 90, 60],
  [60, 150, 230],
  [240, 200, 60],
];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The run, for the browser test: training losses, the latest held-out Dice per class, the outcome. */
const demo = { losses: [] as number[], dice: [] as number[], reached: false, done: Promise.resolve(), running: 0 };
declare global {
  interface Window {
    demo: typeof demo;
  }
}
window.demo = demo;

/** Dice + cross-entropy (nnU-Net's choice): Dice alone leaves the middle-intensity structure unlearnt here. */
const loss = (labels: tf.Tensor, logits: tf.Tensor) => diceCELoss(labels, logits, { softmax: true }) as tf.Scalar;

function status(text: string, fraction?: number): void {
  $("status").textContent = text;
  if (fraction !== undefined) $<HTMLProgressElement>("progress").value = fraction;
}

function drawCurve(losses: number[]): void {
  const canvas = $<HTMLCanvasElement>("curve");
  const g = canvas.getContext("2d")!;
  g.clearRect(0, 0, canvas.width, canvas.height);
  const top = Math.max(...losses, 1e-3);
  g.strokeStyle = "#2a6";
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((l, i) => {
    const x = 10 + (i / Math.max(1, losses.length - 1)) * (canvas.width - 20);
    const y = canvas.height - 10 - (l / top) * (canvas.height - 20);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#222";
  g.fillText(`max ${top.toFixed(3)}, last ${losses.at(-1)?.toFixed(4) ?? ""}`, 10, 14);
}

/** Slice z of class ids [D, H, W], each class in its colour (the same in every drawing). */
function drawSlice(id: string, classIds: ArrayLike<number>, z: number): void {
  const small = new ImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const [r, g, b] = COLORS[classIds[z * SIZE * SIZE + i]!]!;
    small.data.set([r!, g!, b!, 255], i * 4);
  }
  const bitmap = document.createElement("canvas");
  bitmap.width = bitmap.height = SIZE;
  bitmap.getContext("2d")!.putImageData(small, 0, 0);
  const g = $<HTMLCanvasElement>(id).getContext("2d")!;
  g.imageSmoothingEnabled = false;
  g.drawImage(bitmap, 0, 0, g.canvas.width, g.canvas.height);
}

/** The axial slice showing the most foreground classes, then the most foreground voxels. */
function bestSlice(classIds: ArrayLike<number>): number {
  const area = SIZE * SIZE;
  let [best, bestScore] = [0, -1];
  for (let z = 0; z < SIZE; z++) {
    const slice = Array.from({ length: area }, (_, i) => classIds[z * area + i]!).filter((c) => c > 0);
    const score = new Set(slice).size * area + slice.length;
    if (score > bestScore) [best, bestScore] = [z, score];
  }
  return best;
}

function table(id: string, rows: string[][]): void {
  const t = $<HTMLTableElement>(id);
  const caption = t.caption?.outerHTML ?? "";
  t.innerHTML =
    caption + rows.map((r, i) => `<tr>${r.map((c) => (i ? `<td>${c}</td>` : `<th>${c}</th>`)).join("")}</tr>`).join("");
}

/** Per-class Dice of the model's hard prediction on `data`, and the class ids of its first scan. */
function evaluate(model: LayersModel, data: SegmentationData): [number[], ArrayLike<number>] {
  const [perClassLoss, firstScan] = tf.tidy(() => {
    const ids = tf.argMax(model.predict(data.images) as tf.Tensor, -1);
    const oneHot = tf.cast(tf.oneHot(ids, CLASSES), "float32");
    return [diceLoss(data.labels, oneHot, { reduction: "none", batch: true }), tf.slice(ids, [0], [1])];
  });
  const result: [number[], ArrayLike<number>] = [
    Array.from(perClassLoss.dataSync(), (l) => 1 - l),
    firstScan.dataSync(),
  ];
  tf.dispose([perClassLoss, firstScan]);
  return result;
}

/**
 * Median ms of one training step (forward and backward through the U-Net and
 * the loss, gradients left on the backend) with our Conv3D and MaxPool3D
 * kernels and loss, with tfjs's kernels, and with tfjs's kernels and the loss
 * from tf ops.
 */
async function timing(model: LayersModel, data: SegmentationData): Promise<void> {
  const [x, y] = [tf.slice(data.images, 0, 1), tf.slice(data.labels, 0, 1)];
  try {
    const logits = { shape: [...y.shape], dtype: "float32" as const }; // what the options are checked against
    const resolved = coreOptions("diceCE", y, logits, { softmax: true });
    const time = (lossOf: (logits: tf.Tensor) => tf.Tensor) => {
      const ms: number[] = [];
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        const { value, grads } = tf.variableGrads(() => lossOf(model.apply(x) as tf.Tensor) as tf.Scalar);
        value.dataSync();
        if (i) ms.push(performance.now() - t0); // the first run warms up
        tf.dispose([value, ...Object.values(grads)]);
      }
      return ms.sort((a, b) => a - b)[1]!;
    };
    const ours = time((logits) => loss(y, logits));
    unregisterConv3D();
    try {
      const theirKernels = time((logits) => loss(y, logits));
      const theirs = time((logits) => compositeLoss("diceCE", y, logits, resolved, false));
      const tfjs = "tfjs-wasm (wrong gradients)";
      table("timing", [
        ["Conv3D and MaxPool3D kernels", "loss", "ms", "×"],
        ["dice-wasm", "dice-wasm", ours.toFixed(0), "1.0"],
        [tfjs, "dice-wasm", theirKernels.toFixed(0), (theirKernels / ours).toFixed(1)],
        [tfjs, "tf ops + autodiff", theirs.toFixed(0), (theirs / ours).toFixed(1)],
      ]);
    } finally {
      await registerConv3D();
    }
  } finally {
    tf.dispose([x, y]);
  }
}

async function train(run: number): Promise<void> {
  status("making synthetic scans…", 0);
  await tf.nextFrame();
  const data = segmentationData(SIZE, CLASSES, TRAIN_SCANS, 1);
  const heldOut = segmentationData(SIZE, CLASSES, 1, 7);
  const model = unet3d({ size: SIZE, classes: CLASSES, filters: FILTERS, classFrequencies: data.frequencies });
  const optimizer = tf.train.adam(0.003);
  try {
    const truth = heldOut.labelMap.dataSync();
    const z = bestSlice(truth);
    drawSlice("label", truth, z);
    Object.assign(demo, { losses: [], dice: [], reached: false });
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    while (run === demo.running && !demo.reached && seconds() < SECONDS) {
      let total = 0;
      for (let i = 0; i < TRAIN_SCANS; i++) {
        const [x, y] = [tf.slice(data.images, i, 1), tf.slice(data.labels, i, 1)];
        const value = optimizer.minimize(() => loss(y, model.apply(x) as tf.Tensor), true)!;
        total += value.dataSync()[0]!;
        tf.dispose([x, y, value]);
      }
      demo.losses.push(total / TRAIN_SCANS);
      const [dice, predicted] = evaluate(model, heldOut);
      demo.dice = dice;
      demo.reached = dice.slice(1).every((d) => d >= GOAL);
      drawCurve(demo.losses);
      drawSlice("prediction", predicted, z);
      table("dice", [
        [
          "class",
          ...NAMES.map((name, c) => `<span class="swatch" style="background:rgb(${COLORS[c]})"></span>${name}`),
        ],
        ["Dice", ...dice.map((d) => d.toFixed(3))],
      ]);
      const worst = Math.min(...dice.slice(1));
      status(
        `epoch ${demo.losses.length}, ${seconds().toFixed(0)} s: loss ${demo.losses.at(-1)!.toFixed(4)}, lowest structure Dice ${worst.toFixed(3)}`,
        Math.min(1, worst / GOAL),
      );
      await tf.nextFrame();
    }
    if (run === demo.running) {
      const outcome = demo.reached
        ? `every structure reached Dice ≥ ${GOAL} on the held-out scan after ${demo.losses.length} epochs (${seconds().toFixed(0)} s)`
        : `stopped after ${seconds().toFixed(0)} s below the goal of Dice ≥ ${GOAL}`;
      status(`${outcome}; timing one training step…`);
      await tf.nextFrame();
      await timing(model, data);
      status(`done: ${outcome}`, 1);
    }
  } catch (error) {
    status(`failed: ${error}`);
    throw error;
  } finally {
    model.dispose();
    optimizer.dispose();
    tf.dispose([...Object.values(data), ...Object.values(heldOut)]);
  }
}

function start(): void {
  const run = ++demo.running;
  demo.done = train(run);
}

setWasmPaths({
  "tfjs-backend-wasm.wasm": plainWasm,
  "tfjs-backend-wasm-simd.wasm": simdWasm,
  "tfjs-backend-wasm-threaded-simd.wasm": threadedWasm,
});
await tf.setBackend("wasm");
await registerDiceOps();
$("restart").addEventListener("click", start);
start();
