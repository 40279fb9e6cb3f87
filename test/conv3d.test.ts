// Our Conv3D and MaxPool3D kernels as tfjs runs them (tf.conv3d, its gradients
// through tf.grads, tf.conv3dTranspose, tf.maxPool3d) on the cpu and wasm backends, against float64
// direct loops; gradients also against central differences; bad input gets a
// typed error and leaves nothing behind.
import { backend_util } from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { conv3dImplementation, registerDiceOps } from "../src/tfjs/index.js";
import { conv3dReference, filterGradReference, inputGradReference, maxPoolReference } from "./conv3d-reference.js";
import { expectError, relMaxError } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

type Shape5 = [number, number, number, number, number];
type Triple = number | [number, number, number];

interface Case {
  x: Shape5;
  /** [fd, fh, fw, in, out] */
  filter: Shape5;
  strides: Triple;
  pad: "same" | "valid";
  dilations?: Triple;
}

const CASES: Case[] = [
  { x: [1, 6, 5, 7, 3], filter: [1, 1, 1, 3, 5], strides: 1, pad: "same" },
  { x: [1, 7, 6, 8, 5], filter: [2, 2, 2, 5, 6], strides: 2, pad: "same" },
  { x: [3, 6, 6, 6, 4], filter: [3, 3, 3, 4, 8], strides: 1, pad: "same" },
  { x: [1, 9, 8, 10, 6], filter: [3, 3, 3, 6, 9], strides: 2, pad: "valid" },
  { x: [1, 11, 10, 9, 2], filter: [5, 5, 5, 2, 3], strides: 3, pad: "same" },
  { x: [2, 8, 9, 10, 7], filter: [3, 2, 5, 7, 4], strides: [2, 1, 3], pad: "same" },
  { x: [1, 9, 7, 8, 1], filter: [2, 3, 1, 1, 2], strides: [1, 3, 2], pad: "valid" },
  { x: [1, 6, 6, 6, 16], filter: [3, 3, 3, 16, 16], strides: 1, pad: "same" },
];
const DILATED: Case[] = [
  { x: [1, 9, 8, 10, 5], filter: [3, 3, 3, 5, 7], strides: 1, pad: "same", dilations: 2 },
  { x: [2, 10, 9, 9, 3], filter: [2, 3, 2, 3, 2], strides: 1, pad: "valid", dilations: [2, 1, 2] },
];

const label = (c: Case) =>
  `x [${c.x}] filter [${c.filter}] strides ${c.strides} ${c.pad}${c.dilations ? ` dilations ${c.dilations}` : ""}`;
const infoOf = (c: Case) => backend_util.computeConv3DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad);
const random = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, "float32", seed);

