// comparePrecision: its exact value is the float64 reference's (to float64
// rounding), and the methods' errors order as they should on data where
// float32 sums fail.
import { beforeAll, describe, expect, it } from "vitest";
import { comparePrecision, init } from "../src/index.js";
import { referenceLoss } from "../src/reference/losses.js";
import { labels, uniform } from "./helpers.js";

describe("comparePrecision", () => {
  beforeAll(() => init());

  it("the exact loss matches the float64 reference; every method is close on a small volume", () => {
    const [B, S, C] = [2, 300, 3];
    const logits = uniform(B * S * C, 1, -3, 3);
    const map = labels(Int32Array, B * S, C, 2);
    const options = { shape: [B, S, C], softmax: true, toOnehotY: true, includeBackground: false, batch: true };
    const report = comparePrecision(logits, map, options);
    expect(Math.abs(report.exact - (referenceLoss("dice", logits, map, options) as number))).toBeLessThan(1e-14);
    expect(report.methods.map((m) => m.method)).toEqual([
      "float32 sequential",
      "float32 pairwise",
      "float64 sequential",
      "dice-wasm",
    ]);
    for (const m of report.methods) expect(m.relativeError).toBeLessThan(1e-5);
  });

  it("a near-perfect prediction on 2^22 voxels: float32 sums fail, dice-wasm keeps float32 precision", () => {
    const n = 2 ** 22;
    const p = new Float32Array(n).fill(0.9999);
    const g = new Float32Array(n).fill(1);
    const { methods } = comparePrecision(p, g, { shape: [1, n, 1] });
    const error = Object.fromEntries(methods.map((m) => [m.method, m.relativeError]));
    expect(error["float32 sequential"]).toBeGreaterThan(0.5);
    expect(error["dice-wasm"]).toBeLessThan(1e-6);
    expect(error["float64 sequential"]).toBeLessThan(1e-6);
    expect(error["float32 pairwise"]).toBeLessThan(error["float32 sequential"]!);
    const sums = Object.fromEntries(methods.map((m) => [m.method, m.statisticsError]));
    expect(sums["dice-wasm"]).toBeLessThan(7 * 2 ** -24); // the kernels' bound
    expect(sums["float32 sequential"]).toBeGreaterThan(1e-5); // 1e-4 in the sums, 1e0 in the loss
  });

  it("rejects what it does not compute", () => {
    const p = new Float32Array(4);
    expect(() => comparePrecision(p, p, { shape: [1, 4, 1], jaccard: true })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    expect(() => comparePrecision(p, p, { shape: [1, 4, 1], reduction: "none" })).toThrow(/'mean' or 'sum'/);
  });
});
