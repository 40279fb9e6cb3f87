// Zero-copy volumes, streaming with bounded memory, and the allocator.
import { beforeAll, describe, expect, it } from "vitest";
import { scalarWasm, simdWasm } from "../src/generated/wasm.js";
import { Heap } from "../src/heap.js";
import { createVolume, diceLoss, generalizedDiceLoss, init } from "../src/index.js";
import { referenceLoss } from "../src/reference/losses.js";
import { compileEmbedded, runtime } from "../src/runtime.js";
import { workspaceLayout } from "../src/workspace.js";
import { BUILDS, labels, uniform, useBuild } from "./helpers.js";

it("a workspace above 2 GiB: byte offsets become indices unsigned (a signed shift broke every later call)", async () => {
  await init({ wasm: await compileEmbedded("simd", simdWasm) }); // a runtime of its own
  // 9 volumes of 256 MiB push the next allocation, the workspace for 1,100 classes, past 2^31 bytes;
  // fresh wasm pages are zero and untouched, so this costs address space, not RAM
  const volumes = Array.from({ length: 9 }, () => createVolume(2 ** 26));
  try {
    const [S, C] = [16, 1100];
    const x = uniform(S * C, 41, -2, 2);
    const map = labels(Uint16Array, S, C, 42);
    const o = { shape: [1, S, C], softmax: true, toOnehotY: true } as const;
    const { loss, grad } = diceLoss(x, map, { ...o, grad: true });
    expect(runtime().heap.memory.buffer.byteLength).toBeGreaterThan(2 ** 31);
    expect(Math.abs((loss as number) - (referenceLoss("dice", x, map, o) as number))).toBeLessThan(1e-6);
    expect(grad!.every(Number.isFinite)).toBe(true);
  } finally {
    for (const v of volumes) v.free();
  }
  await init();
}, 60_000);

