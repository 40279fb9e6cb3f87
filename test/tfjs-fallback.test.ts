// The tfjs ops where our kernels are not registered (other backends, or cpu
// and wasm before registerDiceOps): the losses are tf ops, but every option is
// checked as the kernels check it, and what the options show is a warning.
// Its own file: nothing may have registered our kernels.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { diceCELoss, diceLoss, lossImplementation } from "../src/tfjs/index.js";
import { expectError, labels, uniform } from "./helpers.js";
import { tf } from "./tfjs-helpers.js";

const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
const ours = () => warn.mock.calls.map(([m]) => String(m)).filter((m) => m.startsWith("dice-wasm:"));
beforeAll(() => tf.setBackend("cpu"));
afterAll(() => warn.mockRestore());

it("options are checked as by the kernels, and their warnings printed once", () => {
  expect(lossImplementation()).toBe("tf-ops");
  const y = tf.tensor(labels(Int32Array, 2 * 27, 3, 1), [2, 3, 3, 3], "int32");
  const x = tf.tensor(uniform(2 * 27 * 3, 2, -2, 2), [2, 3, 3, 3, 3]);
  expectError(() => diceLoss(y, x, { includeBackground: "false" as never }), "INVALID_OPTION", /true or false/);
  expectError(() => diceLoss(y, x, { smoothNr: -1 }), "INVALID_OPTION", /≥ 0/);
  expectError(() => diceLoss(y, x, { reduction: "avg" as never }), "INVALID_OPTION", /reduction/);
  expectError(() => diceLoss(y, x, { foo: 1 } as never), "INVALID_OPTION", /unknown option 'foo'/);
  expectError(() => diceLoss(y, x, { sigmoid: true, softmax: true }), "INVALID_OPTION", /choose one/);
  expectError(() => diceLoss(y, x, { layout: "NHWC" as never }), "INVALID_OPTION", /layout must be one of/);
  expectError(() => diceCELoss(y, x), "INVALID_OPTION", /softmax: true/);
  for (let step = 0; step < 3; step++) tf.dispose(diceLoss(y, x, { softmax: true, smoothNr: 1, smoothDr: 1e-5 }));
  expect(ours()).toEqual([expect.stringMatching(/smoothNr \(1\) > smoothDr/)]);
  tf.dispose([x, y]);
});
