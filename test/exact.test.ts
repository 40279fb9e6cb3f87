import { describe, expect, it } from "vitest";
import { ExactSum, exactSum, twoProduct } from "../src/reference/exact.js";

describe("exactSum (Shewchuk)", () => {
  it("survives catastrophic cancellation", () => {
    expect(exactSum([1, 1e38, 1, -1e38])).toBe(2);
    expect(exactSum([1e100, 1, -1e100, 1e-100])).toBe(1);
  });
  it("rounds the exact sum once", () => {
    expect(exactSum(Array(10).fill(0.1))).toBe(1);
    const naive = Array(10)
      .fill(0.1)
      .reduce((a, b) => a + b, 0);
    expect(naive).not.toBe(1); // the naive loop does not, so the test can tell them apart
  });
  it("handles empty input and signed zero", () => {
    expect(exactSum([])).toBe(0);
    expect(exactSum([-0, 0])).toBe(0);
  });
  it("agrees with BigInt fixed point on random data", () => {
    // k·2^-40 with |k| < 2^52 is exact in float64, and Σk is exact as a BigInt
    let state = 7;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
    const ks = Array.from({ length: 2000 }, () => {
      const bits = next() % 52;
      const k = (BigInt(next()) * BigInt(next())) % 2n ** BigInt(bits);
      return next() % 2 ? k : -k;
    });
    const values = ks.map((k) => Number(k) * 2 ** -40);
    const exact = ks.reduce((a, b) => a + b, 0n);
    expect(exactSum(values)).toBe(Number(exact) * 2 ** -40);
  });
});

describe("twoProduct (Dekker)", () => {
  it("splits a·b into hi + lo exactly", () => {
    const a = 1 + 2 ** -30;
    const b = 1 - 2 ** -29;
    const [hi, lo] = twoProduct(a, b);
    // a·b = 1 − 2^-30 − 2^-59 exactly; fl drops the 2^-59
    expect(hi).toBe(1 - 2 ** -30);
    expect(lo).toBe(-(2 ** -59));
  });
  it("lets ExactSum add products exactly", () => {
    const s = new ExactSum();
    s.addProduct(1 + 2 ** -30, 1 + 2 ** -30);
    s.add(-1);
    s.add(-(2 ** -29));
    expect(s.value()).toBe(2 ** -60);
  });
});
