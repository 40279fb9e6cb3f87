// npm run bench:conv3d: our Conv3D kernels (forward, input gradient, filter
// gradient) on the tfjs wasm backend against tfjs's own Conv3D kernels on wasm
// and cpu, and against tfjs-wasm's XNNPACK Conv2D on a problem of the same
// multiply-adds, in the same run; then our max pooling, and one training step
// of the example U-Net with our kernels and with tfjs's. Writes
// docs/BENCHMARKS.md's conv3d section.
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-layers";
import * as tf from "@tensorflow/tfjs-core";
import { segmentationData } from "../examples/segmentation.js";
import { unet3d } from "../examples/unet3d.js";
import { type Contender, environment, type Group, type Row, runGroup, saveJson } from "../src/bench/harness.js";
import { environmentLine, writeSection } from "../src/bench/report.js";
import { diceCELoss, registerConv3D, registerDiceOps } from "../src/tfjs/index.js";

type Shape5 = [number, number, number, number, number];
const ROUNDS = 5;
const TIME = 300;

await tf.setBackend("wasm");
// tfjs's own kernels, kept before ours replace them
const KERNELS = [tf.Conv3D, tf.Conv3DBackpropInputV2, tf.Conv3DBackpropFilterV2] as const;
const ALL = [...KERNELS, tf.MaxPool3D, tf.MaxPool3DGrad] as const;
const theirs = (backendName: string) =>
  Object.fromEntries(ALL.map((k) => [k, tf.getKernel(k, backendName)!.kernelFunc])) as Record<
    (typeof ALL)[number],
    tf.KernelFunc
  >;
const tfjsWasm = theirs("wasm");
const tfjsCpu = theirs("cpu");
const tfjsConfigs = ALL.map((k) => tf.getKernel(k, "wasm")!);
await registerConv3D();
const ourConfigs = ALL.map((k) => tf.getKernel(k, "wasm")!);
/** Puts one set of kernels in place on wasm, synchronously, so that a contender can choose per run. */
function useKernels(configs: tf.KernelConfig[]): void {
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
}
const wasm = tf.backend();
const cpu = tf.findBackend("cpu")!;

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** A float32 tensor's data written straight into a backend (not the active one for cpu). */
function on(backend: tf.KernelBackend, shape: number[]): tf.TensorInfo {
  return { dataId: backend.write(random(tf.util.sizeFromShape(shape)), shape, "float32"), shape, dtype: "float32" };
}

