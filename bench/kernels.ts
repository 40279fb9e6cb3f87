// npm run bench:kernels: the statistics kernels against the memory-bandwidth ceiling (a
// plain f32x4 sum over the same bytes) and against a plain JS float64 loop.

import { ceilingSum } from "../src/bench/ceiling.js";
import { type Contender, type Group, type Row, runGroup, saveResults } from "../src/bench/harness.js";
import { createVolume, type DataOptions, diceLoss, diceMetric, init, overlapStats } from "../src/index.js";
import { syntheticVolume } from "../src/synthetic.js";
import { startTorch } from "./torch-peer.js";

const SIDE = Number(process.env.BENCH_SIDE ?? 256);
const N = SIDE ** 3;
await init();
const sumPlain = await ceilingSum();
const results: Array<{ group: Group; rows: Row[] }> = [];

function close(a: number, b: number, what: string): void {
  if (!(Math.abs(a - b) <= 1e-5 * Math.abs(b))) throw new Error(`${what}: ${a} vs ${b}`);
}

/** Channels-last softmax probabilities of `logits` into `out`, in float64 then rounded. */
function softmaxInto(logits: Float32Array, C: number, out: Float32Array): void {
  for (let v = 0; v < logits.length / C; v++) {
    let total = 0;
    for (let c = 0; c < C; c++) total += Math.exp(logits[v * C + c]!);
    for (let c = 0; c < C; c++) out[v * C + c] = Math.exp(logits[v * C + c]!) / total;
  }
}

const CEILING = "plain f32x4 sum (ceiling)";

/** The bandwidth ceiling: a plain f32x4 sum over `floats` floats at byte offset `ptr`. */
function ceiling(ptr: number, floats: number): Contender {
  return { name: CEILING, run: () => sumPlain(ptr, floats) };
}

/** overlapStats on (p, t), checked against the expected tp of class 0. */
function stats(p: Float32Array, t: Float32Array | Uint8Array, options: DataOptions, tp0: number): Contender {
  return {
    name: "dice-wasm overlapStats",
    run: () => overlapStats(p, t, options),
    check: () => close(overlapStats(p, t, options).tp[0]!, tp0, "tp of class 0"),
  };
}

function jsStats(p: Float32Array, t: Float32Array): [number, number, number] {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const gi = t[i]!;
    tp += pi * gi;
    fp += pi * (1 - gi);
    fn += (1 - pi) * gi;
  }
  return [tp, fp, fn];
}

// --- one class, float mask, data already in wasm memory -----------------------
{
  const both = createVolume(2 * N); // p then t, so that the ceiling reads exactly these bytes
  const view = both.array;
  for (let i = 0; i < N; i++) {
    view[i] = Math.random();
    view[N + i] = Math.random() < 0.3 ? 1 : 0;
  }
  const p = view.subarray(0, N);
  const t = view.subarray(N);
  const shape = [1, SIDE, SIDE, SIDE, 1];
  const [tp] = jsStats(p, t);
  const group: Group = {
    title: `Statistics, ${SIDE}³ voxels, 1 class, float mask, in wasm memory (${(8 * N) / 2 ** 20} MiB read)`,
    voxels: N,
    bytes: 8 * N,
    peer: CEILING,
    contenders: [ceiling(both.byteOffset, 2 * N), stats(p, t, { shape }, tp)],
  };
  results.push({ group, rows: await runGroup(group) });

  // --- the same from ordinary JS arrays (streamed, copy included) ------------
  const jp = p.slice();
  const jt = t.slice();
  const copyGroup: Group = {
    title: `Statistics, ${SIDE}³ voxels, 1 class, float mask, from JS Float32Arrays (copy included)`,
    voxels: N,
    bytes: 8 * N,
    peer: CEILING,
    contenders: [
      ceiling(both.byteOffset, 2 * N),
      stats(jp, jt, { shape }, tp),
      { name: "JS float64 loop", run: () => jsStats(jp, jt), check: () => close(jsStats(jp, jt)[0], tp, "tp") },
    ],
  };
  results.push({ group: copyGroup, rows: await runGroup(copyGroup) });
  both.free();
}

// --- four classes, channels-last, one-hot float mask, in wasm memory --------
{
  const C = 4;
  const all = createVolume(2 * C * N); // predictions, then the mask
  const view = all.array;
  const { logits, labels } = syntheticVolume({ size: [SIDE, SIDE, SIDE], classes: C, seed: 3 });
  const probs = view.subarray(0, C * N);
  softmaxInto(logits, C, probs);
  for (let v = 0; v < N; v++) view[C * N + v * C + labels[v]!] = 1;
  const mask = view.subarray(C * N);
  const shape = [1, SIDE, SIDE, SIDE, C];
  let tp0 = 0;
  for (let v = 0; v < N; v++) if (labels[v] === 0) tp0 += probs[v * C]!;
  const group: Group = {
    title: `Statistics, ${SIDE}³ voxels, 4 classes channels-last, one-hot float mask, in wasm memory`,
    voxels: N,
    bytes: 8 * C * N,
    peer: CEILING,
    contenders: [ceiling(all.byteOffset, 2 * C * N), stats(probs, mask, { shape }, tp0)],
  };
  results.push({ group, rows: await runGroup(group) });
  all.free();
}

