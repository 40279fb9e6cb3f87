// Loading: the error before init, SIMD detection, forcing a build, bringing your own binary.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scalarSharedWasm, simdSharedWasm } from "../src/generated/wasm-shared.js";
import { Heap } from "../src/heap.js";
import { backend, DiceWasmError, diceLoss, init, simdSupported } from "../src/index.js";
import { compileEmbedded, instantiate, withRuntime } from "../src/runtime.js";
import { uniform } from "./helpers.js";

describe("runtime", () => {
  it("says what to do when used before init()", () => {
    expect(backend()).toBeUndefined();
    expect(() => diceLoss(new Float32Array(4), new Float32Array(4), { shape: [1, 4, 1] })).toThrow(
      expect.objectContaining({ code: "NOT_INITIALIZED", message: expect.stringMatching(/await init\(\)/) }),
    );
  });

  it("detects SIMD in Node 20 and picks that build; a forced scalar build gives the same loss", async () => {
    expect(simdSupported()).toBe(true);
    expect(await init()).toBe("simd");
    const p = uniform(60, 1);
    const t = uniform(60, 2).map((x) => (x < 0.5 ? 0 : 1));
    const simd = diceLoss(p, t, { shape: [1, 20, 3] }).loss;
    expect(await init({ simd: false })).toBe("scalar");
    expect(backend()).toBe("scalar");
    expect(Math.abs(diceLoss(p, t, { shape: [1, 20, 3] }).loss - simd)).toBeLessThan(1e-7);
  });

  it("accepts a binary the caller hosts", async () => {
    const bytes = readFileSync("build/dice-scalar.wasm");
    expect(await init({ simd: false, wasm: bytes })).toBe("scalar");
    const r = diceLoss(new Float32Array([1, 0, 0, 1]), new Float32Array([1, 0, 0, 1]), { shape: [1, 2, 2] });
    expect(r.loss).toBeLessThan(1e-5);
    await expect(init({ wasm: new Uint8Array([0, 1, 2]) })).rejects.toThrow();
  });

  it("reports failures as DiceWasmErrors: an Error with a name, a code and details", () => {
    let caught: unknown;
    try {
      diceLoss(new Float32Array(4), new Float32Array(4), { shape: [1, 4, 1], smoothNr: "1" as never });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toBeInstanceOf(DiceWasmError);
    expect(caught).toMatchObject({ name: "DiceWasmError", code: "INVALID_OPTION", details: { option: "smoothNr" } });
    expect(String(caught)).toMatch(/^DiceWasmError: diceLoss: smoothNr must be a finite number/);
  });
});

describe("the shared-memory builds (for tfjs's threaded wasm backend)", () => {
  it.each([
    ["simd", simdSharedWasm],
    ["scalar", scalarSharedWasm],
  ] as const)(
    "%s: runs on a shared WebAssembly.Memory and gives the loss of the ordinary build",
    async (kind, base64) => {
      await init({ simd: kind === "simd" });
      const shape = [2, 9, 7, 3];
      const p = uniform(2 * 9 * 7 * 3, 4);
      const t = Int32Array.from(uniform(2 * 9 * 7, 5), (u) => Math.floor(u * 3));
      const options = { shape, toOnehotY: true, grad: true } as const;
      const expected = diceLoss(p, t, options);

      const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }));
      const shared = await instantiate(await compileEmbedded(`${kind}-shared`, base64), kind, heap);
      const got = withRuntime(shared, () => diceLoss(p, t, options));
      expect(heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(got.loss).toBe(expected.loss);
      expect(got.grad).toEqual(expected.grad);
    },
  );
});
