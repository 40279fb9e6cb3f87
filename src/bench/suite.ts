// The speed suite: the Dice loss (value, and value + gradient) over volume
// sizes, class counts, layouts and target kinds, our kernels (SIMD and scalar
// builds, core API and tfjs op) against the memory-bandwidth ceiling, a plain JS
// float64 loop, and the same loss built from tf ops on the tfjs wasm and cpu
// backends. Every contender is checked against the float64 reference first.

import { scalarWasm } from "../generated/wasm.js";
import { Heap } from "../heap.js";
import { diceLoss } from "../losses.js";
import type { Layout } from "../options.js";
import { referenceLoss } from "../reference/losses.js";
import { compileEmbedded, init, instantiate, withRuntime } from "../runtime.js";
import { syntheticVolume } from "../synthetic.js";
import { createVolume } from "../volume.js";
import { ceilingSum } from "./ceiling.js";
import { type Contender, type Group, type Row, runGroup } from "./harness.js";

export interface SuiteOptions {
  sides: number[];
  classes?: number[];
  layouts?: Layout[];
  targets?: Array<"mask" | "labels">;
  /** largest side the tfjs contenders run at (the cpu backend's tf ops: 64) */
  tfjsUpTo?: number;
  rounds?: number;
  /** milliseconds each contender runs per round */
  time?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

export const CEILING = "plain f32x4 sum (ceiling)";
export const OURS = "dice-wasm (SIMD)";

interface Case {
  side: number;
  C: number;
  layout: Layout;
  target: "mask" | "labels";
}

/** Channels-last [B=1, N, C] data moved to channels-first when asked. */
function toLayout(a: Float32Array, N: number, C: number, layout: Layout): Float32Array {
  if (layout === "channels-last" || C === 1) return a;
  const out = new Float32Array(a.length);
  for (let v = 0; v < N; v++) for (let c = 0; c < C; c++) out[c * N + v] = a[v * C + c]!;
  return out;
}

/** The Dice loss with a float64 loop, the way one writes it without thinking of precision. */
function jsDice(
  x: Float32Array,
  t: Float32Array | Uint8Array,
  N: number,
  C: number,
  layout: Layout,
  labels: boolean,
): number {
  const I = new Float64Array(C);
  const P = new Float64Array(C);
  const G = new Float64Array(C);
  const p = new Float64Array(C);
  const at = (v: number, c: number) => (layout === "channels-last" ? v * C + c : c * N + v);
  for (let v = 0; v < N; v++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, x[at(v, c)]!);
    let z = 0;
    for (let c = 0; c < C; c++) {
      const xi = x[at(v, c)]!;
      p[c] = C === 1 ? 1 / (1 + Math.exp(-xi)) : Math.exp(xi - max);
      z += p[c]!;
    }
    for (let c = 0; c < C; c++) {
      const pc = C === 1 ? p[c]! : p[c]! / z;
      const g = labels ? Number(t[v] === c) : t[at(v, c)]!;
      I[c] = I[c]! + pc * g;
      P[c] = P[c]! + pc;
      G[c] = G[c]! + g;
    }
  }
  let total = 0;
  for (let c = 0; c < C; c++) total += 1 - (2 * I[c]! + 1e-5) / (P[c]! + G[c]! + 1e-5);
  return total / C;
}

type Tf = typeof import("@tensorflow/tfjs-core");
interface TfjsKit {
  tf: Tf;
  ops: typeof import("../tfjs/index.js");
  coreOptions: typeof import("../tfjs/arguments.js").coreOptions;
}

async function loadTfjs(): Promise<TfjsKit | undefined> {
  try {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-cpu");
    await import("@tensorflow/tfjs-backend-wasm");
    await import("@tensorflow/tfjs-layers"); // the gradients of tfjs's own ops
    const ops = await import("../tfjs/index.js");
    const { coreOptions } = await import("../tfjs/arguments.js");
    return { tf, ops, coreOptions };
  } catch {
    return undefined;
  }
}

export async function speedSuite(options: SuiteOptions): Promise<Array<{ group: Group; rows: Row[] }>> {
  await init();
  const scalar = await instantiate(
    await compileEmbedded("scalar", scalarWasm),
    "scalar",
    new Heap(new WebAssembly.Memory({ initial: 1 })),
  );
  const tfjs = await loadTfjs();
  const cases: Case[] = options.sides
    .flatMap((side) =>
      (options.classes ?? [1, 4]).flatMap((C) =>
        (options.layouts ?? ["channels-last", "channels-first"]).flatMap((layout) =>
          (options.targets ?? ["mask", "labels"]).map((target) => ({ side, C, layout, target })),
        ),
      ),
    )
    .filter((c) => !(c.C === 1 && (c.layout === "channels-first" || c.target === "labels"))) // one class: one case
    .filter((c) => c.side <= 256 || c.C === 1); // 512³ × 4 would need 2 GiB of logits
  const results: Array<{ group: Group; rows: Row[] }> = [];
  const total = cases.length * 2;
  for (const c of cases) {
    for (const withGrad of [false, true]) {
      const label = `${withGrad ? "loss + gradient" : "loss"}, ${c.side}³ × ${c.C} ${c.layout}, ${c.target === "labels" ? "uint8 labels" : "float mask"}`;
      options.onProgress?.(results.length, total, label);
      const { group, dispose } = await makeGroup(
        c,
        withGrad,
        label,
        scalar,
        c.side <= (options.tfjsUpTo ?? 128) ? tfjs : undefined,
      );
      results.push({ group, rows: await runGroup(group, options.rounds ?? 3, options.time ?? 200, false) });
      dispose();
    }
  }
  options.onProgress?.(total, total, "done");
  return results;
}

