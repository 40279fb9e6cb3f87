// The demo page: trains examples/segmentation.ts's network on synthetic scans
// with our loss, drawing the loss curve, per-class Dice and a slice as it goes.
// ?epochs=N sets the length; window.demo exposes the run for the browser test.
import "@tensorflow/tfjs-layers";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import plainWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import simdWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import threadedWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import * as tf from "@tensorflow/tfjs-core";
import { coreOptions } from "../../src/tfjs/arguments.js";
import { compositeLoss, diceLoss, generalizedDiceLoss, registerDiceOps } from "../../src/tfjs/index.js";
import { segmentationData, segmentationModel } from "../segmentation.js";

const [SIZE, CLASSES] = [32, 3];
const EPOCHS = Number(new URLSearchParams(location.search).get("epochs") ?? 30);
const COLORS = [
  [20, 20, 20],
  [230, 90, 60],
  [60, 150, 230],
];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const demo = { losses: [] as number[], done: Promise.resolve(), running: 0 };
declare global {
  interface Window {
    demo: typeof demo;
  }
}
window.demo = demo;

function status(text: string, fraction?: number): void {
  $("status").textContent = text;
  if (fraction !== undefined) $<HTMLProgressElement>("progress").value = fraction;
}

function lossOf(kind: string) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor) =>
    (kind === "dice" ? diceLoss : generalizedDiceLoss)(yTrue, yPred, { softmax: true }) as tf.Scalar;
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
    const x = 10 + (i / Math.max(1, EPOCHS - 1)) * (canvas.width - 20);
    const y = canvas.height - 10 - (l / top) * (canvas.height - 20);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#222";
  g.fillText(`${losses.at(-1)?.toFixed(4) ?? ""}`, canvas.width - 60, 14);
}

/** The middle axial slice of class ids [D, H, W] as colours. */
function drawSlice(id: string, classIds: Int32Array | Float32Array | Uint8Array): void {
  const canvas = $<HTMLCanvasElement>(id);
  const small = new ImageData(SIZE, SIZE);
  const z = SIZE >> 1;
  for (let i = 0; i < SIZE * SIZE; i++) {
    const [r, g, b] = COLORS[classIds[z * SIZE * SIZE + i]!]!;
    small.data.set([r!, g!, b!, 255], i * 4);
  }
  const g = canvas.getContext("2d")!;
  const bitmap = document.createElement("canvas");
  bitmap.width = bitmap.height = SIZE;
  bitmap.getContext("2d")!.putImageData(small, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
}

function table(id: string, rows: string[][]): void {
  const t = $<HTMLTableElement>(id);
  const caption = t.caption?.outerHTML ?? "";
  t.innerHTML =
    caption + rows.map((r, i) => `<tr>${r.map((c) => (i ? `<td>${c}</td>` : `<th>${c}</th>`)).join("")}</tr>`).join("");
}

/** Median ms of loss + gradient, our op against the tf-ops version, on a model-sized batch. */
function timing(kind: string): void {
  const logits = tf.randomNormal([2, SIZE, SIZE, SIZE, CLASSES], 0, 1, "float32", 1);
  const labels = tf.randomUniformInt([2, SIZE, SIZE, SIZE], 0, CLASSES, 2) as tf.Tensor;
  const resolved = coreOptions(kind as "dice", labels, logits, { softmax: true });
  const time = (f: (x: tf.Tensor) => tf.Tensor) => {
    const step = tf.valueAndGrad(f);
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const { value, grad } = step(logits);
      value.dataSync();
      ms.push(performance.now() - t0);
      tf.dispose([value, grad]);
    }
    return ms.sort((a, b) => a - b)[2]!;
  };
  const ours = time((x) => lossOf(kind)(labels, x));
  const theirs = time((x) => compositeLoss(kind as "dice", labels, x, resolved, false));
  table("timing", [
    ["", "ms", "×"],
    ["dice-wasm kernels", ours.toFixed(1), (theirs / ours).toFixed(1)],
    ["tf ops + autodiff", theirs.toFixed(1), "1.0"],
  ]);
  tf.dispose([logits, labels]);
}

async function train(kind: string, run: number): Promise<void> {
  status("making synthetic scans…", 0);
  await tf.nextFrame();
  const data = segmentationData(SIZE, CLASSES, 2, 1);
  const model = segmentationModel(SIZE, CLASSES);
  const optimizer = tf.train.adam(0.02);
  drawSlice("label", data.labelMap.dataSync() as Int32Array);
  timing(kind);
  demo.losses = [];
  for (let epoch = 0; epoch < EPOCHS && run === demo.running; epoch++) {
    const loss = optimizer.minimize(() => lossOf(kind)(data.labels, model.apply(data.images) as tf.Tensor), true)!;
    demo.losses.push(loss.dataSync()[0]!);
    loss.dispose();
    const [perClass, predicted] = tf.tidy(() => {
      const ids = tf.argMax(model.predict(data.images) as tf.Tensor, -1);
      const oneHot = tf.cast(tf.oneHot(ids, CLASSES), "float32");
      const perClassLoss = diceLoss(data.labels, oneHot, { reduction: "none", batch: true });
      return [perClassLoss.dataSync(), tf.slice(ids, [0], [1]).dataSync()];
    });
    drawCurve(demo.losses);
    drawSlice("prediction", predicted as Int32Array);
    table("dice", [
      ["class", ...["background", "1", "2"]],
      ["Dice", ...Array.from(perClass, (l) => (1 - l).toFixed(3))],
    ]);
    status(`epoch ${epoch + 1} of ${EPOCHS}, loss ${demo.losses.at(-1)!.toFixed(4)}`, (epoch + 1) / EPOCHS);
    await tf.nextFrame();
  }
  if (run === demo.running)
    status(`done: ${EPOCHS} epochs, loss ${demo.losses[0]!.toFixed(4)} → ${demo.losses.at(-1)!.toFixed(4)}`, 1);
  model.dispose();
  optimizer.dispose();
  tf.dispose(Object.values(data));
}

function start(): void {
  const run = ++demo.running;
  demo.done = train($<HTMLSelectElement>("loss").value, run);
}

setWasmPaths({
  "tfjs-backend-wasm.wasm": plainWasm,
  "tfjs-backend-wasm-simd.wasm": simdWasm,
  "tfjs-backend-wasm-threaded-simd.wasm": threadedWasm,
});
await tf.setBackend("wasm");
await registerDiceOps();
$("restart").addEventListener("click", start);
$("loss").addEventListener("change", start);
start();
