// The benchmark suites run and check what they time: every contender passes
// its check against the float64 reference (or the suite throws), and the
// reports render. Speed itself is measured by `npm run bench`, not here.
import { describe, expect, it } from "vitest";
import { precisionSuite } from "../src/bench/precision.js";
import { renderPrecision, renderSpeed } from "../src/bench/report.js";
import { speedSuite } from "../src/bench/suite.js";
import "./tfjs-helpers.js";

const env = { node: "v20", cpu: "test CPU", cores: 2, date: "2026-11-22T00:00:00Z" };

describe("benchmark suites", () => {
  it("speed: every case and contender runs after passing its check, and renders", async () => {
    const results = await speedSuite({ sides: [8], rounds: 1, time: 5 });
    expect(results).toHaveLength(10); // (1 class + 4 classes × 2 layouts × 2 targets) × (loss, loss + gradient)
    const names = new Set(results.flatMap((r) => r.rows.map((row) => row.name)));
    for (const name of [
      "plain f32x4 sum (ceiling)",
      "dice-wasm (SIMD)",
      "dice-wasm (scalar)",
      "JS float64 loop",
      "tf ops, tfjs wasm",
      "dice-wasm/tfjs op, tfjs cpu",
    ]) {
      expect(names).toContain(name);
    }
    for (const { rows } of results) for (const row of rows) expect(row.medianMs).toBeGreaterThan(0);
    const { markdown, svgs } = renderSpeed(results, env);
    expect(markdown).toMatch(/\| \*\*dice-wasm \(SIMD\)\*\* \|/);
    expect(Object.keys(svgs)).toHaveLength(4);
  }, 120_000);

  it("precision: dice-wasm within float32 precision in every regime; float32 sums are not", async () => {
    const rows = await precisionSuite([2 ** 10, 2 ** 14]);
    expect(rows).toHaveLength(8);
    for (const r of rows) expect(r.errors["dice-wasm"]).toBeLessThan(1e-6);
    const allOnes = rows.find((r) => r.regime.startsWith("all-ones") && r.n === 2 ** 14)!;
    expect(allOnes.errors["float32 sequential"]).toBeGreaterThan(1e-3);
    expect(allOnes.errors["tf ops, tfjs wasm"]).toBeGreaterThan(1e-3);
    const { markdown, svgs } = renderPrecision(rows, env);
    expect(markdown).toContain("| 2^14 |");
    expect(Object.values(svgs)[0]).toMatch(/^<svg/);
  }, 120_000);
});