// --- four classes, channels-last, uint8 label map -----------------------------
{
  const C = 4;
  const floats = C * N + N / 4; // predictions, then one byte a voxel
  const all = createVolume(floats);
  const { logits, labels } = syntheticVolume({ size: [SIDE, SIDE, SIDE], classes: C, seed: 3 });
  const probs = all.array.subarray(0, C * N);
  softmaxInto(logits, C, probs);
  const map = new Uint8Array(all.array.buffer, all.byteOffset + 4 * C * N, N);
  map.set(labels);
  const shape = [1, SIDE, SIDE, SIDE, C];
  const opts = { shape, toOnehotY: true };
  let tp0 = 0;
  for (let v = 0; v < N; v++) if (map[v] === 0) tp0 += probs[v * C]!;
  const group: Group = {
    title: `Statistics, ${SIDE}³ voxels, 4 classes channels-last, uint8 labels, in wasm memory`,
    voxels: N,
    bytes: 4 * floats,
    peer: CEILING,
    contenders: [ceiling(all.byteOffset, floats), stats(probs, map, opts, tp0)],
  };
  results.push({ group, rows: await runGroup(group) });
  all.free();

  // --- loss and gradient from logits, softmax fused ---------------------------
  const x = createVolume(C * N);
  const lv = createVolume(N, "uint8");
  const g = createVolume(C * N);
  x.array.set(logits);
  lv.array.set(labels);
  const reused = new Float32Array(C * N);
  const softmax = { ...opts, softmax: true } as const;
  const train: Group = {
    title: `Dice loss + gradient, ${SIDE}³ voxels, 4 classes channels-last, softmax, uint8 labels`,
    voxels: N,
    bytes: 4 * C * N + N,
    peer: "loss + grad, JS arrays, fresh grad",
    contenders: [
      { name: "loss + grad, JS arrays, fresh grad", run: () => diceLoss(logits, labels, { ...softmax, grad: true }) },
      {
        name: "loss + grad, JS arrays, reused grad",
        run: () => diceLoss(logits, labels, { ...softmax, grad: reused }),
      },
      { name: "loss + grad, in wasm memory", run: () => diceLoss(x, lv, { ...softmax, grad: g }) },
      { name: "loss only, in wasm memory", run: () => diceLoss(x, lv, softmax) },
    ],
  };
  results.push({ group: train, rows: await runGroup(train) });
  for (const v of [x, lv, g]) v.free();
}

// --- hard metrics: Dice of two uint8 label maps, 4 classes ---------------------
{
  const C = 4;
  const both = createVolume(N / 2); // 2N bytes of floats: the ceiling reads as many bytes as the two maps hold
  const t = new Uint8Array(N);
  const p = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    t[i] = Math.floor(Math.random() * C);
    p[i] = Math.random() < 0.9 ? t[i]! : Math.floor(Math.random() * C);
  }
  const options = { shape: [1, N], numClasses: C };
  const histogram = () => {
    const [hits, truth, predicted] = [new Float64Array(C), new Float64Array(C), new Float64Array(C)];
    for (let i = 0; i < N; i++) {
      const [a, b] = [t[i]!, p[i]!];
      truth[a]!++;
      predicted[b]!++;
      if (a === b) hits[a]!++;
    }
    return Array.from(hits, (h, c) => (2 * h) / (truth[c]! + predicted[c]!));
  };
  const want = histogram();
  const group: Group = {
    title: `Hard Dice metric, ${SIDE}³ voxels, two uint8 label maps, ${C} classes, JS arrays (${(2 * N) / 2 ** 20} MiB read)`,
    voxels: N,
    bytes: 2 * N,
    peer: CEILING,
    contenders: [
      ceiling(both.byteOffset, N / 2),
      {
        name: "dice-wasm diceMetric",
        run: () => diceMetric(p, t, { ...options, reduction: "none" }),
        check: () =>
          close((diceMetric(p, t, { ...options, reduction: "none" }) as Float64Array)[1]!, want[1]!, "Dice of class 1"),
      },
      { name: "JS histogram loop", run: histogram },
    ],
  };
  // the same maps as volumes: read where they lie
  const [tv, pv] = [createVolume(N, "uint8"), createVolume(N, "uint8")];
  tv.array.set(t);
  pv.array.set(p);
  group.contenders.splice(2, 0, {
    name: "dice-wasm diceMetric, volumes in wasm memory",
    run: () => diceMetric(pv, tv, { ...options, reduction: "none" }),
  });
  // MONAI's DiceMetric arithmetic in PyTorch (bench/torch_dice.py), where python3-torch is installed
  const peer = await startTorch({ prediction: p, target: t, shape: [1, SIDE, SIDE, SIDE, C] });
  const meanDice = want.reduce((a, d) => a + d, 0) / C;
  if (peer) group.contenders.push(...peer.contenders(false, (name, value) => () => close(value(), meanDice, name)));
  results.push({ group, rows: await runGroup(group) });
  peer?.close();
  for (const v of [both, tv, pv]) v.free();
}

console.log(`\nresults: ${saveResults("speed", results)}`);
