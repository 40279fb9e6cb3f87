// Bad input gets a DiceWasmError with a code and a message that says what to do;
// the caller's arrays are untouched, the wasm instance keeps working, nothing leaks.
import { beforeAll, describe, expect, it } from "vitest";
import { createVolume, DiceWasmError, diceLoss, generalizedDiceLoss, overlapStats, tverskyLoss } from "../src/index.js";
import { runtime } from "../src/runtime.js";
import { BUILDS, expectError, labels, uniform, useBuild } from "./helpers.js";

describe.each(BUILDS)("bad input (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));
  const shape = [2, 4, 4, 3];
  const p = uniform(96, 1);
  const map = labels(Int32Array, 32, 3, 2);

  it("prediction length that does not match the shape", () => {
    expectError(
      () => diceLoss(p.subarray(1), map, { shape, toOnehotY: true }),
      "LENGTH_MISMATCH",
      /95 elements.*needs 96/,
    );
  });

  it("target of the wrong size, with a hint when it looks like the other kind", () => {
    expectError(() => diceLoss(p, new Float32Array(32), { shape }), "LENGTH_MISMATCH", /set toOnehotY: true/);
    expectError(
      () => diceLoss(p, new Int32Array(96), { shape, toOnehotY: true }),
      "LENGTH_MISMATCH",
      /toOnehotY: false/,
    );
    expectError(() => diceLoss(p, new Float32Array(50), { shape }), "LENGTH_MISMATCH", /50 elements/);
  });

  it("malformed shapes", () => {
    expectError(() => diceLoss(p, map, { shape: [96] }), "INVALID_SHAPE", /at least two/);
    expectError(() => diceLoss(p, map, { shape: [2, 4.5, 4, 3] }), "INVALID_SHAPE", /whole numbers/);
    expectError(() => diceLoss(p, map, { shape: [0, 4, 4, 3] }), "INVALID_SHAPE", /≥ 1/);
    expectError(() => diceLoss(p, map, undefined as never), "INVALID_OPTION", /shape/);
    expectError(() => overlapStats(p, map, undefined as never), "INVALID_OPTION", /shape/);
    expectError(() => tverskyLoss(p, map, null as never), "INVALID_OPTION", /shape/);
  });

  it("both sigmoid and softmax", () => {
    expectError(
      () =>
        diceLoss(p, map, {
          shape,
          toOnehotY: true,
          sigmoid: true,
          softmax: true,
        }),
      "INVALID_OPTION",
      /choose one/,
    );
  });

  it("labels outside [0, C) or negative", () => {
    const cases: Array<[Int32Array | Uint8Array | Float32Array, number]> = [
      [Int32Array.from(map, (l, i) => (i === 17 ? 3 : l)), 3],
      [Int32Array.from(map, (l, i) => (i === 5 ? -1 : l)), -1],
      [Uint8Array.from(map, (l, i) => (i === 31 ? 255 : l)), 255],
      [Float32Array.from(map, (l, i) => (i === 2 ? 4 : l)), 4],
    ];
    for (const [bad, value] of cases) {
      expectError(
        () => diceLoss(p, bad, { shape, toOnehotY: true }),
        "LABEL_OUT_OF_RANGE",
        new RegExp(`label ${value} at index \\d+ is not a class id in \\[0, 3\\)`),
      );
    }
  });

  it("a one-channel integer target holding more than 0 and 1", () => {
    const one = [2, 4, 4, 1];
    const binary = labels(Uint8Array, 32, 2, 5);
    // read as a mask, as MONAI does: the same loss as the same values in a Float32Array
    for (const toOnehotY of [false, true]) {
      expect(diceLoss(p.subarray(0, 32), binary, { shape: one, toOnehotY }).loss).toBe(
        diceLoss(p.subarray(0, 32), Float32Array.from(binary), { shape: one }).loss,
      );
    }
    expectError(
      () => diceLoss(p.subarray(0, 32), labels(Int32Array, 32, 3, 2), { shape: one, toOnehotY: true }),
      "LABEL_OUT_OF_RANGE",
      /one channel.*holds 2 at index \d+.*K channels/,
    );
  });

  it("a grad array that shares memory with the prediction or the target", () => {
    const x = uniform(96, 11);
    const t = labels(Uint8Array, 32, 3, 12);
    const both = new Float32Array(96 + 32);
    expectError(
      () => diceLoss(x, t, { shape: [1, 32, 3], toOnehotY: true, grad: x }),
      "INVALID_OPTION",
      /grad shares memory with the prediction/,
    );
    const mask = both.subarray(0, 96);
    expectError(
      () => diceLoss(x, mask, { shape: [1, 32, 3], grad: both.subarray(32, 128) }),
      "INVALID_OPTION",
      /grad shares memory with the target/,
    );
  });

  it("fractional or NaN labels", () => {
    for (const value of [1.5, Number.NaN]) {
      const bad = Float32Array.from(map, (l, i) => (i === 9 ? value : l));
      expectError(
        () => diceLoss(p, bad, { shape, toOnehotY: true }),
        "NON_INTEGER_LABEL",
        new RegExp(`label ${value} at index 9 is not a whole number`),
      );
    }
  });

  it("NaN or Infinity in the prediction, with and without an activation", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const x = p.slice();
      x[40] = bad;
      for (const act of [{}, { sigmoid: true }, { softmax: true }]) {
        expectError(
          () => diceLoss(x, map, { shape, toOnehotY: true, ...act }),
          "NON_FINITE_INPUT",
          new RegExp(`${bad} at index 40`),
        );
      }
    }
  });

  it("NaN in a mask target", () => {
    const t = new Float32Array(96);
    t[7] = Number.NaN;
    expectError(() => diceLoss(p, t, { shape }), "NON_FINITE_TARGET", /NaN at index 7/);
  });

  it("a weight of the wrong length or sign", () => {
    expectError(
      () => diceLoss(p, map, { shape, toOnehotY: true, weight: [1, 2] }),
      "INVALID_OPTION",
      /one number per class kept \(3\)/,
    );
    expectError(
      () =>
        diceLoss(p, map, {
          shape,
          toOnehotY: true,
          includeBackground: false,
          weight: [1, 2, 3],
        }),
      "INVALID_OPTION",
      /leave out class 0/,
    );
    expectError(() => diceLoss(p, map, { shape, toOnehotY: true, weight: -1 }), "INVALID_OPTION", /≥ 0/);
  });

  it("negative alpha or beta, unknown wType and reduction", () => {
    expectError(
      () => tverskyLoss(p, map, { shape, toOnehotY: true, alpha: -0.1 }),
      "INVALID_OPTION",
      /alpha and beta must be ≥ 0/,
    );
    expectError(
      () =>
        generalizedDiceLoss(p, map, {
          shape,
          toOnehotY: true,
          wType: "cubic" as never,
        }),
      "INVALID_OPTION",
      /wType/,
    );
    expectError(
      () => diceLoss(p, map, { shape, toOnehotY: true, reduction: "avg" as never }),
      "INVALID_OPTION",
      /reduction/,
    );
  });

  it("switches that are not booleans, and negative smoothing terms", () => {
    for (const key of ["includeBackground", "batch", "sigmoid", "softLabel", "squaredPred"]) {
      expectError(
        () => diceLoss(p, map, { shape, toOnehotY: true, [key]: "false" } as never),
        "INVALID_OPTION",
        new RegExp(`${key} must be true or false, got "false"`),
      );
    }
    expectError(() => diceLoss(p, map, { shape, toOnehotY: 1 } as never), "INVALID_OPTION", /toOnehotY must be true/);
    for (const smooth of [{ smoothNr: -1e-5 }, { smoothDr: -1 }]) {
      expectError(() => diceLoss(p, map, { shape, toOnehotY: true, ...smooth }), "INVALID_OPTION", /must be ≥ 0/);
    }
    expect(diceLoss(p, map, { shape, toOnehotY: true, smoothNr: 0, smoothDr: 0 }).loss).toBeGreaterThan(0);
  });

  it("MONAI's snake_case names get a pointer to ours", () => {
    expectError(
      () => diceLoss(p, map, { shape, to_onehot_y: true } as never),
      "INVALID_OPTION",
      /did you mean 'toOnehotY'/,
    );
  });

  it("channels-first data described as channels-last gets the layout to set", () => {
    // [B, C, D, H, W] = [2, 3, 4, 5, 6] data, shape given without layout: read as C = 6
    const x = uniform(2 * 3 * 4 * 5 * 6, 21);
    const labelMap = labels(Uint8Array, 2 * 4 * 5 * 6, 3, 22);
    expectError(
      () => diceLoss(x, labelMap, { shape: [2, 3, 4, 5, 6], toOnehotY: true }),
      "LENGTH_MISMATCH",
      /read as channels-first \[B, C, \.\.\.spatial\]: set layout: 'channels-first'/,
    );
    expect(
      diceLoss(x, labelMap, { shape: [2, 3, 4, 5, 6], layout: "channels-first", toOnehotY: true }).loss,
    ).toBeGreaterThan(0);
  });

  it("values outside [0, 1] are warnings with a code, proven by a negative statistic, naming the suspects", () => {
    const codes = (r: { warnings: { code: string }[] }) => r.warnings.map((w) => w.code);
    const mask = Float32Array.from({ length: 96 }, (_, i) => (i % 3 === map[Math.floor(i / 3)] ? 1 : 0));
    // predictions below 0 where the target is 0: fp < 0; with a label map only the predictions can be at fault
    const negative = p.map((v) => v - 0.75);
    const { loss, warnings } = diceLoss(negative, map, { shape, toOnehotY: true });
    expect(warnings).toEqual([
      {
        code: "PREDICTION_OUT_OF_RANGE",
        message: expect.stringMatching(/(tp|fp|fn) of batch item \d, class \d is -.*softmax: true/),
      },
    ]);
    expect(Number.isFinite(loss)).toBe(true);
    // a mask marking background −1, after a softmax: tp < 0, and only the target can be at fault
    const signed = mask.map((g) => (g ? 1 : -1));
    expect(codes(diceLoss(p, signed, { shape, softmax: true }))).toEqual(["TARGET_OUT_OF_RANGE"]);
    expect(diceLoss(p, signed, { shape, softmax: true }).warnings[0]!.message).toMatch(/toOnehotY: true/);
    // neither an activation nor a label map: either can be
    expect(codes(diceLoss(negative, mask, { shape }))).toEqual(["VALUES_OUT_OF_RANGE"]);
    // logits: a loss outside [0, 1], and its cause named
    const logits = uniform(96, 31, -3, 3);
    expect(diceLoss(logits, map, { shape, toOnehotY: true }).loss).toBeGreaterThan(1);
    expect(codes(diceLoss(logits, map, { shape, toOnehotY: true }))).toEqual(["PREDICTION_OUT_OF_RANGE"]);
    // in range: nothing
    expect(diceLoss(uniform(96, 31, -3, 3), map, { shape, toOnehotY: true, softmax: true }).warnings).toEqual([]);
    expect(diceLoss(p, map, { shape, toOnehotY: true }).warnings).toEqual([]);
    expect(diceLoss(p, mask, { shape }).warnings).toEqual([]);
  });

  it("smoothNr above smoothDr is a warning: the one way to a loss outside [0, 1] with every statistic ≥ 0", () => {
    const empty = new Float32Array(32);
    const { loss, warnings } = diceLoss(empty, empty, { shape: [2, 4, 4, 1], smoothNr: 1, smoothDr: 1e-5 });
    expect(loss).toBeLessThan(0);
    expect(warnings.map((w) => w.code)).toEqual(["SMOOTH_NR_ABOVE_DR"]);
  });

  it("a detached view as the target or the grad: the message says so", () => {
    const v = createVolume(32, "uint8");
    const stale = v.array;
    const g = createVolume(96);
    const staleGrad = g.array;
    createVolume(2 ** 24).free(); // grows memory: the views above detach
    expectError(() => diceLoss(p, stale, { shape, toOnehotY: true }), "LENGTH_MISMATCH", /detached view/);
    expectError(() => diceLoss(p, map, { shape, toOnehotY: true, grad: staleGrad }), "INVALID_OPTION", /detached view/);
    v.free();
    g.free();
  });

  it("createVolume with an inherited name as its dtype: a typed error, and the allocator intact", () => {
    for (const name of ["constructor", "toString", "__proto__"]) {
      expectError(() => createVolume(8, name as never), "UNSUPPORTED_DTYPE", /dtype must be one of/);
    }
    const [a, b] = [createVolume(4), createVolume(4)];
    expect(a.byteOffset).not.toBe(b.byteOffset);
    a.free();
    b.free();
  });

  it("options ignored with a single channel are warnings, as MONAI warns", () => {
    const one = [2, 4, 4, 1];
    const codes = (o: object) => diceLoss(p.subarray(0, 32), p.subarray(0, 32), { shape: one, ...o }).warnings;
    expect(codes({ softmax: true })).toEqual([{ code: "SOFTMAX_IGNORED", message: expect.stringMatching(/softmax/) }]);
    expect(codes({ toOnehotY: true }).map((w) => w.code)).toEqual(["TO_ONEHOT_Y_IGNORED"]);
    expect(codes({ includeBackground: false }).map((w) => w.code)).toEqual(["INCLUDE_BACKGROUND_IGNORED"]);
  });

  it("a tf.Tensor passed to the core API points to dice-wasm/tfjs", () => {
    const tensorLike = { shape, dtype: "float32", dataSync: () => p };
    expectError(
      () => diceLoss(tensorLike as never, map, { shape, toOnehotY: true }),
      "UNSUPPORTED_DTYPE",
      /a tf\.Tensor \(for tensors use the ops of dice-wasm\/tfjs, or pass the values: await t\.data\(\)\)/,
    );
  });

  it("unsupported array types", () => {
    expectError(
      () =>
        diceLoss(Float64Array.from(p) as never, map, {
          shape,
          toOnehotY: true,
        }),
      "UNSUPPORTED_DTYPE",
      /Float32Array.from/,
    );
    expectError(
      () => diceLoss(p, Int16Array.from(map) as never, { shape, toOnehotY: true }),
      "UNSUPPORTED_DTYPE",
      /Int16Array/,
    );
    expectError(
      () => diceLoss(p, Array.from(map) as never, { shape, toOnehotY: true }),
      "UNSUPPORTED_DTYPE",
      /plain Array/,
    );
    expectError(() => diceLoss(p, new Int32Array(96), { shape }), "UNSUPPORTED_DTYPE", /toOnehotY: true/);
  });

  it("a grad array of the wrong size", () => {
    expectError(
      () => diceLoss(p, map, { shape, toOnehotY: true, grad: new Float32Array(5) }),
      "INVALID_OPTION",
      /grad must be/,
    );
  });

  it("leaves caller arrays unchanged, the instance usable, and no allocation behind", () => {
    const heap = runtime().heap;
    const live = heap.live;
    const x = uniform(96, 3, -2, 2);
    const before = x.slice();
    const labelsBefore = map.slice();
    const bad = Int32Array.from(map, (l, i) => (i === 3 ? 7 : l));
    expect(() => diceLoss(x, bad, { shape, toOnehotY: true, softmax: true, grad: true })).toThrow(DiceWasmError);
    const good = diceLoss(x, map, {
      shape,
      toOnehotY: true,
      softmax: true,
      grad: true,
    });
    expect(Number.isFinite(good.loss)).toBe(true);
    expect(x).toEqual(before);
    expect(map).toEqual(labelsBefore);
    expect(heap.live).toBe(live);
  });

  it("a freed volume cannot be used", () => {
    const v = createVolume(96);
    v.free();
    expectError(() => diceLoss(v, map, { shape, toOnehotY: true }), "VOLUME_FREED", /freed/);
    v.free(); // twice is fine
  });
});