async function makeGroup(
  c: Case,
  withGrad: boolean,
  title: string,
  scalar: Awaited<ReturnType<typeof instantiate>>,
  tfjs: TfjsKit | undefined,
): Promise<{ group: Group; dispose: () => void }> {
  const { side, C, layout } = c;
  const N = side ** 3;
  const labels = c.target === "labels";
  const synthetic = syntheticVolume({ size: [side, side, side], classes: Math.max(C, 2), seed: side + C });
  const logitsCl =
    C === 1
      ? Float32Array.from({ length: N }, (_, v) => synthetic.logits[v * 2 + 1]! - synthetic.logits[v * 2]!)
      : synthetic.logits;
  const x = toLayout(logitsCl, N, C, layout);
  const map = synthetic.labels;
  const mask = new Float32Array(N * C);
  for (let v = 0; v < N; v++) {
    if (C === 1) mask[v] = map[v]!;
    else mask[layout === "channels-last" ? v * C + map[v]! : map[v]! * N + v] = 1;
  }
  const t = labels && C > 1 ? map : mask;
  const shape = layout === "channels-last" ? [1, side, side, side, C] : [1, C, side, side, side];
  const o = { shape, layout, toOnehotY: labels && C > 1, sigmoid: C === 1, softmax: C > 1 };
  const grad = new Float32Array(N * C);
  const exact = referenceLoss("dice", x, t, o) as number;
  const check =
    (name: string, value: () => number, tol = 1e-5) =>
    () => {
      const got = value();
      if (!(Math.abs(got - exact) <= tol * exact))
        throw new Error(`${title}: ${name} gives ${got}, the float64 reference ${exact}`);
    };
  const bytes = 4 * N * C + t.BYTES_PER_ELEMENT * t.length;
  const room = createVolume(Math.ceil(bytes / 4));
  const sum = await ceilingSum();
  const ceiling: Contender = { name: CEILING, run: () => sum(room.byteOffset, Math.floor(bytes / 4) & ~15) };
  const ours = (name: string, run: () => number, inScalar = false): Contender => {
    const go = inScalar ? () => withRuntime(scalar, run) : run;
    return { name, run: go, check: check(name, go) };
  };
  const coreLoss = () => diceLoss(x, t, withGrad ? { ...o, grad } : o).loss;
  const contenders: Contender[] = [ceiling, ours(OURS, coreLoss), ours("dice-wasm (scalar)", coreLoss, true)];
  if (!withGrad) {
    contenders.push({
      name: "JS float64 loop",
      run: () => jsDice(x, t, N, C, layout, labels && C > 1),
      check: check("JS float64 loop", () => jsDice(x, t, N, C, layout, labels && C > 1)),
    });
  }
  if (tfjs) contenders.push(...(await tfjsContenders(tfjs, x, t, o, withGrad, check, side)));
  return { group: { title, voxels: N, bytes, peer: CEILING, contenders }, dispose: () => room.free() };
}

async function tfjsContenders(
  kit: TfjsKit,
  x: Float32Array,
  t: Float32Array | Uint8Array,
  o: { shape: number[]; layout: Layout; toOnehotY: boolean; sigmoid: boolean; softmax: boolean },
  withGrad: boolean,
  check: (name: string, value: () => number, tol?: number) => () => void,
  side: number,
): Promise<Contender[]> {
  const { tf, ops, coreOptions } = kit;
  const out: Contender[] = [];
  for (const backend of ["wasm", "cpu"]) {
    if (backend === "cpu" && side > 64) continue; // tf ops on the cpu backend take seconds a call beyond 64³
    await tf.setBackend(backend);
    await tf.ready();
    await ops.registerDiceOps();
    const labelShape = o.toOnehotY
      ? o.layout === "channels-last"
        ? o.shape.slice(0, -1)
        : [o.shape[0]!, ...o.shape.slice(2)]
      : o.shape;
    const xt = tf.tensor(x, o.shape);
    const yt = o.toOnehotY ? tf.tensor(Int32Array.from(t), labelShape, "int32") : tf.tensor(t as Float32Array, o.shape);
    const options = { layout: o.layout, sigmoid: o.sigmoid, softmax: o.softmax };
    const resolved = coreOptions("dice", yt, xt, options);
    const fns: Array<
      [string, (z: import("@tensorflow/tfjs-core").Tensor) => import("@tensorflow/tfjs-core").Tensor, number]
    > = [
      [`tf ops, tfjs ${backend}`, (z) => ops.compositeLoss("dice", yt, z, resolved, false), 1e-2],
      [`dice-wasm/tfjs op, tfjs ${backend}`, (z) => ops.diceLoss(yt, z, options), 1e-5],
    ];
    for (const [name, f, tol] of fns) {
      const step = tf.valueAndGrad(f);
      const run = () => {
        tf.setBackend(backend);
        if (!withGrad) {
          const v = f(xt);
          const value = v.dataSync()[0]!;
          v.dispose();
          return value;
        }
        const { value, grad } = step(xt);
        const loss = value.dataSync()[0]!;
        tf.dispose([value, grad]);
        return loss;
      };
      out.push({ name, run, check: check(name, run, tol) });
    }
  }
  return out;
}