describe.each(TF_BACKENDS)("Conv3D on the %s backend", (backendName) => {
  beforeAll(() => useTfBackend(backendName));

  it("runs our kernels", () => {
    expect(conv3dImplementation()).toBe("dice-wasm");
  });

  it.each([...CASES, ...DILATED].map((c) => [label(c), c] as const))("forward, %s", (_, c) => {
    const x = random(c.x, 1);
    const w = random(c.filter, 2);
    const y = tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, c.strides, c.pad, "NDHWC", c.dilations ?? 1);
    const info = infoOf(c);
    expect(y.shape).toEqual(info.outShape);
    const want = conv3dReference(info, x.dataSync(), w.dataSync());
    expect(relMaxError(y.dataSync(), want), label(c)).toBeLessThan(1e-5);
    tf.dispose([x, w, y]);
  });

  it.each(CASES.map((c) => [label(c), c] as const))("input and filter gradients through tf.grads, %s", (_, c) => {
    const x = random(c.x, 3);
    const w = random(c.filter, 4);
    const info = infoOf(c);
    const r = random(info.outShape, 5);
    const before = tf.memory().numTensors;
    const [dx, dw] = tf.grads((a, b) =>
      tf.sum(tf.mul(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad), r)),
    )([x, w]);
    expect(relMaxError(dx!.dataSync(), inputGradReference(info, r.dataSync(), w.dataSync())), label(c)).toBeLessThan(
      1e-5,
    );
    expect(relMaxError(dw!.dataSync(), filterGradReference(info, x.dataSync(), r.dataSync())), label(c)).toBeLessThan(
      1e-5,
    );
    tf.dispose([dx!, dw!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, r]);
  });

  it("tf.conv3dTranspose (the input gradient kernel as an op), stride 2", () => {
    const dy = random([2, 5, 4, 6, 6], 6);
    const w = random([3, 3, 3, 5, 6], 7);
    const xShape: Shape5 = [2, 10, 8, 12, 5];
    const y = tf.conv3dTranspose(dy as tf.Tensor5D, w as tf.Tensor5D, xShape, 2, "same");
    const info = backend_util.computeConv3DInfo(xShape, [3, 3, 3, 5, 6], 2, 1, "same");
    expect(relMaxError(y.dataSync(), inputGradReference(info, dy.dataSync(), w.dataSync()))).toBeLessThan(1e-5);
    tf.dispose([dy, w, y]);
  });

  it("tf.conv3dTranspose trains: the gradients we register for it (tfjs has none)", () => {
    const dy = random([1, 4, 3, 5, 6], 11);
    const w = random([3, 2, 3, 5, 6], 12);
    const xShape: Shape5 = [1, 8, 6, 10, 5];
    const info = backend_util.computeConv3DInfo(xShape, [3, 2, 3, 5, 6], 2, 1, "same");
    const r = random(xShape, 13);
    const [ddy, dw] = tf.grads((a, b) =>
      tf.sum(tf.mul(tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, xShape, 2, "same"), r)),
    )([dy, w]);
    // dx is linear in dy and in the filter: the adjoints are the forward convolution and the filter gradient
    expect(relMaxError(ddy!.dataSync(), conv3dReference(info, r.dataSync(), w.dataSync()))).toBeLessThan(1e-5);
    expect(relMaxError(dw!.dataSync(), filterGradReference(info, r.dataSync(), dy.dataSync()))).toBeLessThan(1e-5);
    tf.dispose([dy, w, r, ddy!, dw!]);
  });

  it("gradients match central differences of the loss", () => {
    const c: Case = { x: [1, 4, 5, 4, 3], filter: [3, 2, 3, 3, 2], strides: [2, 1, 2], pad: "same" };
    const x = random(c.x, 8);
    const w = random(c.filter, 9);
    const r = random(infoOf(c).outShape, 10);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.mul(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad), r)));
    const [dx, dw] = tf.grads(f)([x, w]);
    const h = 1e-2;
    const central = (t: tf.Tensor, i: number, other: tf.Tensor, first: boolean) => {
      const values = t.dataSync().slice();
      const at = (delta: number) => {
        const v = values.slice();
        v[i]! += delta;
        return tf.tidy(() => {
          const moved = tf.tensor(v, t.shape);
          return (first ? f(moved, other) : f(other, moved)).dataSync()[0]!;
        });
      };
      return (at(h) - at(-h)) / (2 * h);
    };
    for (const i of [0, 7, 31, 59]) {
      expect(central(x, i, w, true)).toBeCloseTo(dx!.dataSync()[i]!, 2);
    }
    for (const i of [0, 5, 17, 35]) {
      expect(central(w, i, x, false)).toBeCloseTo(dw!.dataSync()[i]!, 2);
    }
    tf.dispose([x, w, r, dx!, dw!]);
  });

  it.each([
    { x: [1, 7, 8, 7, 5], size: 2, strides: 2, pad: "same" }, // uneven padding
    { x: [2, 6, 5, 6, 3], size: 3, strides: [1, 2, 2], pad: "same" },
    { x: [1, 6, 6, 6, 8], size: [2, 2, 3], strides: 2, pad: "valid" },
  ] as const)(
    "tf.maxPool3d and its gradient, x [$x] size $size strides $strides $pad: negative values, ties, NaN",
    (c) => {
      const values = tf.tidy(() =>
        tf.round(tf.mul(tf.randomUniform(c.x as unknown as Shape5, -3, 1, "float32", 11), 4)),
      );
      const v = values.dataSync().map((a, i) => (i % 29 === 3 ? Number.NaN : a / 4));
      const x = tf.tensor5d(v, c.x as unknown as Shape5);
      const pool = (t: tf.Tensor) => tf.maxPool3d(t as tf.Tensor5D, c.size as Triple, c.strides as Triple, c.pad);
      const y = pool(x);
      const r = random(y.shape, 12);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), r)))(x);
      const info = backend_util.computePool3DInfo(x.shape as Shape5, c.size as Triple, c.strides as Triple, 1, c.pad);
      const want = maxPoolReference(info, v, r.dataSync());
      expect(Array.from(y.dataSync())).toEqual(Array.from(want.y));
      expect(relMaxError(dx.dataSync(), want.dx)).toBeLessThan(1e-6);
      tf.dispose([values, x, y, r, dx]);
    },
  );

  it("bad input: a typed error, and no tensor or backend data left behind", () => {
    const x = tf.zeros([1, 4, 4, 4, 3]);
    const w = tf.zeros([3, 3, 3, 2, 4]);
    const ints = tf.zeros([1, 4, 4, 4, 3], "int32");
    const flat = tf.zeros([4, 4, 4, 3]);
    const dy = tf.zeros([1, 3, 4, 4, 4]);
    const w3 = tf.zeros([3, 3, 3, 3, 4]);
    const run =
      (inputs: Record<string, tf.Tensor>, name = "Conv3D", attrs: object = {}) =>
      () =>
        tf.engine().runKernel(name, inputs, { strides: 1, pad: "same", dilations: 1, dataFormat: "NDHWC", ...attrs });
    const before = { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
    expectError(run({ x, filter: w }), "SHAPE_MISMATCH", /3 channels but the filter expects 2/);
    expectError(run({ x: ints, filter: w }), "UNSUPPORTED_DTYPE", /x must be float32, got int32/);
    expectError(run({ x: flat, filter: w }), "INVALID_SHAPE", /x must be rank 5/);
    expectError(
      run({ dy, filter: w3 }, "Conv3DBackpropInputV2", { inputShape: [1, 4, 4, 4, 3] }),
      "SHAPE_MISMATCH",
      /dy has shape \[1, 3, 4, 4, 4\].*\[1, 4, 4, 4, 4\]/,
    );
    expectError(
      run({ x, dy }, "Conv3DBackpropFilterV2", { filterShape: [3, 3, 3, 3, 4] }),
      "SHAPE_MISMATCH",
      /dy has shape/,
    );
    const pool = { filterSize: 2, strides: 2, pad: "valid" };
    expectError(run({ x: ints }, "MaxPool3D", pool), "UNSUPPORTED_DTYPE", /MaxPool3D: x must be float32/);
    expectError(run({ x: flat }, "MaxPool3D", pool), "INVALID_SHAPE", /x must be rank 5/);
    expectError(
      run({ x }, "MaxPool3D", { ...pool, dataFormat: "NCDHW" }),
      "INVALID_OPTION",
      /only channels-last data \(NDHWC\)/,
    );
    expectError(
      run({ dy: x, input: x }, "MaxPool3DGrad", pool),
      "SHAPE_MISMATCH",
      /MaxPool3DGrad: dy has shape \[1, 4, 4, 4, 3\], but the kernel's geometry needs \[1, 2, 2, 2, 3\]/,
    );
    expectError(run({ dy: ints, input: x }, "MaxPool3DGrad", pool), "UNSUPPORTED_DTYPE", /dy must be float32/);
    expect({ tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() }).toEqual(before);
    tf.dispose([x, w, ints, flat, dy, w3]);
  });
});

