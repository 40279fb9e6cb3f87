// Arrays that live in the kernels' memory, for callers who want no copy at all.
import { DiceWasmError } from "./errors.js";
import type { Allocator } from "./heap.js";
import { runtime } from "./runtime.js";

/** Element types a volume can hold: predictions are float32; label maps any of these. */
export type VolumeDtype = "float32" | "uint8" | "uint16" | "int32";

const ARRAY_TYPES = {
  float32: Float32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  int32: Int32Array,
} as const;

type ArrayOf<D extends VolumeDtype> = InstanceType<(typeof ARRAY_TYPES)[D]>;

/**
 * A typed array in WebAssembly memory that the losses read (and write gradients
 * into) in place. Fetch `.array` each time you use it: growing the memory for
 * another volume detaches earlier views, and the getter hands out a fresh one.
 */
export class WasmVolume<D extends VolumeDtype = VolumeDtype> {
  #byteOffset: number;
  #heap: Allocator;
  #view: ArrayOf<D> | undefined;

  /** @internal use createVolume */
  constructor(
    readonly length: number,
    readonly dtype: D,
    heap: Allocator,
  ) {
    this.#heap = heap;
    this.#byteOffset = heap.alloc(length * ARRAY_TYPES[dtype].BYTES_PER_ELEMENT);
  }

  /** The data, as a typed array viewing WebAssembly memory. */
  get array(): ArrayOf<D> {
    const buffer = this.#heap.memory.buffer;
    if (this.#byteOffset < 0 || this.#heap.isRetired) {
      throw new DiceWasmError("VOLUME_FREED", "this volume was freed (or init() ran again); create a new one.");
    }
    if (!this.#view || this.#view.buffer !== buffer) {
      this.#view = new ARRAY_TYPES[this.dtype](buffer, this.#byteOffset, this.length) as ArrayOf<D>;
    }
    return this.#view;
  }

  /** @internal byte offset in WebAssembly memory */
  get byteOffset(): number {
    this.array; // throws when freed
    return this.#byteOffset;
  }

  get bytesPerElement(): number {
    return ARRAY_TYPES[this.dtype].BYTES_PER_ELEMENT;
  }

  /** Returns the memory. Using the volume afterwards throws. Safe to call twice. */
  free(): void {
    if (this.#byteOffset < 0) return;
    if (!this.#heap.isRetired) this.#heap.release(this.#byteOffset, this.length * this.bytesPerElement);
    this.#byteOffset = -1;
    this.#view = undefined;
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/**
 * Allocates a zero-filled array of `length` elements in WebAssembly memory.
 * Losses given a volume read it where it lies (no copy); free it when done.
 *
 * @example
 * const probs = createVolume(2 * 64 ** 3);
 * probs.array.set(myProbabilities);
 * const { loss } = diceLoss(probs, labels, { shape: [1, 64, 64, 64, 2], toOnehotY: true });
 * probs.free();
 */
export function createVolume<D extends VolumeDtype = "float32">(length: number, dtype?: D): WasmVolume<D> {
  const type = (dtype ?? "float32") as D;
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new DiceWasmError("INVALID_SHAPE", `createVolume: length must be a whole number ≥ 0, got ${length}.`);
  }
  if (typeof type !== "string" || !Object.hasOwn(ARRAY_TYPES, type)) {
    throw new DiceWasmError(
      "UNSUPPORTED_DTYPE",
      `createVolume: dtype must be one of ${Object.keys(ARRAY_TYPES).join(", ")}, got ${String(type)}.`,
    );
  }
  const volume = new WasmVolume(length, type, runtime().heap);
  volume.array.fill(0); // memory handed back by free() may hold old data
  return volume;
}
