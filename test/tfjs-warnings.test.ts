// The tfjs ops print each cause of a warning once (a training loop would print
// one a step), through console.warn. Its own file: the printed causes are
// remembered per module instance.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { diceLoss, lossImplementation } from "../src/tfjs/index.js";
import { labels, uniform } from "./helpers.js";
import { tf, useTfBackend } from "./tfjs-helpers.js";

const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
/** What we printed (tfjs prints its own notice through console.warn too). */
const ours = () => warn.mock.calls.map(([m]) => String(m)).filter((m) => m.startsWith("dice-wasm:"));
beforeAll(() => useTfBackend("cpu"));
afterAll(() => warn.mockRestore());

it("each cause once: values outside [0, 1], then an option ignored with one class", () => {
  expect(lossImplementation()).toBe("kernels");
  const map = tf.tensor(labels(Int32Array, 2 * 27, 3, 1), [2, 3, 3, 3], "int32");
  const negative = tf.tensor(uniform(2 * 27 * 3, 2, -1, 0.2), [2, 3, 3, 3, 3]);
  for (let step = 0; step < 3; step++) tf.dispose(diceLoss(map, negative));
  expect(ours()).toEqual([expect.stringMatching(/predictions lie outside \[0, 1\].*softmax: true/)]);

  const mask = tf.tensor(uniform(2 * 27, 3), [2, 3, 3, 3, 1]);
  const probabilities = tf.tensor(uniform(2 * 27, 4), [2, 3, 3, 3, 1]);
  for (let step = 0; step < 3; step++) tf.dispose(diceLoss(mask, probabilities, { softmax: true }));
  expect(ours()).toHaveLength(2);
  expect(ours()[1]).toMatch(/softmax: true` ignored/);
  tf.dispose([map, negative, mask, probabilities]);
});