describe.each(BUILDS)("volumes in wasm memory (simd: $simd)", (build) => {
  beforeAll(() => useBuild(build));

  it("a volume larger than the chunk buffer streams without growing memory", async () => {
    // a runtime of its own, whose memory holds nothing else whatever ran before
    const name = build.simd ? "simd" : "scalar";
    await init({ ...build, wasm: await compileEmbedded(name, build.simd ? simdWasm : scalarWasm) });
    const n = 2 ** 22; // 16 MiB of predictions, 256 chunks
    const x = uniform(n, 5, -3, 3);
    const map = labels(Uint8Array, n / 4, 4, 6);
    const opts = {
      shape: [1, 128, 128, 64, 4],
      softmax: true,
      toOnehotY: true,
      grad: true,
    } as const;
    diceLoss(x.subarray(0, 4096), map.subarray(0, 1024), {
      ...opts,
      shape: [1, 16, 16, 4, 4],
    }); // warm the allocator
    const before = runtime().heap.memory.buffer.byteLength;
    const r = generalizedDiceLoss(x, map, opts);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(runtime().heap.memory.buffer.byteLength).toBe(before);
    expect(before).toBeLessThan(4 * 2 ** 20);
  });

  it("a workspace growth that fails leaves the old workspace in use, and volumes made after it intact", () => {
    // 2^27 classes need a workspace of gigabytes: growth fails before the arrays are even checked
    expect(() => diceLoss(new Float32Array(4), new Float32Array(4), { shape: [1, 1, 2 ** 27] })).toThrow(
      expect.objectContaining({ code: "OUT_OF_MEMORY" }),
    );
    const v = createVolume(4096);
    v.array.fill(7);
    const x = uniform(3 * 500, 3, -2, 2);
    diceLoss(x, labels(Uint8Array, 500, 3, 4), { shape: [1, 500, 3], softmax: true, toOnehotY: true, grad: true });
    expect(v.array.every((value) => value === 7)).toBe(true);
    v.free();
  });

  it("a volume's view taken before memory grew: the error says to take it again", () => {
    const x = createVolume(300);
    const stale = x.array;
    const big = createVolume(2 ** 22); // grows memory: `stale` is detached
    expect(stale.length).toBe(0);
    expect(() => diceLoss(stale, new Float32Array(300), { shape: [1, 100, 3] })).toThrow(
      expect.objectContaining({ code: "LENGTH_MISMATCH", message: expect.stringMatching(/take volume\.array again/) }),
    );
    x.free();
    big.free();
  });

  it("a grad volume is returned attached, also when the loss grew memory for many classes", () => {
    // enough classes that the workspace outgrows the memory as it is now
    let C = 1024;
    while (workspaceLayout(C, runtime().lanes).bytes <= runtime().heap.memory.buffer.byteLength) C *= 2;
    const x = createVolume(16 * C);
    x.array.set(uniform(16 * C, 7, -1, 1));
    const map = labels(Uint16Array, 16, C, 8);
    const g = createVolume(16 * C);
    const before = runtime().heap.memory.buffer.byteLength;
    const { grad } = diceLoss(x, map, { shape: [1, 16, C], softmax: true, toOnehotY: true, grad: g });
    expect(runtime().heap.memory.buffer.byteLength).toBeGreaterThan(before); // the workspace grew
    expect(grad!.length).toBe(16 * C);
    expect(grad!.some((v) => v !== 0)).toBe(true);
    x.free();
    g.free();
  });

  it.each(["channels-last", "channels-first"] as const)(
    "read in place give the same loss and gradient as copies (%s)",
    (layout) => {
      const shape = layout === "channels-last" ? [2, 9, 7, 3] : [2, 3, 9, 7];
      const x = uniform(378, 1, -2, 2);
      const map = labels(Uint16Array, 126, 3, 2);
      const opts = {
        shape,
        layout,
        softmax: true,
        toOnehotY: true,
        grad: true,
      } as const;
      const copied = diceLoss(x, map, opts);
      const vx = createVolume(378);
      const vl = createVolume(126, "uint16");
      const vg = createVolume(378);
      vx.array.set(x);
      vl.array.set(map);
      const inPlace = diceLoss(vx, vl, { ...opts, grad: vg });
      expect(inPlace.loss).toBe(copied.loss);
      expect(vg.array).toEqual(copied.grad);
      expect(inPlace.grad).toBe(vg.array);
      // a raw view into wasm memory is recognised too
      expect(diceLoss(vx.array, vl.array, opts).loss).toBe(copied.loss);
      for (const v of [vx, vl, vg]) v.free();
    },
  );

  it("float masks and gradients in wasm memory, every activation", () => {
    const shape = [2, 3, 50];
    const x = uniform(300, 4, -2, 2);
    const mask = uniform(300, 5).map((v) => (v < 0.4 ? 0 : 1));
    const vx = createVolume(300);
    const vt = createVolume(300);
    const vg = createVolume(300);
    vx.array.set(x);
    vt.array.set(mask);
    for (const act of [{}, { sigmoid: true }, { softmax: true }]) {
      for (const layout of ["channels-last", "channels-first"] as const) {
        const opts = { shape: layout === "channels-last" ? [2, 50, 3] : shape, layout, ...act };
        const copied = diceLoss(x, mask, { ...opts, grad: true });
        const inPlace = diceLoss(vx, vt, { ...opts, grad: vg });
        expect(inPlace.loss).toBe(copied.loss);
        expect(vg.array).toEqual(copied.grad);
      }
    }
    for (const v of [vx, vt, vg]) v.free();
  });

  it("views stay usable after memory grows (the getter re-makes them)", () => {
    const a = createVolume(1000);
    a.array.fill(0.5);
    const big = createVolume(8 * 2 ** 20); // forces growth, detaching old views
    expect(a.array.length).toBe(1000);
    expect(a.array[999]).toBe(0.5);
    big.free();
    a.free();
  });
});

describe("heap allocator", () => {
  it("reuses and coalesces freed blocks, and returns the top to the bump pointer", async () => {
    await init();
    const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
    const a = heap.alloc(100);
    const b = heap.alloc(200);
    const c = heap.alloc(300);
    heap.release(b, 200);
    expect(heap.alloc(150)).toBe(b); // first fit
    heap.release(b, 150);
    heap.release(a, 100);
    expect(heap.alloc(250)).toBe(a); // a and b merged
    heap.release(a, 250);
    heap.release(c, 300);
    expect(heap.live).toBe(0);
    expect(heap.alloc(64)).toBe(a); // everything merged back to the start
  });

  it("grows memory on demand and says so when it cannot", () => {
    const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 2 }));
    expect(heap.alloc(100_000)).toBeGreaterThan(0);
    expect(() => heap.alloc(100_000)).toThrow(/could not grow WebAssembly memory/);
    expect(heap.live).toBe(1);
  });
});
