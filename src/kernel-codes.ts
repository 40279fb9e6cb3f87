// The codes the kernels take, mirrored from assembly/codes.ts. The kernels
// export them as globals; init() checks this mirror against them (checkCodes),
// so the two cannot drift apart unnoticed.
import { DiceWasmError } from "./errors.js";

export const KERNEL_CODES = {
  ACT_NONE: 0,
  ACT_SIGMOID: 1,
  ACT_SOFTMAX: 2,
  TARGET_MASK: 0,
  LABEL_U8: 1,
  LABEL_U16: 2,
  LABEL_I32: 3,
  LABEL_F32: 4,
  LABEL_LANES: 5,
  MODE_HARD: 0,
  MODE_SOFT: 1,
  MODE_SQUARED: 2,
  COMP_NONE: 0,
  COMP_OUTSIDE_LABEL: 1,
  COMP_ELEMENTS: 2,
  STAT_TP: 0,
  STAT_FP: 1,
  STAT_FN: 2,
  STAT_SE: 3,
  STAT_COUNT: 4,
  STAT_CE: 5,
  STATS: 6,
  COEF_A: 0,
  COEF_B: 1,
  COEF_K: 2,
  COEF_H: 3,
  COEF_U: 4,
  COEFS: 8,
} as const;

export const {
  ACT_NONE,
  ACT_SIGMOID,
  ACT_SOFTMAX,
  TARGET_MASK,
  LABEL_U8,
  LABEL_U16,
  LABEL_I32,
  LABEL_F32,
  LABEL_LANES,
  MODE_HARD,
  MODE_SOFT,
  MODE_SQUARED,
  COMP_NONE,
  COMP_OUTSIDE_LABEL,
  COMP_ELEMENTS,
  STAT_TP,
  STAT_FP,
  STAT_FN,
  STAT_SE,
  STAT_COUNT,
  STAT_CE,
  STATS,
  COEF_A,
  COEF_B,
  COEF_K,
  COEF_H,
  COEF_U,
  COEFS,
} = KERNEL_CODES;

/** Throws unless every code above equals the global of the same name the kernel build exports. */
export function checkCodes(exports: WebAssembly.Exports): void {
  for (const [name, value] of Object.entries(KERNEL_CODES)) {
    const global = exports[name];
    const actual = global instanceof WebAssembly.Global ? global.value : undefined;
    if (actual !== value) {
      throw new DiceWasmError(
        "NOT_INITIALIZED",
        `this kernel build does not match the library: code ${name} is ${String(actual)} in the wasm, ${value} here; rebuild with npm run build:wasm, or pass the .wasm of this version.`,
        { code: name, expected: value, actual },
      );
    }
  }
}
