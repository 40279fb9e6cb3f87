// Shared test fixtures: a seeded generator, synthetic volumes, both builds.
import { expect } from "vitest";
import { DiceWasmError, type DiceWasmErrorCode, init } from "../src/index.js";
import { elementIndex } from "../src/layout.js";
import { seededRandom } from "../src/random.js";

/** Both kernel builds; `describe.each(BUILDS)` runs a suite on each. */
export const BUILDS = [{ simd: true }, { simd: false }] as const;

export async function useBuild(build: { simd: boolean }): Promise<void> {
  await init(build);
}

export { seededRandom };

export function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

type LabelType = Uint8ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor;

/** n class ids in [0, C), uniformly drawn, in the given array type. */
export function labels<T extends LabelType>(Type: T, n: number, C: number, seed: number): InstanceType<T> {
  const r = seededRandom(seed);
  const out = new Type(n) as InstanceType<T>;
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * C);
  return out;
}

/** One-hot mask of `labelMap` in the given layout. */
export function oneHot(
  labelMap: ArrayLike<number>,
  B: number,
  S: number,
  C: number,
  layout: "channels-last" | "channels-first",
): Float32Array {
  const out = new Float32Array(B * S * C);
  const at = elementIndex(layout, C, S);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < S; v++) {
      out[at(b, labelMap[b * S + v]!, v)] = 1;
    }
  }
  return out;
}

/** The shape array for B, spatial dims and C in a layout. */
export function shapeOf(B: number, spatial: number[], C: number, layout: "channels-last" | "channels-first"): number[] {
  return layout === "channels-last" ? [B, ...spatial, C] : [B, C, ...spatial];
}

/** max |a − b| over max |b|: one number that says how close two arrays are. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return gradError(a, b, 0);
}

/** float32 unit roundoff u = 2^-24: half an ulp of 1. */
export const U32 = 2 ** -24;

/**
 * (max |a − b| − abs) over max |b|, floored at 0. Central differences in float64
 * carry about 1e-10 of noise, which dominates gradients that are themselves ~1e-8.
 */
export function gradError(a: ArrayLike<number>, b: ArrayLike<number>, abs = 1e-9): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Math.max(0, err - abs) / (scale || 1);
}

/** `run` throws a DiceWasmError with this code and a message that mentions `mentions`. */
export function expectError(run: () => unknown, code: DiceWasmErrorCode, mentions: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DiceWasmError);
  expect((caught as DiceWasmError).code).toBe(code);
  expect((caught as DiceWasmError).message).toMatch(mentions);
}

/** The section ids of a wasm binary (base64), in order: 10 is code, 11 data, 12 data count, 8 start. */
export function wasmSections(base64: string): number[] {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const sections: number[] = [];
  // the binary format: an 8-byte header, then sections of (id, LEB128 size, payload)
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at++]!;
    let [length, shift] = [0, 0];
    for (let byte = 0x80; byte & 0x80; shift += 7) {
      byte = bytes[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
    }
    sections.push(id);
    at += length;
  }
  return sections;
}
