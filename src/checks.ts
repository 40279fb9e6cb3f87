// Checks on the data itself. They cost no extra pass: NaN and ±Infinity reach
// the sums (or the activation kernel's count), and invalid labels leave the
// per-class label counts short of the voxel count. Only when a check fires do we
// scan the arrays, to say exactly where the problem is.
import { DiceWasmError } from "./errors.js";
import { ACT_NONE } from "./kernel-codes.js";
import type { Problem } from "./options.js";
import type { RawStats } from "./passes.js";

function firstNonFinite(array: Float32Array): number {
  for (let i = 0; i < array.length; i++) if (!Number.isFinite(array[i]!)) return i;
  return -1;
}

export function checkData(problem: Problem, raw: RawStats): void {
  const finite = [raw.tp, raw.fp, raw.fn, raw.se].every((a) => a.every(Number.isFinite));
  if (raw.nonFinite > 0 || !finite) nonFinite(problem);
  const { C } = problem;
  checkLabels(problem, (b) => {
    // every voxel is labelled with a class or left out (ignoreIndex, mask)
    let labelled = raw.ignored[b]!;
    for (let c = 0; c < C; c++) labelled += raw.count[b * C + c]!;
    return labelled;
  });
}

/** Names the non-finite value behind sums that are not finite. */
export function nonFinite(problem: Problem): never {
  const { input, target } = problem;
  const at = firstNonFinite(input.array);
  if (at >= 0) {
    throw new DiceWasmError(
      "NON_FINITE_INPUT",
      `the prediction holds ${input.array[at]} at index ${at}; find where your network produced it (a NaN loss upstream, a division by zero) before computing the loss.`,
      { index: at, value: input.array[at] },
    );
  }
  const t = target.kind === "mask" ? firstNonFinite(target.source.array) : -1;
  if (t >= 0) {
    const value = target.source.array[t];
    throw new DiceWasmError(
      "NON_FINITE_TARGET",
      `the target holds ${value} at index ${t}; targets must be in [0, 1].`,
      {
        index: t,
        value,
      },
    );
  }
  throw new DiceWasmError(
    "NON_FINITE_INPUT",
    problem.act === ACT_NONE
      ? "the statistics overflowed float32: prediction or target values are far outside [0, 1]; pass probabilities, or logits with sigmoid/softmax."
      : "the logits are finite but overflow float32 when shifted by their maximum (a spread above ~3.4e38): rescale them.",
  );
}

/**
 * Throws for the first label that is no class id and is not left out, in the
 * batch items where `accounted(b)` (the voxels labelled or left out, when the
 * kernels counted them) falls short of the voxel count: by default, all.
 */
export function checkLabels(problem: Problem, accounted: (b: number) => number = () => -1): void {
  const { B, C, S, target } = problem;
  if (target.kind !== "label") return;
  const ignoreIndex = problem.ignore?.index;
  const mask = problem.ignore?.mask?.array;
  for (let b = 0; b < B; b++) {
    if (accounted(b) === S) continue;
    const labels = target.source.array as unknown as ArrayLike<number>;
    for (let i = b * S; i < (b + 1) * S; i++) {
      const l = labels[i]!;
      if ((Number.isInteger(l) && l >= 0 && l < C) || l === ignoreIndex || mask?.[i] === 0) continue;
      if (!Number.isInteger(l)) {
        throw new DiceWasmError(
          "NON_INTEGER_LABEL",
          `label ${l} at index ${i} is not a whole number; a label map holds class ids. A resampled map needs nearest-neighbour interpolation; soft targets go in a float mask (toOnehotY: false, softLabel: true).`,
          { index: i, value: l },
        );
      }
      // an ignoreIndex the label type cannot hold (−1 with uint8 labels) matches nothing
      const unreachable =
        ignoreIndex !== undefined && ArrayBuffer.isView(labels) && !fitsType(ignoreIndex, labels as IntegerLabels)
          ? ` ignoreIndex ${ignoreIndex} cannot occur in a ${labels.constructor.name}: did you mean ${wrapped(ignoreIndex, labels as IntegerLabels)}?`
          : "";
      throw new DiceWasmError(
        "LABEL_OUT_OF_RANGE",
        `label ${l} at index ${i} is not a class id in [0, ${C}); the prediction has ${C} classes. Check the label map's values (a resampled or non-integer map?) or the number of output channels.${unreachable}`,
        { index: i, value: l, numClasses: C },
      );
    }
  }
}

type IntegerLabels = Uint8Array | Uint16Array | Int32Array;

/** Whether an integer label array can hold x. */
function fitsType(x: number, labels: IntegerLabels | Float32Array): boolean {
  if (labels instanceof Float32Array) return Math.fround(x) === x;
  const probe = new (labels.constructor as Uint8ArrayConstructor)(1);
  probe[0] = x;
  return probe[0] === x;
}

/** x as the label array's type stores it (−1 in a Uint8Array is 255). */
function wrapped(x: number, labels: IntegerLabels): number {
  const probe = new (labels.constructor as Uint8ArrayConstructor)(1);
  probe[0] = x;
  return probe[0]!;
}
