// The Conv3D and max-pooling kernels of both builds (SIMD and scalar, plain and
// shared memory) on a heap of our own, on the shapes tfjs accepts that tile
// awkwardly: explicit padding, dilation with stride, empty outputs and batches,
// three blocks of output channels, uneven 'same' padding, negative values, NaN
// and ties; and the module has no data segment, since it runs on tfjs's memory.
import { backend_util } from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { conv3dScalar, conv3dScalarShared, conv3dSimd, conv3dSimdShared } from "../src/generated/conv3d.js";
import { Heap } from "../src/heap.js";
import { checkGeometry } from "../src/tfjs/conv3d/geometry.js";
import {
  type Conv3DExports,
  type Conv3DRuntime,
  filterGrad,
  forward,
  inputGrad,
  maxPool,
  maxPoolGrad,
} from "../src/tfjs/conv3d/kernels.js";
import { conv3dReference, filterGradReference, inputGradReference, maxPoolReference } from "./conv3d-reference.js";
import { relMaxError, uniform, wasmSections } from "./helpers.js";

type Shape5 = [number, number, number, number, number];
type Triple = number | [number, number, number];

const BUILDS = [
  { name: "simd", base64: conv3dSimd, shared: false },
  { name: "scalar", base64: conv3dScalar, shared: false },
  { name: "simd, shared memory", base64: conv3dSimdShared, shared: true },
  { name: "scalar, shared memory", base64: conv3dScalarShared, shared: true },
];

function runtimeOf(base64: string, shared: boolean): Conv3DRuntime {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared });
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  checkGeometry(instance.exports);
  const kernels = instance.exports as unknown as Conv3DExports;
  return { kernels, heap: new Heap(memory), lanes: kernels.LANES.value as number };
}

const CASES: Array<{ x: Shape5; filter: Shape5; strides: Triple; pad: "same" | "valid" | number; dilations: Triple }> =
  [
    { x: [1, 6, 7, 5, 3], filter: [3, 3, 3, 3, 4], strides: 1, pad: 2, dilations: 1 },
    { x: [2, 9, 8, 10, 5], filter: [3, 2, 3, 5, 7], strides: [1, 2, 3], pad: "same", dilations: [3, 2, 1] },
    { x: [1, 5, 6, 7, 20], filter: [2, 2, 2, 20, 20], strides: 2, pad: "valid", dilations: 1 },
    { x: [1, 3, 3, 3, 2], filter: [4, 4, 4, 2, 3], strides: 1, pad: "valid", dilations: 1 },
    { x: [0, 4, 4, 4, 2], filter: [3, 3, 3, 2, 3], strides: 1, pad: "same", dilations: 1 },
    { x: [1, 7, 7, 7, 9], filter: [1, 3, 5, 9, 17], strides: [4, 1, 2], pad: 1, dilations: 1 },
  ];

describe.each(BUILDS)("Conv3D kernels, $name build", ({ base64, shared }) => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))("%s", (_, c) => {
    const rt = runtimeOf(base64, shared);
    const info = backend_util.computeConv3DInfo(c.x, c.filter, c.strides, c.dilations, c.pad);
    const size = (s: number[]) => s.reduce((a, d) => a * d, 1);
    const [nx, nw, ny] = [size(c.x), size(c.filter), size(info.outShape)];
    const x = uniform(nx, 1, -1, 1);
    const w = uniform(nw, 2, -1, 1);
    const dy = uniform(ny, 3, -1, 1);
    // operands in wasm memory, each followed by a guard value nothing may overwrite
    const put = (values: Float32Array) => {
      const ptr = rt.heap.alloc(4 * values.length + 4);
      new Float32Array(rt.heap.memory.buffer, ptr, values.length + 1).set([...values, 1234.5]);
      return ptr;
    };
    const [px, pw, pdy] = [put(x), put(w), put(dy)];
    const [py, pdx, pdw] = [put(new Float32Array(ny)), put(new Float32Array(nx)), put(new Float32Array(nw))];
    const read = (ptr: number, n: number) => new Float32Array(rt.heap.memory.buffer, ptr, n + 1).slice();
    const guard = (ptr: number, n: number) => expect(read(ptr, n)[n]).toBe(1234.5);

    forward(rt, info, px, pw, py);
    expect(relMaxError(read(py, ny).subarray(0, ny), conv3dReference(info, x, w))).toBeLessThan(1e-5);
    guard(py, ny);
    if (c.dilations === 1) {
      inputGrad(rt, info, pdy, pw, pdx);
      expect(relMaxError(read(pdx, nx).subarray(0, nx), inputGradReference(info, dy, w))).toBeLessThan(1e-5);
      guard(pdx, nx);
      filterGrad(rt, info, px, pdy, pdw);
      expect(relMaxError(read(pdw, nw).subarray(0, nw), filterGradReference(info, x, dy))).toBeLessThan(1e-5);
      guard(pdw, nw);
    }
    for (const [p, n] of [
      [px, nx],
      [pw, nw],
      [pdy, ny],
    ] as const)
      guard(p, n); // inputs untouched past their end
    expect(read(px, nx).subarray(0, nx)).toEqual(x);
  });
});