/** Runs a kernel function on a backend and frees its output. */
function timed(fn: tf.KernelFunc, backend: tf.KernelBackend, inputs: tf.NamedTensorInfoMap, attrs: object) {
  return () => {
    const out = fn({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    backend.disposeData(out.dataId, true);
  };
}

interface Result {
  group: Group;
  rows: Row[];
  macs: number;
}
const results: Result[] = [];

for (const [x, filter] of [
  [
    [1, 32, 32, 32, 16],
    [3, 3, 3, 16, 16],
  ],
  [
    [1, 64, 64, 64, 8],
    [3, 3, 3, 8, 8],
  ],
] as Array<[Shape5, Shape5]>) {
  const info = tf.backend_util.computeConv3DInfo(x, filter, 1, 1, "same");
  const macs = tf.util.sizeFromShape(info.outShape) * filter[0] * filter[1] * filter[2] * filter[3];
  const attrs = { strides: 1, pad: "same", dilations: 1, dataFormat: "NDHWC", inputShape: x, filterShape: filter };
  // the same multiply-adds and outputs as a Conv2D: a 3×3 filter over 3× the input channels
  const pixels = tf.util.sizeFromShape(info.outShape) / filter[4];
  const image = [1, 128, pixels / 128, 3 * filter[3]];
  const conv2d = { x: on(wasm, image), filter: on(wasm, [3, 3, 3 * filter[3], filter[4]]) };
  const xnnpack: Contender = {
    name: "tfjs-wasm Conv2D (XNNPACK), same multiply-adds",
    run: timed(tf.getKernel(tf.Conv2D, "wasm")!.kernelFunc, wasm, conv2d, {
      strides: 1,
      pad: "same",
      dilations: 1,
      dataFormat: "NHWC",
    }),
  };
  const w = { x: on(wasm, x), filter: on(wasm, filter), dy: on(wasm, info.outShape) };
  const c = { x: on(cpu, x), filter: on(cpu, filter), dy: on(cpu, info.outShape) };
  const operands = {
    [tf.Conv3D]: (t: typeof w) => ({ x: t.x, filter: t.filter }),
    [tf.Conv3DBackpropInputV2]: (t: typeof w) => ({ dy: t.dy, filter: t.filter }),
    [tf.Conv3DBackpropFilterV2]: (t: typeof w) => ({ x: t.x, dy: t.dy }),
  };
  const what = {
    [tf.Conv3D]: "forward",
    [tf.Conv3DBackpropInputV2]: "input gradient",
    [tf.Conv3DBackpropFilterV2]: "filter gradient",
  };
  for (const k of KERNELS) {
    const ours = tf.getKernel(k, "wasm")!.kernelFunc;
    const contenders: Contender[] = [
      { name: "dice-wasm, tfjs wasm", run: timed(ours, wasm, operands[k](w), attrs) },
      { name: "tfjs-wasm 4.22's own", run: timed(tfjsWasm[k], wasm, operands[k](w), attrs) },
      { name: "tfjs-cpu 4.22's own", run: timed(tfjsCpu[k], cpu, operands[k](c), attrs) },
      xnnpack,
    ];
    const group: Group = {
      title: `Conv3D ${what[k]} (${k}), [${x}] → ${filter[4]} channels, ${filter.slice(0, 3).join("×")} filter, ${(macs / 1e6).toFixed(0)} M multiply-adds`,
      voxels: tf.util.sizeFromShape(info.outShape) / filter[4],
      bytes: 4 * tf.util.sizeFromShape(x),
      peer: xnnpack.name,
      contenders,
    };
    results.push({ group, rows: await runGroup(group, ROUNDS, TIME), macs });
  }
  for (const t of [...Object.values(w), ...Object.values(conv2d)]) wasm.disposeData(t.dataId, true);
  for (const t of Object.values(c)) cpu.disposeData(t.dataId, true);
}

{
  // max pooling [1, 32³, 16], 2³ windows, stride 2: ours, and tfjs's own (wrong for negative values)
  const x = [1, 32, 32, 32, 16];
  const attrs = { filterSize: 2, strides: 2, pad: "valid", dimRoundingMode: undefined, dataFormat: "NDHWC" };
  const w = { x: on(wasm, x) };
  const c = { x: on(cpu, x) };
  const contenders: Contender[] = [
    { name: "dice-wasm, tfjs wasm", run: timed(tf.getKernel(tf.MaxPool3D, "wasm")!.kernelFunc, wasm, w, attrs) },
    { name: "tfjs-wasm 4.22's own", run: timed(tfjsWasm[tf.MaxPool3D], wasm, w, attrs) },
    { name: "tfjs-cpu 4.22's own", run: timed(tfjsCpu[tf.MaxPool3D], cpu, c, attrs) },
  ];
  const group: Group = {
    title: `MaxPool3D, [${x}], 2×2×2 windows, stride 2`,
    voxels: tf.util.sizeFromShape(x) / 16,
    bytes: 4 * tf.util.sizeFromShape(x),
    peer: contenders[1]!.name,
    contenders,
  };
  results.push({ group, rows: await runGroup(group, ROUNDS, TIME), macs: 0 });
  wasm.disposeData(w.x.dataId, true);
  cpu.disposeData(c.x.dataId, true);
}

{
  // one training step of examples/unet3d.ts as the demo page trains it: [1, 32³] scans, 8 filters,
  // Dice + cross-entropy, forward and backward, the gradients left on the backend
  await registerDiceOps();
  const data = segmentationData(32, 4, 1, 1);
  const model = unet3d({ size: 32, classes: 4, filters: 8, classFrequencies: data.frequencies });
  const step = (configs: tf.KernelConfig[]) => () => {
    useKernels(configs);
    const { value, grads } = tf.variableGrads(
      () => diceCELoss(data.labels, model.apply(data.images) as tf.Tensor, { softmax: true }) as tf.Scalar,
    );
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const contenders: Contender[] = [
    { name: "dice-wasm Conv3D and MaxPool3D kernels", run: step(ourConfigs) },
    { name: "tfjs-wasm 4.22's own (wrong gradients)", run: step(tfjsConfigs) },
  ];
  const group: Group = {
    title: "U-Net training step (examples/unet3d.ts, [1, 32³, 1] → 4 classes, 8 filters, Dice + CE), wasm",
    voxels: 32 ** 3,
    bytes: 4 * 32 ** 3,
    peer: contenders[1]!.name,
    contenders,
  };
  results.push({ group, rows: await runGroup(group, ROUNDS, TIME), macs: 0 });
  useKernels(ourConfigs);
  model.dispose();
  tf.dispose(Object.values(data));
}

const env = environment();
console.log(`\nresults: ${saveJson("conv3d", { env, results })}`);
writeSection("docs/BENCHMARKS.md", "conv3d", render(results));

/** Markdown: one table per group, our rows in bold, GMAC/s (convolutions) and the ratio to the group's peer. */
function render(all: Result[]): string {
  const parts = [`${environmentLine(env)} \`npm run bench:conv3d\`.`, ""];
  for (const { group, rows, macs } of all) {
    parts.push(`### ${group.title}`, "");
    const gmacs = macs > 0;
    parts.push(
      `| contender | median ms |${gmacs ? " GMAC/s |" : ""} × ${group.peer} |`,
      gmacs ? "|---|---|---|---|" : "|---|---|---|",
    );
    for (const r of rows) {
      const ours = r.name.startsWith("dice-wasm");
      const rate = gmacs ? [(macs / r.medianMs / 1e6).toFixed(2)] : [];
      const cells = [r.name, r.medianMs.toFixed(1), ...rate, r.ratioToPeer.toFixed(2)];
      parts.push(`| ${cells.map((cell) => (ours ? `**${cell}**` : cell)).join(" | ")} |`);
    }
    parts.push("");
  }
  return parts.join("\n");
}