describe("registration", () => {
  const c: Case = { x: [1, 5, 6, 4, 3], filter: [3, 3, 3, 3, 5], strides: 1, pad: "same" };
  /** tf.conv3d on the active backend against the float64 loop. */
  const conv3dIsRight = () => {
    const [x, w] = [random(c.x, 21), random(c.filter, 22)];
    const y = tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, "same");
    const err = relMaxError(y.dataSync(), conv3dReference(infoOf(c), x.dataSync(), w.dataSync()));
    tf.dispose([x, w, y]);
    return err < 1e-5;
  };

  it("a backend switched to after registering runs ours too, as does a runtime made again by init()", async () => {
    await useTfBackend("wasm");
    await tf.setBackend("cpu");
    expect(conv3dImplementation()).toBe("dice-wasm");
    expect(conv3dIsRight()).toBe(true);
    await init({ simd: false }); // a new core runtime, on a new memory
    expect(conv3dIsRight()).toBe(true);
    await init();
    await tf.setBackend("wasm");
    expect(conv3dIsRight()).toBe(true);
  });

  it("registerDiceOps checks its options", async () => {
    await expect(registerDiceOps({ conv3D: false } as object)).rejects.toThrow(/unknown option 'conv3D'/);
    await expect(registerDiceOps({ conv3d: "no" } as object)).rejects.toThrow(/conv3d must be true or false/);
  });

  it("{ conv3d: false } puts tfjs's kernels back; registering again brings ours", async () => {
    await tf.setBackend("cpu");
    await registerDiceOps({ conv3d: false });
    expect(conv3dImplementation()).toBe("tfjs");
    expect(conv3dIsRight()).toBe(true); // tfjs-cpu's own forward
    // tf.conv3dTranspose still has the gradient tfjs lacks
    const [dy, w] = [random([1, 2, 2, 2, 4], 23), random([2, 2, 2, 3, 4], 24)];
    const g = tf.grad((a) =>
      tf.sum(tf.conv3dTranspose(a as tf.Tensor5D, w as tf.Tensor5D, [1, 4, 4, 4, 3], 2, "same")),
    )(dy);
    expect(g.shape).toEqual(dy.shape);
    tf.dispose([dy, w, g]);
    await registerDiceOps();
    expect(conv3dImplementation()).toBe("dice-wasm");
    expect(conv3dIsRight()).toBe(true);
  });
});
