/** What went wrong, as a stable machine-readable code. */
export type DiceWasmErrorCode =
  | "NOT_INITIALIZED"
  | "INVALID_SHAPE"
  | "LENGTH_MISMATCH"
  | "SHAPE_MISMATCH"
  | "INVALID_OPTION"
  | "UNSUPPORTED_DTYPE"
  | "NON_FINITE_INPUT"
  | "NON_FINITE_TARGET"
  | "LABEL_OUT_OF_RANGE"
  | "NON_INTEGER_LABEL"
  | "VOLUME_FREED"
  | "OUT_OF_MEMORY"
  | "NOT_DIFFERENTIABLE";

/**
 * The one error type this package throws. `code` says what was wrong, the
 * message says what to do about it, `details` carries the numbers.
 *
 * @example
 * try { diceLoss(p, t, { shape: [1, 2, 8] }); }
 * catch (e) { if (e instanceof DiceWasmError && e.code === "LENGTH_MISMATCH") console.error(e.message); }
 */
export class DiceWasmError extends Error {
  override readonly name = "DiceWasmError";
  constructor(
    readonly code: DiceWasmErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
