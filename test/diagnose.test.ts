// diagnose(): each finding on data made to show it, with the numbers behind it.
import { beforeAll, describe, expect, it } from "vitest";
import { diagnose } from "../src/diagnose.js";
import { diceLoss, init } from "../src/index.js";
import { referenceLoss } from "../src/reference/losses.js";
import { expectError, labels, oneHot, uniform } from "./helpers.js";

const codes = (f: ReturnType<typeof diagnose>) => f.map((x) => x.code);

describe("diagnose", () => {
  beforeAll(() => init());
  const [B, S, C] = [2, 50, 3];
  const shape = [B, 5, 10, C];
  const map = labels(Int32Array, B * S, C, 1);

  it("logits without an activation: the cause of a negative loss, with min and max", () => {
    const mask = oneHot(map, B, S, C, "channels-last");
    const logits = mask.map((g) => (g ? 5 : -3)); // confident, right, and not probabilities
    expect(diceLoss(logits, mask, { shape }).loss).toBeLessThan(0);
    const found = diagnose(logits, mask, { shape }).find((f) => f.code === "PREDICTION_OUT_OF_RANGE")!;
    expect(found.severity).toBe("error");
    expect(found.numbers).toEqual({ min: -3, max: 5 });
    expect(found.message).toMatch(/softmax: true/);
    expect(codes(diagnose(logits, mask, { shape, softmax: true }))).not.toContain("PREDICTION_OUT_OF_RANGE");
  });

  it("smoothNr above smoothDr: the loss of an empty prediction on an empty target is 1 − sn/sd < 0", () => {
    const empty = new Float32Array(B * S);
    const o = { shape: [B, S, 1], smoothNr: 1, smoothDr: 1e-5 };
    expect(diceLoss(empty, empty, o).loss).toBeCloseTo(1 - 1 / 1e-5, 3);
    expect(codes(diagnose(empty, empty, o))).toContain("SMOOTH_NR_ABOVE_DR");
  });

  it("NaN, labels out of range, targets that are not masks", () => {
    const p = uniform(B * S * C, 3);
    p[7] = Number.NaN;
    expect(codes(diagnose(p, map, { shape, toOnehotY: true }))).toContain("NON_FINITE_INPUT");
    const bad = Int32Array.from(map, (l, i) => (i === 9 ? 5 : l));
    const label = diagnose(uniform(B * S * C, 4), bad, { shape, toOnehotY: true }).find(
      (f) => f.code === "LABEL_OUT_OF_RANGE",
    )!;
    expect(label.numbers).toMatchObject({ count: 1, index: 9, value: 5 });
    const soft = uniform(B * S * C, 5, 0, 2);
    expect(codes(diagnose(uniform(B * S * C, 6), soft, { shape }))).toEqual(
      expect.arrayContaining(["TARGET_OUT_OF_RANGE", "TARGET_NOT_BINARY", "TARGET_NOT_ONE_HOT"]),
    );
  });

  it("a non-integer label, a NaN in a mask: their own codes, with where and how many", () => {
    const fractional = Float32Array.from(map, (l, i) => (i === 11 ? 1.5 : l));
    const label = diagnose(uniform(B * S * C, 4), fractional, { shape, toOnehotY: true }).find(
      (f) => f.code === "NON_INTEGER_LABEL",
    )!;
    expect(label.numbers).toMatchObject({ count: 1, index: 11, value: 1.5 });
    const mask = oneHot(map, B, S, C, "channels-last");
    mask[4] = Number.NaN;
    mask[40] = Number.NaN;
    const found = diagnose(uniform(B * S * C, 8), mask, { shape }).find((f) => f.code === "NON_FINITE_TARGET")!;
    expect(found).toMatchObject({ severity: "error", numbers: { count: 2, index: 4 } });
    // errors in the data: no precision comparison of a loss that is not defined
    expect(codes(diagnose(uniform(B * S * C, 8), mask, { shape }))).not.toContain("FLOAT32_PRECISION");
  });

  it("classes absent from an item's target, by item", () => {
    const noTwo = Int32Array.from(map, (l, i) => (i < S && l === 2 ? 1 : l));
    const found = diagnose(uniform(B * S * C, 7), noTwo, { shape, toOnehotY: true }).find(
      (f) => f.code === "ABSENT_CLASS",
    )!;
    expect(found.numbers.classes).toEqual([2]);
    expect(found.message).toMatch(/item 0: \[2\]/);
  });

  it("checks every option as diceLoss does, naming itself", () => {
    const logits = uniform(B * S * C, 9, -3, 3);
    for (const bad of [{ smoothNr: -1 }, { reduction: "avg" }, { squaredPred: "yes" }, { layout: "NHWC" }]) {
      expectError(
        () => diagnose(logits, map, { shape, toOnehotY: true, ...bad } as never),
        "INVALID_OPTION",
        /^diagnose: /,
      );
    }
  });

  it("rejects option names it does not know, as the losses do", () => {
    const logits = uniform(B * S * C, 9, -3, 3);
    expect(() => diagnose(logits, map, { shape, softmax: true, to_onehot_y: true } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringMatching(/did you mean 'toOnehotY'/) }),
    );
  });

  it("clean data: only the precision check, whose exact value is the float64 loss to float32 precision", () => {
    const logits = uniform(B * S * C, 8, -3, 3);
    const findings = diagnose(logits, map, { shape, softmax: true, toOnehotY: true });
    expect(codes(findings)).toEqual(["FLOAT32_PRECISION"]);
    const { exact, relativeError } = findings[0]!.numbers as { exact: number; relativeError: number };
    const reference = referenceLoss("dice", logits, map, { shape, softmax: true, toOnehotY: true }) as number;
    // dice-wasm's value, which the float64 reference of the same logits bounds (the loss tests' 1e-6)
    expect(Math.abs(exact - reference)).toBeLessThanOrEqual(1e-6 * reference);
    expect(relativeError).toBeLessThan(1e-4);
  });

  it("measures the float32 error where it is large: a near-perfect prediction on 2^22 voxels", () => {
    const n = 2 ** 22;
    const target = new Float32Array(n).fill(1);
    const p = new Float32Array(n).fill(0.9999);
    const found = diagnose(p, target, { shape: [1, n, 1] }).find((f) => f.code === "FLOAT32_PRECISION")!;
    expect(found.severity).toBe("warning");
    expect(found.numbers.relativeError as number).toBeGreaterThan(1e-3);
  });
});
