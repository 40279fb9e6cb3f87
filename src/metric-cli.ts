/// <reference types="node" />
// npx dice-wasm metric PRED TRUTH: per-class Dice, IoU, voxel counts and
// volumes of two NIfTI label volumes, or of two folders of them paired by name
// (then per case, and over the dataset from the merged counts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DiceWasmError } from "./errors.js";
import { type ConfusionCounts, confusionCounts, mergeCounts } from "./metrics/counts.js";
import { type NiftiLabels, readNiftiLabels } from "./nifti.js";
import { init } from "./runtime.js";

export interface ClassRow {
  label: number;
  dice: number | null;
  iou: number | null;
  truthVoxels: number;
  predictionVoxels: number;
  truthVolumeMm3: number;
  predictionVolumeMm3: number;
}

export interface Scores {
  classes: ClassRow[];
  /** over the classes present in the truth (the others' Dice is null, MONAI's ignore_empty) */
  meanDice: number | null;
}

export interface MetricArgs {
  prediction: string;
  truth: string;
  /** labels to report; default every label present in either volume but 0 */
  classes?: number[];
  includeBackground?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
  onWarning?: (message: string) => void;
}

const isNifti = (file: string) => /\.nii(\.gz)?$/.test(file);

/** A .nii or .nii.gz file's label volume; errors name the file. */
function load(path: string): NiftiLabels {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error}).`,
    );
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DiceWasmError("INVALID_SHAPE", `${path}: a corrupt gzip stream (${(error as Error).message}).`);
    }
  }
  return readNiftiLabels(bytes, path);
}

/** Checks that two volumes describe the same grid: dimensions (an error), voxel size and affine (warnings). */
function paired(p: NiftiLabels, t: NiftiLabels, names: [string, string], warn: (m: string) => void): void {
  // [64, 64, 64, 1] and [64, 64, 64] are the same grid
  const grid = (dims: number[]) => {
    let rank = dims.length;
    while (rank > 1 && dims[rank - 1] === 1) rank--;
    return dims.slice(0, rank).join();
  };
  if (grid(p.dims) !== grid(t.dims)) {
    throw new DiceWasmError(
      "SHAPE_MISMATCH",
      `${names[0]} is [${p.dims}] voxels but ${names[1]} is [${t.dims}]: resample the prediction to the truth's grid (nearest neighbour).`,
    );
  }
  const mm = (v: number[]) => `${v.map((x) => +x.toPrecision(6)).join(" × ")} mm`;
  const close = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]!) <= 1e-4 * Math.max(1, Math.abs(x)));
  if (!close(p.pixdim, t.pixdim))
    warn(
      `${names[0]}: voxel size ${mm(p.pixdim)} differs from ${names[1]}'s ${mm(t.pixdim)}; volumes use the truth's.`,
    );
  if (p.affine && t.affine && !close(p.affine.flat(), t.affine.flat())) {
    warn(`${names[0]}: its affine differs from ${names[1]}'s; are they in the same space?`);
  }
}

/** The scores of `counts` (one batch item) for `labels`, volumes from the truth's voxel size. */
function scores(counts: ConfusionCounts, labels: number[], mm3: number): Scores {
  const classes = labels.map((label) => {
    const [tp, fp, fn] = [counts.tp[label] ?? 0, counts.fp[label] ?? 0, counts.fn[label] ?? 0];
    const [truth, predicted] = [tp + fn, tp + fp];
    return {
      label,
      dice: truth > 0 ? (2 * tp) / (truth + predicted) : null,
      iou: truth > 0 ? tp / (tp + fp + fn) : null,
      truthVoxels: truth,
      predictionVoxels: predicted,
      truthVolumeMm3: truth * mm3,
      predictionVolumeMm3: predicted * mm3,
    };
  });
  const defined = classes.flatMap((c) => (c.dice === null ? [] : [c.dice]));
  return { classes, meanDice: defined.length ? defined.reduce((a, d) => a + d, 0) / defined.length : null };
}

/** Counts of one pair of files with `numClasses` classes, and the truth's voxel volume. */
function countPair(pred: string, truth: string, warn: (m: string) => void) {
  const [p, t] = [load(pred), load(truth)];
  paired(p, t, [pred, truth], warn);
  let [min, max] = [0, 0];
  for (const map of [p.labels, t.labels]) {
    for (const l of map) [min, max] = [Math.min(min, l), Math.max(max, l)];
  }
  if (min < 0 || max >= 65536) {
    const [name, map] = p.labels.some((l) => l < 0 || l >= 65536) ? [pred, p.labels] : [truth, t.labels];
    const at = map.findIndex((l) => l < 0 || l >= 65536);
    throw new DiceWasmError("LABEL_OUT_OF_RANGE", `${name}: voxel ${at} holds ${map[at]}; labels are 0 to 65535.`);
  }
  const counts = confusionCounts(p.labels, t.labels, { shape: [1, t.labels.length], numClasses: max + 1 });
  return { counts, mm3: t.pixdim[0] * t.pixdim[1] * t.pixdim[2], max };
}

