// The core API and the tfjs op in a real Chromium page (test/browser/checks.ts),
// with the SIMD build and, forced, the scalar one.
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, openPage, type Session, startSession } from "./browser-harness.js";

describe.skipIf(!hasChromium)("in Chromium", () => {
  // one Vite server and one browser for every page below
  let session: Session;
  beforeAll(async () => {
    session = await startSession();
  }, 120_000);
  afterAll(() => session?.close());

  it.each([true, false])(
    "the core API, simd: %s — losses, gradient and statistics vs float64 and exact sums",
    async (simd) => {
      const { page, errors } = await openPage(session, "/test/browser/index.html");
      await page.waitForFunction(() => "checks" in window, undefined, { timeout: 90_000 });
      const result = await page.evaluate((s) => window.checks.core(s), simd);
      expect(result.backend).toBe(simd ? "simd" : "scalar");
      for (const [name, error] of Object.entries(result.errors)) {
        expect({ name, error }).toEqual({ name, error: expect.any(Number) });
        expect(error, name).toBeLessThan(name === "gradient" ? 1e-5 : 1e-6);
      }
      expect(result.code).toBe("LABEL_OUT_OF_RANGE");
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it("the tfjs op on the wasm backend: our kernels, value and gradient as tf ops + autodiff, no leak", async () => {
    const { page, errors } = await openPage(session, "/test/browser/index.html");
    await page.waitForFunction(() => "checks" in window, undefined, { timeout: 90_000 });
    const result = await page.evaluate(() => window.checks.tfjs());
    expect(result).toMatchObject({ backend: "wasm", implementation: "kernels", leaked: 0 });
    expect(result.valueError).toBeLessThan(1e-5);
    expect(result.gradError).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the demo page (examples/browser) trains its U-Net until every structure has Dice ≥ 0.8, without console errors", async () => {
    const { page, errors } = await openPage(session, "/examples/browser/index.html");
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("done"), undefined, {
      timeout: 300_000,
      polling: 1000,
    });
    const { losses, dice, reached } = await page.evaluate(() => window.demo);
    expect(reached).toBe(true);
    expect(dice).toHaveLength(4);
    for (const d of dice.slice(1)) expect(d).toBeGreaterThanOrEqual(0.8);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 2);
    // the whole-step timing: three rows of finite milliseconds
    const ms = await page.locator("#timing tr td:nth-child(3)").allTextContents();
    expect(ms.map(Number).filter((t) => t > 0)).toHaveLength(3);
    mkdirSync("test/artifacts", { recursive: true });
    await page.screenshot({ path: "test/artifacts/demo.png", fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 360_000);
});
