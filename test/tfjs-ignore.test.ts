// ignoreIndex through the tfjs ops: our kernels on cpu and wasm, and the tf-ops
// twin (compositeLoss), against the core loss and its gradient; and the mask
// option, which the ops refuse with the way to express it as ignoreIndex.
import { beforeAll, describe, expect, it } from "vitest";
import { diceLoss as coreDice, diceCELoss as coreDiceCE, type DiceCEOptions } from "../src/index.js";
import { compositeLoss, diceCELoss, diceLoss, tverskyLoss } from "../src/tfjs/index.js";
import { expectError, gradError, oneHot, seededRandom, uniform, useBuild } from "./helpers.js";
import { TF_BACKENDS, tf, useTfBackend } from "./tfjs-helpers.js";

const [B, C, D] = [2, 3, 4];
const S = D * D;
const r = seededRandom(31);
const map = Int32Array.from({ length: B * S }, () => (r() < 0.25 ? 255 : Math.floor(r() * C)));
const input = uniform(B * S * C, 32, -3, 3);

beforeAll(() => useBuild({ simd: true }));

describe.each(TF_BACKENDS)("ignoreIndex on %s", (backend) => {
  beforeAll(() => useTfBackend(backend));

  it.each([
    ["diceLoss, label map", { softmax: true }, false],
    ["diceCELoss, label map, weights", { softmax: true, weight: [1, 2, 0.5] }, true],
    ["diceLoss, sigmoid, one-hot with ignored elements", { sigmoid: true }, false],
  ] as const)("%s: value and gradient as the core loss's, also from tf ops", (_, extra, ce) => {
    const onehot =
      "sigmoid" in extra
        ? Float32Array.from(
            oneHot(
              map.map((l) => (l === 255 ? 0 : l)),
              B,
              S,
              C,
              "channels-last",
            ),
            (g, i) => (map[Math.floor(i / C)] === 255 ? 255 : g),
          )
        : undefined;
    const y = onehot ? tf.tensor(onehot, [B, D, D, C]) : tf.tensor(map, [B, D, D], "int32");
    const x = tf.tensor(input, [B, D, D, C]);
    const options = { ...extra, ignoreIndex: 255 };
    const core = { ...options, shape: [B, D, D, C], toOnehotY: !onehot } as DiceCEOptions;
    const want = (ce ? coreDiceCE : coreDice)(input, onehot ?? map, { ...core, grad: true });
    const op = (ce ? diceCELoss : diceLoss) as typeof diceCELoss;
    const [loss, grad] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((p: tf.Tensor) => op(y, p, options))([x]);
      return [value.dataSync()[0]!, grads[0]!.dataSync()];
    });
    expect(Math.abs(loss - want.loss)).toBeLessThanOrEqual(1e-6 * want.loss);
    expect(gradError(grad, want.grad!)).toBeLessThan(1e-5);
    const composite = tf.tidy(() => {
      const f = (p: tf.Tensor) => compositeLoss(ce ? "diceCE" : "dice", y, p, core);
      const { value, grads } = tf.valueAndGrads(f)([x]);
      return { loss: value.dataSync()[0]!, grad: grads[0]!.dataSync() };
    });
    expect(Math.abs(composite.loss - want.loss)).toBeLessThanOrEqual(1e-5 * want.loss);
    expect(gradError(composite.grad, want.grad!)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
  });

  it("a label outside the classes that is not ignoreIndex is still an error; mask is refused with the way round", () => {
    const x = tf.tensor(input, [B, D, D, C]);
    const bad = tf.tensor(
      map.map((l, i) => (i === 5 ? 7 : l)),
      [B, D, D],
      "int32",
    );
    expectError(
      () => diceLoss(bad, x, { softmax: true, ignoreIndex: 255 }),
      "LABEL_OUT_OF_RANGE",
      /label 7|not class ids/,
    );
    const y = tf.tensor(map, [B, D, D], "int32");
    expectError(
      () => tverskyLoss(y, x, { mask: new Uint8Array(B * S) } as never),
      "INVALID_OPTION",
      /ignoreIndex, not a mask.*tf.where/,
    );
    tf.dispose([x, y, bad]);
  });
});