/** The entries of a folder, or an error that names it. */
function entries(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? error;
    throw new DiceWasmError("INVALID_OPTION", `${path}: not a folder of NIfTI files (${code}).`);
  }
}

/** The labels to report: the asked ones, or every label present but background. */
function labelsOf(counts: ConfusionCounts, args: MetricArgs): number[] {
  if (args.classes) return args.classes;
  const present: number[] = [];
  for (let c = args.includeBackground ? 0 : 1; c < counts.C; c++) {
    if (counts.tp[c]! + counts.fn[c]! + counts.fp[c]! > 0) present.push(c);
  }
  return present;
}

/** Scores of two files, or of two folders paired by file name (per case, and over all cases). */
export async function evaluateNifti(args: MetricArgs): Promise<Scores & { cases?: Array<Scores & { name: string }> }> {
  await init();
  const warn = args.onWarning ?? (() => {});
  const folder = statSync(args.prediction, { throwIfNoEntry: false })?.isDirectory();
  if (!folder) {
    const { counts, mm3, max } = countPair(args.prediction, args.truth, warn);
    const all = widen(counts, Math.max(max, ...(args.classes ?? [])) + 1);
    return scores(all, labelsOf(all, args), mm3);
  }
  const names = entries(args.truth).filter(isNifti).sort();
  const missing = names.filter((n) => !statSync(join(args.prediction, n), { throwIfNoEntry: false }));
  if (!names.length) throw new DiceWasmError("INVALID_OPTION", `${args.truth}: no .nii or .nii.gz files.`);
  if (missing.length) {
    throw new DiceWasmError(
      "INVALID_OPTION",
      `${args.prediction}: no prediction for ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ` and ${missing.length - 3} more` : ""}.`,
    );
  }
  const results = names.map((name, i) => {
    args.onProgress?.(i, names.length, basename(name));
    return { name, ...countPair(join(args.prediction, name), join(args.truth, name), warn) };
  });
  args.onProgress?.(names.length, names.length, "done");
  // the classes of the whole dataset (and those asked for), so that every case's counts merge
  const classes = Math.max(...results.map((r) => r.max), ...(args.classes ?? [])) + 1;
  const widened = results.map((r) => ({ ...r, counts: widen(r.counts, classes) }));
  const total = widened.map((r) => r.counts).reduce(mergeCounts);
  const labels = labelsOf(total, args);
  const cases = widened.map((r) => ({ name: r.name, ...scores(r.counts, labels, r.mm3) }));
  // the dataset's volumes: each case's in its own voxel size, summed
  const dataset = scores(total, labels, 0);
  for (const [i, row] of dataset.classes.entries()) {
    row.truthVolumeMm3 = cases.reduce((sum, c) => sum + c.classes[i]!.truthVolumeMm3, 0);
    row.predictionVolumeMm3 = cases.reduce((sum, c) => sum + c.classes[i]!.predictionVolumeMm3, 0);
  }
  return { ...dataset, cases };
}

/** One item's counts with `C` classes: a class it lacks is in no voxel, so every voxel is its true negative. */
function widen(counts: ConfusionCounts, C: number): ConfusionCounts {
  const voxels = counts.tp[0]! + counts.fp[0]! + counts.fn[0]! + counts.tn[0]!;
  const grow = (a: Float64Array, absent: number) => Float64Array.from({ length: C }, (_, c) => a[c] ?? absent);
  return {
    B: 1,
    C,
    tp: grow(counts.tp, 0),
    fp: grow(counts.fp, 0),
    fn: grow(counts.fn, 0),
    tn: grow(counts.tn, voxels),
  };
}

/** The table the CLI prints. */
/** "mean Dice over the K classes present (…absent…): x". */
function meanLine(result: Scores): string {
  const present = result.classes.filter((c) => c.dice !== null).length;
  const absent = result.classes.length - present;
  const note = absent ? ` (${absent} absent from the truth: no Dice, as MONAI's ignore_empty)` : "";
  return `mean Dice over the ${present} classes present${note}: ${result.meanDice === null ? "—" : result.meanDice.toFixed(4)}`;
}

export function formatScores(result: Scores): string {
  const fmt = (x: number | null, digits = 4) => (x === null ? "—" : x.toFixed(digits));
  const rows = result.classes.map((c) =>
    [
      c.label,
      fmt(c.dice),
      fmt(c.iou),
      c.truthVoxels,
      c.predictionVoxels,
      fmt(c.truthVolumeMm3, 1),
      fmt(c.predictionVolumeMm3, 1),
    ].map(String),
  );
  const head = ["label", "Dice", "IoU", "truth voxels", "predicted voxels", "truth mm³", "predicted mm³"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(head), ...rows.map(line), meanLine(result)].join("\n");
}
