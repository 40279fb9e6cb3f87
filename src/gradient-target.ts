// Where a loss writes its gradient, checked: the caller's array or volume, or a
// fresh array; never one that shares memory with what the loss reads.
import { DiceWasmError } from "./errors.js";
import { type LossOptions, type Prediction, type Source, sourceOf, type Target } from "./options.js";
import { WasmVolume } from "./volume.js";

/** Where to write the gradient: the caller's array or volume, or a fresh array. */
export function gradTarget(
  fn: string,
  grad: LossOptions["grad"],
  input: Prediction,
  target: Target,
): Source<Float32Array> | undefined {
  if (!grad) return undefined;
  const view = input instanceof WasmVolume ? input.array : input;
  const length = view?.length;
  // resolveProblem names a bad or detached prediction
  if (!Number.isSafeInteger(length) || view?.buffer?.byteLength === 0) return undefined;
  if (grad === true) return { array: new Float32Array(length), ptr: undefined };
  const source = sourceOf(grad);
  if (!(source?.array instanceof Float32Array) || source.array.length !== length) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${fn}: grad must be true, or a Float32Array (or float32 volume) of the prediction's ${length} elements${source?.array.buffer.byteLength === 0 ? "; this one is a detached view of WebAssembly memory (volume.array taken before memory grew): pass the volume itself" : ""}.`,
    );
  }
  for (const [name, other] of [
    ["prediction", input],
    ["target", target],
  ] as const) {
    if (overlaps(source.array, other instanceof WasmVolume ? other.array : other)) {
      throw new DiceWasmError(
        "INVALID_OPTION",
        `${fn}: grad shares memory with the ${name}; pass a separate array (the gradient is written while the ${name} is read).`,
      );
    }
  }
  return source as Source<Float32Array>;
}

/** True when two typed arrays view overlapping bytes of one buffer. */
function overlaps(a: ArrayBufferView, b: unknown): boolean {
  if (!ArrayBuffer.isView(b) || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
