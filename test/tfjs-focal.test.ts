// The focal family, and diceCELoss with sigmoid or label smoothing, as tfjs ops
// (tf ops with tfjs's autodiff on every backend) against the core losses'
// values and gradients, and their option checks.
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  diceCELoss as coreDiceCE,
  diceFocalLoss as coreDiceFocal,
  focalLoss as coreFocal,
  generalizedDiceFocalLoss as coreGdlFocal,
} from "../src/index.js";
import { diceCELoss, diceFocalLoss, focalLoss, generalizedDiceFocalLoss } from "../src/tfjs/index.js";
import { expectError, gradError, labels, uniform, useBuild } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

const [B, C, D] = [2, 3, 4];
const S = D * D;
const map = labels(Int32Array, B * S, C, 41).map((l, i) => (i % 7 === 3 ? 255 : l));
const input = uniform(B * S * C, 42, -3, 3);

beforeAll(() => useBuild({ simd: true }));

describe.each(TF_BACKENDS)("focal family on %s", (backend) => {
  beforeAll(() => useTfBackend(backend));

  const CASES = [
    ["focalLoss", focalLoss, coreFocal, { gamma: 2, alpha: 0.25 }],
    [
      "focalLoss, softmax, no background, channels-first",
      focalLoss,
      coreFocal,
      { useSoftmax: true, includeBackground: false, layout: "channels-first" },
    ],
    ["focalLoss, sum, ignoreIndex", focalLoss, coreFocal, { reduction: "sum", ignoreIndex: 255 }],
    [
      "diceFocalLoss, softmax, ignoreIndex",
      diceFocalLoss,
      coreDiceFocal,
      { softmax: true, ignoreIndex: 255, lambdaFocal: 0.5 },
    ],
    [
      "generalizedDiceFocalLoss",
      generalizedDiceFocalLoss,
      coreGdlFocal,
      { softmax: true, weight: [1, 2, 0.5], ignoreIndex: 255 },
    ],
  ] as const;

  it.each(CASES)("%s: value and gradient as the core loss's", (_, op, core, options) => {
    const channelsFirst = "layout" in options;
    const shape = channelsFirst ? [B, C, D, D] : [B, D, D, C];
    const clean = map.map((l) => ("ignoreIndex" in options ? l : l === 255 ? 0 : l));
    const y = tf.tensor(clean, [B, D, D], "int32");
    const x = tf.tensor(input, shape);
    const want = (core as typeof coreFocal)(input, clean, {
      ...(options as object),
      shape,
      toOnehotY: true,
      grad: true,
    });
    const [loss, grad] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((p: tf.Tensor) => (op as typeof focalLoss)(y, p, options as never))([
        x,
      ]);
      return [value.dataSync()[0]!, grads[0]!.dataSync()];
    });
    expect(Math.abs(loss - want.loss)).toBeLessThanOrEqual(1e-5 * want.loss);
    expect(gradError(grad, want.grad!)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
  });

  it("on a prepared backend the tf-ops terms do not ask to call registerDiceOps()", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const y = tf.tensor(labels(Int32Array, B * S, C, 44), [B, D, D], "int32");
    const x = tf.tensor(input, [B, D, D, C]);
    tf.dispose(diceFocalLoss(y, x, { softmax: true }));
    expect(warn.mock.calls.map(([m]) => String(m)).filter((m) => m.includes("registerDiceOps"))).toEqual([]);
    warn.mockRestore();
    tf.dispose([x, y]);
  });

  it("options are checked as the core checks them", () => {
    const y = tf.tensor(labels(Int32Array, B * S, C, 43), [B, D, D], "int32");
    const x = tf.tensor(input, [B, D, D, C]);
    expectError(() => focalLoss(y, x, { gamma: -1 }), "INVALID_OPTION", /gamma must be in/);
    expectError(() => focalLoss(y, x, { softmax: true } as never), "INVALID_OPTION", /unknown option 'softmax'/);
    expectError(() => diceFocalLoss(y, x, { alpha: 2 }), "INVALID_OPTION", /alpha must be in \[0, 1\]/);
    expectError(() => generalizedDiceFocalLoss(y, x, { reduction: "none" }), "INVALID_OPTION", /reduction 'none'/);
    tf.dispose([x, y]);
  });
});

describe.each(TF_BACKENDS)("diceCELoss with sigmoid or label smoothing on %s", (backend) => {
  beforeAll(() => useTfBackend(backend));

  it.each([
    ["sigmoid, multi-label BCE, pos_weight", { sigmoid: true, weight: [1, 2, 0.5] }],
    ["softmax, label smoothing, ignoreIndex", { softmax: true, labelSmoothing: 0.2, ignoreIndex: 255 }],
  ] as const)("%s: value and gradient as the core loss's", (_, options) => {
    const y = tf.tensor(map, [B, D, D], "int32");
    const x = tf.tensor(input, [B, D, D, C]);
    const clean = "ignoreIndex" in options ? map : map.map((l) => (l === 255 ? 0 : l));
    const yy = "ignoreIndex" in options ? y : tf.tensor(clean, [B, D, D], "int32");
    const want = coreDiceCE(input, clean, { ...options, shape: [B, D, D, C], toOnehotY: true, grad: true });
    const [loss, grad] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((p: tf.Tensor) => diceCELoss(yy, p, options))([x]);
      return [value.dataSync()[0]!, grads[0]!.dataSync()];
    });
    expect(Math.abs(loss - want.loss)).toBeLessThanOrEqual(1e-5 * want.loss);
    expect(gradError(grad, want.grad!)).toBeLessThan(1e-4);
    tf.dispose([x, y, yy]);
  });
});

describe.each(TF_BACKENDS)("tf-ops focal edges on %s", (backend) => {
  beforeAll(() => useTfBackend(backend));

  it.each([0, 0.5])("softmax focal with gamma %s: finite gradients where p rounds to 1, as the core's", (gamma) => {
    const n = 6;
    const ids = labels(Int32Array, n, C, 45);
    const values = Float32Array.from({ length: n * C }, (_, i) => (ids[Math.floor(i / C)] === i % C ? 25 : -5));
    const y = tf.tensor(ids, [1, n], "int32");
    const x = tf.tensor(values, [1, n, C]);
    const want = coreFocal(values, ids, { shape: [1, n, C], toOnehotY: true, useSoftmax: true, gamma, grad: true });
    const grad = tf.tidy(() =>
      tf
        .grad((p: tf.Tensor) => focalLoss(y, p, { useSoftmax: true, gamma }))(x)
        .dataSync(),
    );
    expect(Array.from(grad).every(Number.isFinite)).toBe(true);
    expect(gradError(grad, want.grad!)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
  });
});
