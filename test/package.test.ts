// The package as users get it: `npm pack`, installed from the tarball into a
// fresh project, used from Node (both entry points) and through a Vite build
// loaded in Chromium.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, hasChromium } from "./browser-harness.js";

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// a small problem whose loss the fresh project prints: one class, half right
const USE = `
  await init();
  const p = new Float32Array([1, 1, 0, 0]), t = new Float32Array([1, 0, 1, 0]);
  const { loss } = diceLoss(p, t, { shape: [1, 4, 1], smoothNr: 0, smoothDr: 0 });
`;

describe("the packed tarball in a fresh project", () => {
  let project: string;
  beforeAll(() => {
    run("npx", ["tsc", "-p", "tsconfig.build.json"], process.cwd());
    const packs = mkdtempSync(join(tmpdir(), "dice-wasm-pack-"));
    run("npm", ["pack", "--ignore-scripts", "--pack-destination", packs], process.cwd());
    const tarball = join(packs, readdirSync(packs).find((f) => f.endsWith(".tgz"))!);
    project = mkdtempSync(join(tmpdir(), "dice-wasm-fresh-"));
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }));
    run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        tarball,
        "vite@8",
        "@tensorflow/tfjs-core@4",
        "@tensorflow/tfjs-backend-cpu@4",
      ],
      project,
    );
  }, 300_000);

  it("works from Node: the core API, the tfjs subpath, the raw .wasm export", () => {
    const script = `
      import { init, diceLoss, backend } from "dice-wasm";
      import * as tf from "@tensorflow/tfjs-core";
      import "@tensorflow/tfjs-backend-cpu";
      import { registerDiceOps, diceLoss as tfDice, lossImplementation } from "dice-wasm/tfjs";
      import { createRequire } from "node:module";
      ${USE}
      await tf.setBackend("cpu");
      await registerDiceOps();
      const t2 = tfDice(tf.tensor([1, 0, 1, 0], [1, 4, 1]), tf.tensor([1, 1, 0, 0], [1, 4, 1]), { smoothNr: 0, smoothDr: 0 });
      const wasm = createRequire(import.meta.url).resolve("dice-wasm/wasm/scalar.wasm");
      console.log(JSON.stringify({ loss, backend: backend(), tf: t2.dataSync()[0], impl: lossImplementation(), wasm }));
    `;
    writeFileSync(join(project, "check.mjs"), script);
    const out = JSON.parse(run("node", ["check.mjs"], project).trim().split("\n").at(-1)!);
    expect(out).toMatchObject({ loss: 0.5, backend: "simd", tf: 0.5, impl: "kernels" });
    expect(out.wasm).toMatch(/dice-scalar\.wasm$/);
  });

  it("runs its CLI: npx dice-wasm precision --json", () => {
    const out = JSON.parse(
      run("npx", ["--no-install", "dice-wasm", "precision", "--max-log2", "10", "--json"], project),
    );
    expect(out.rows).toHaveLength(4); // one size, four regimes
    for (const row of out.rows) expect(row.errors["dice-wasm"]).toBeLessThan(1e-6);
  });

  describe.skipIf(!hasChromium)("through Vite, in Chromium", () => {
    let server: Awaited<ReturnType<typeof preview>>;
    afterAll(() => server?.close());

    it("builds, loads, computes the loss, and runs a binary it hosts itself", async () => {
      writeFileSync(
        join(project, "index.html"),
        `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module" src="./main.js"></script></body></html>`,
      );
      writeFileSync(
        join(project, "main.js"),
        // the hosted-binary path: the .wasm export as an asset URL, fetched by init()
        `import { init, diceLoss, backend } from "dice-wasm";
        import scalarUrl from "dice-wasm/wasm/scalar.wasm?url";
        ${USE}
        const hosted = await init({ simd: false, wasm: new URL(scalarUrl, location.href) });
        const again = diceLoss(p, t, { shape: [1, 4, 1], smoothNr: 0, smoothDr: 0 }).loss;
        window.result = { loss, backend: backend(), hosted, again };`,
      );
      run("npx", ["vite", "build", "--logLevel", "error"], project);
      server = await preview({ root: project, logLevel: "error", preview: { port: 0, host: "127.0.0.1" } });
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu"],
      });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => "result" in window, undefined, { timeout: 60_000 });
      expect(await page.evaluate(() => (window as unknown as { result: unknown }).result)).toEqual({
        loss: 0.5,
        backend: "scalar",
        hosted: "scalar",
        again: 0.5,
      });
      expect(errors).toEqual([]);
      await browser.close();
    }, 120_000);
  });
});