const POOLS: Array<{ x: Shape5; filter: Triple; strides: Triple; pad: "same" | "valid" | number; dilations?: Triple }> =
  [
    { x: [1, 7, 8, 7, 6], filter: 2, strides: 2, pad: "same" }, // uneven padding: after the input only
    { x: [2, 5, 6, 7, 4], filter: 3, strides: [1, 2, 3], pad: "same" },
    { x: [1, 6, 6, 6, 9], filter: [2, 3, 1], strides: 2, pad: "valid" },
    { x: [1, 5, 5, 5, 3], filter: 3, strides: 1, pad: 1 },
    { x: [1, 3, 3, 3, 5], filter: 2, strides: 2, pad: 3 }, // windows wholly in the padding: −∞, no gradient
    { x: [1, 9, 6, 9, 5], filter: [2, 3, 2], strides: [1, 2, 1], pad: "valid", dilations: [2, 1, 3] },
    { x: [0, 4, 4, 4, 2], filter: 2, strides: 2, pad: "same" },
  ];

describe.each(BUILDS)("MaxPool3D kernels, $name build", ({ base64, shared }) => {
  it.each(POOLS.map((c) => [JSON.stringify(c), c] as const))("%s", (_, c) => {
    const rt = runtimeOf(base64, shared);
    const info = backend_util.computePool3DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad);
    const size = (s: number[]) => s.reduce((a, d) => a * d, 1);
    const [nx, ny] = [size(c.x), size(info.outShape)];
    const C = c.x[4];
    // negative values (tfjs-wasm's own kernel gets them wrong), ties (steps of 1/4), a few NaN,
    // and channel 1 all NaN: windows with no maximum, whose gradient goes nowhere
    const x = uniform(nx, 4, -3, 1).map((v, i) => (i % 37 === 5 || i % C === 1 ? Number.NaN : Math.round(v * 4) / 4));
    const dy = uniform(ny, 5, -1, 1);
    // each operand between two guard values that nothing may overwrite
    const put = (values: Float32Array) => {
      const ptr = rt.heap.alloc(4 * values.length + 8);
      new Float32Array(rt.heap.memory.buffer, ptr, values.length + 2).set([1234.5, ...values, 1234.5]);
      return ptr + 4;
    };
    const [px, pdy, py, pdx] = [put(x), put(dy), put(new Float32Array(ny)), put(new Float32Array(nx).fill(7))];
    const read = (ptr: number, n: number) => new Float32Array(rt.heap.memory.buffer, ptr - 4, n + 2).slice();
    const want = maxPoolReference(info, x, dy);
    maxPool(rt, info, px, py);
    expect(Array.from(read(py, ny))).toEqual([1234.5, ...want.y, 1234.5]);
    maxPoolGrad(rt, info, pdy, px, pdx);
    const dx = read(pdx, nx);
    expect(relMaxError(dx.subarray(1, nx + 1), want.dx)).toBeLessThan(1e-6);
    expect([dx[0], dx[nx + 1]]).toEqual([1234.5, 1234.5]);
    expect(read(px, nx)).toEqual(Float32Array.from([1234.5, ...x, 1234.5]));
    expect(read(pdy, ny)).toEqual(Float32Array.from([1234.5, ...dy, 1234.5]));
  });
});

it.each(BUILDS)(
  "the $name build has no data segment (it must not write its owner's memory when instantiated)",
  ({ base64 }) => {
    const sections = wasmSections(base64);
    expect(sections).toContain(10); // the code section: the walk above did read the module
    expect(sections).not.toContain(11); // data
    expect(sections).not.toContain(12); // data count
    expect(sections).not.toContain(8); // start: nothing may run at instantiation
  },
);
