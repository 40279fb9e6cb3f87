// The codes the host passes to the kernels. src/kernel-codes.ts mirrors them,
// and init() checks the mirror against these values, exported as globals.

/** Activation fused into the passes. */
export const ACT_NONE = 0;
export const ACT_SIGMOID = 1;
export const ACT_SOFTMAX = 2;

/** What the target is: a float mask, or a label map of one of these types. */
export const TARGET_MASK = 0;
export const LABEL_U8 = 1;
export const LABEL_U16 = 2;
export const LABEL_I32 = 3;
export const LABEL_F32 = 4;
/** Labels as activate() leaves them per voxel (i32 lanes in SIMD, float in scalar). */
export const LABEL_LANES = 5;

/** Which terms pass 1 sums, and which coefficients pass 2 uses. */
export const MODE_HARD = 0;
export const MODE_SOFT = 1;
export const MODE_SQUARED = 2;

/** Where the statistics find 1 − p: computed from p, the per-voxel mass outside the label, or an element plane. */
export const COMP_NONE = 0;
export const COMP_OUTSIDE_LABEL = 1;
export const COMP_ELEMENTS = 2;

/** Statistics per class, float64 [STATS][W]: their order. */
export const STAT_TP = 0;
export const STAT_FP = 1;
export const STAT_FN = 2;
export const STAT_SE = 3;
export const STAT_COUNT = 4;
export const STAT_CE = 5;
export const STATS = 6;

/** Coefficient floats per class for pass 2, and their order. */
export const COEF_A = 0;
export const COEF_B = 1;
export const COEF_K = 2;
export const COEF_H = 3;
export const COEF_U = 4;
export const COEFS = 8;
