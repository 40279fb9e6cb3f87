// Bad input to the tfjs ops: a DiceWasmError that says what to do, on our
// kernels and on the tf-ops path alike; no tensor left behind, the backend still
// usable, and on 'wasm' our kernels working in tfjs's memory without growing it.
import { beforeAll, describe, expect, it } from "vitest";
import type { DiceWasmErrorCode } from "../src/errors.js";
import { coreOptions } from "../src/tfjs/arguments.js";
import { wasmRuntime } from "../src/tfjs/backends.js";
import { compositeLoss, diceLoss } from "../src/tfjs/index.js";
import { expectError as expectDiceWasmError } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

const shape = [2, 6, 6, 6, 3];

/** The error, and no tensor or backend data (a kernel's unfinished output) left behind by it. */
function expectError(run: () => unknown, code: DiceWasmErrorCode, message: RegExp): void {
  const before = { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
  expectDiceWasmError(run, code, message);
  expect({ tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() }).toEqual(before);
}

describe.each(TF_BACKENDS)("bad input on the %s backend", (backendName) => {
  let logits: tf.Tensor;
  let labelMap: tf.Tensor;
  let oneHot: tf.Tensor;
  beforeAll(async () => {
    await useTfBackend(backendName);
    logits = tf.randomNormal(shape, 0, 1, "float32", 1);
    labelMap = tf.randomUniformInt(shape.slice(0, 4), 0, 3, 2) as tf.Tensor;
    oneHot = tf.cast(tf.oneHot(labelMap as tf.Tensor4D, 3), "float32");
  });

  it("a disposed tensor", () => {
    const gone = tf.zeros(shape);
    gone.dispose();
    expectError(() => diceLoss(labelMap, gone), "VOLUME_FREED", /predictions is a disposed tensor/);
  });

  it("labels that fit neither a mask nor a label map", () => {
    const labels = tf.zeros([2, 6, 6, 6, 2]);
    expectError(() => diceLoss(labels, logits), "SHAPE_MISMATCH", /\[2,6,6,6,2\].*label map.*labels first/);
    labels.dispose();
  });

  it("integer predictions, and integer labels of the predictions' shape", () => {
    const ints = tf.cast(logits, "int32");
    expectError(() => diceLoss(labelMap, ints), "UNSUPPORTED_DTYPE", /must be float32.*tf\.cast/);
    expectError(() => diceLoss(ints, logits), "UNSUPPORTED_DTYPE", /not masks/);
    ints.dispose();
  });

  it("options the tensors already give, and unknown options", () => {
    expectError(() => diceLoss(labelMap, logits, { shape } as never), "INVALID_OPTION", /come from the tensors/);
    expectError(
      () => diceLoss(labelMap, logits, { include_background: false } as never),
      "INVALID_OPTION",
      /did you mean 'includeBackground'/,
    );
  });

  it("NaN in the predictions, on our kernels and on tf ops", () => {
    const bad = tf.tidy(() =>
      tf.where(tf.equal(tf.reshape(tf.range(0, 2 * 216 * 3), shape), 100), tf.scalar(Number.NaN), logits),
    );
    expectError(() => diceLoss(labelMap, bad, { softmax: true }), "NON_FINITE_INPUT", /NaN at index 100/);
    const lossAndGrad = tf.valueAndGrad((x: tf.Tensor) => diceLoss(labelMap, x, { softmax: true }));
    expectError(() => lossAndGrad(bad), "NON_FINITE_INPUT", /NaN at index 100/);
    const options = coreOptions("dice", labelMap, bad, { softmax: true });
    expectError(() => compositeLoss("dice", labelMap, bad, options), "NON_FINITE_INPUT", /1 NaN or infinite/);
    bad.dispose();
  });

  it("a label outside [0, C), on our kernels and on tf ops", () => {
    const bad = tf.tidy(() =>
      tf.where(tf.equal(tf.reshape(tf.range(0, 2 * 216), shape.slice(0, 4)), 7), tf.scalar(5, "int32"), labelMap),
    );
    expectError(() => diceLoss(bad, logits, { softmax: true }), "LABEL_OUT_OF_RANGE", /label 5 at index 7/);
    const options = coreOptions("dice", bad, logits, { softmax: true });
    expectError(() => compositeLoss("dice", bad, logits, options), "LABEL_OUT_OF_RANGE", /1 values/);
    bad.dispose();
  });

  it("a gradient with respect to the labels", () => {
    expect(() => tf.grad((y: tf.Tensor) => diceLoss(y, logits, { softmax: true }))(oneHot)).toThrow(
      expect.objectContaining({ code: "NOT_DIFFERENTIABLE" }),
    );
  });

  it("after all that, the same loss as before, and no allocation of ours left behind", () => {
    const rt = wasmRuntime(tf.backend());
    const live = rt?.heap.live;
    const bytes = rt?.heap.memory.buffer.byteLength;
    const a = diceLoss(labelMap, logits, { softmax: true });
    const b = compositeLoss("dice", labelMap, logits, coreOptions("dice", labelMap, logits, { softmax: true }));
    expect(Math.abs(a.dataSync()[0]! - b.dataSync()[0]!)).toBeLessThan(1e-6);
    tf.dispose([a, b]);
    if (backendName === "wasm") {
      // our kernels run on tfjs's own memory, read the tensors in place and never grow it
      const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
      expect(rt?.heap.memory).toBe(memory);
      expect(rt?.heap.live).toBe(live);
      expect(memory.buffer.byteLength).toBe(bytes);
    }
  });
});
