// The NIfTI reader on files written field by field (test/nifti-writer.ts): both
// versions, both byte orders, every label type, scaling; and its errors. Then
// `dice-wasm metric` end to end on files and folders, against counts by hand.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readNiftiLabels } from "../src/nifti.js";
import { expectError, labels } from "./helpers.js";
import { niftiBytes } from "./nifti-writer.js";

describe("readNiftiLabels", () => {
  const dims = [5, 4, 3];
  const values = Array.from(labels(Int32Array, 60, 4, 1));

  it.each([
    [2, 1, true, Uint8Array],
    [512, 2, false, Uint16Array],
    [4, 2, true, Uint8Array],
    [8, 1, false, Uint8Array],
    [16, 2, true, Uint8Array],
    [64, 1, true, Uint8Array],
    [256, 2, false, Uint8Array],
  ] as const)("datatype %i, NIfTI-%i, little-endian %s: the labels as %o", (datatype, version, little, Type) => {
    const read = readNiftiLabels(niftiBytes({ dims, datatype, values, version, little, pixdim: [0.5, 0.5, 2] }));
    expect(read.labels).toBeInstanceOf(Type);
    expect(Array.from(read.labels)).toEqual(values);
    expect(read.dims).toEqual(dims);
    expect(read.pixdim).toEqual([0.5, 0.5, 2]);
    expect(read.affine).toBeUndefined();
  });

  it("scl_slope and scl_inter apply; the sform is the affine", () => {
    const sform = [
      [0.5, 0, 0, -10],
      [0, 0.5, 0, -20],
      [0, 0, 2, 5],
    ];
    const read = readNiftiLabels(
      niftiBytes({ dims, datatype: 4, values: values.map((v) => 2 * v), slope: 0.5, sform }),
    );
    expect(Array.from(read.labels)).toEqual(values);
    expect(read.affine).toEqual(sform);
  });

  it("voxel sizes in millimetres from xyzt_units: metres and micrometres converted", () => {
    const metres = niftiBytes({ dims, datatype: 2, values, pixdim: [0.001, 0.001, 0.002] });
    metres[123] = 1; // NIFTI_UNITS_METER
    expect(readNiftiLabels(metres).pixdim.map((x) => +x.toPrecision(6))).toEqual([1, 1, 2]);
    const microns = niftiBytes({ dims, datatype: 2, values, pixdim: [500, 500, 2000] });
    microns[123] = 3; // NIFTI_UNITS_MICRON
    expect(readNiftiLabels(microns).pixdim).toEqual([0.5, 0.5, 2]);
  });

  it("errors: not NIfTI, truncated, unsupported type, fractional labels, bad dimensions", () => {
    expectError(
      () => readNiftiLabels(new Uint8Array(400), "x.nii"),
      "INVALID_SHAPE",
      /x\.nii: not a NIfTI-1 or NIfTI-2 file/,
    );
    expectError(() => readNiftiLabels(new Uint8Array(10)), "INVALID_SHAPE", /too short/);
    const whole = niftiBytes({ dims, datatype: 2, values });
    expectError(() => readNiftiLabels(whole.subarray(0, whole.length - 1)), "INVALID_SHAPE", /truncated/);
    expectError(
      () => readNiftiLabels(niftiBytes({ dims, datatype: 32, values: [] })),
      "UNSUPPORTED_DTYPE",
      /datatype 32/,
    );
    const soft = values.map((v, i) => (i === 7 ? 0.5 : v));
    expectError(
      () => readNiftiLabels(niftiBytes({ dims, datatype: 16, values: soft })),
      "NON_INTEGER_LABEL",
      /voxel 7 holds 0\.5/,
    );
    expectError(
      () => readNiftiLabels(niftiBytes({ dims: [5, 0, 3], datatype: 2, values: [] })),
      "INVALID_SHAPE",
      /≥ 1/,
    );
    const nanOffset = niftiBytes({ dims, datatype: 2, values });
    new DataView(nanOffset.buffer).setFloat32(108, Number.NaN, true);
    expectError(() => readNiftiLabels(nanOffset), "INVALID_SHAPE", /vox_offset is NaN/);
    const huge = values.map((v, i) => (i === 2 ? 2 ** 32 + 1 : v));
    expectError(
      () => readNiftiLabels(niftiBytes({ dims, datatype: 64, values: huge })),
      "NON_INTEGER_LABEL",
      /voxel 2 holds 4294967297/,
    );
  });

  it("labels narrowed to the smallest unsigned type that holds them; negative ones stay int32", () => {
    // labels 0…3 of any type are uint8 (the counting kernel's vector path), as checked above
    expect(
      readNiftiLabels(niftiBytes({ dims, datatype: 8, values: values.map((v) => v * 1000) })).labels,
    ).toBeInstanceOf(Uint16Array);
    expect(readNiftiLabels(niftiBytes({ dims, datatype: 4, values: values.map((v) => v - 1) })).labels).toBeInstanceOf(
      Int32Array,
    );
  });
});

describe("npx dice-wasm metric", () => {
  const cli = (...args: string[]) => {
    const r = spawnSync("npx", ["tsx", "src/cli.ts", "metric", ...args], { encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const dir = mkdtempSync(join(tmpdir(), "dice-wasm-nifti-"));
  const dims = [6, 5, 4];
  const truth = Array.from(labels(Uint8Array, 120, 3, 2));
  const pred = truth.map((l, i) => (i % 4 === 0 ? (l + 1) % 3 : l));
  /** Dice and IoU of `label` by definition. */
  const expected = (p: number[], t: number[], label: number) => {
    let [tp, tv, pv] = [0, 0, 0];
    for (let i = 0; i < t.length; i++) {
      tv += t[i] === label ? 1 : 0;
      pv += p[i] === label ? 1 : 0;
      tp += t[i] === label && p[i] === label ? 1 : 0;
    }
    return { dice: (2 * tp) / (tv + pv), iou: tp / (tv + pv - tp), truthVoxels: tv, predictionVoxels: pv };
  };
  writeFileSync(join(dir, "truth.nii"), niftiBytes({ dims, datatype: 2, values: truth, pixdim: [0.5, 0.5, 2] }));
  writeFileSync(
    join(dir, "pred.nii.gz"),
    niftiBytes({ dims, datatype: 4, values: pred, version: 2, gzip: true, pixdim: [0.5, 0.5, 2] }),
  );

  it("two files, --json: per-class Dice, IoU, counts and mm³, the mean Dice", () => {
    const r = cli(join(dir, "pred.nii.gz"), join(dir, "truth.nii"), "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["classes", "meanDice"]);
    const rows = [1, 2].map((label) => {
      const e = expected(pred, truth, label);
      return { label, ...e, truthVolumeMm3: e.truthVoxels * 0.5, predictionVolumeMm3: e.predictionVoxels * 0.5 };
    });
    expect(out.classes.map((c: object) => Object.keys(c))[0]).toEqual([
      "label",
      "dice",
      "iou",
      "truthVoxels",
      "predictionVoxels",
      "truthVolumeMm3",
      "predictionVolumeMm3",
    ]);
    for (const [i, row] of rows.entries()) {
      for (const [key, value] of Object.entries(row)) expect(out.classes[i][key]).toBeCloseTo(value, 12);
    }
    expect(out.meanDice).toBeCloseTo((rows[0]!.dice + rows[1]!.dice) / 2, 12);
    const table = cli(join(dir, "pred.nii.gz"), join(dir, "truth.nii"), "--classes", "0,2");
    expect(table.stdout).toMatch(/label\s+Dice\s+IoU/);
    expect(table.stdout).toMatch(/mean Dice over the 2 classes present: /);
  });

  it("two folders, paired by name: the cases and the dataset from merged counts, a progress bar", () => {
    const [pd, td] = [join(dir, "p"), join(dir, "t")];
    mkdirSync(pd);
    mkdirSync(td);
    for (const name of ["a.nii", "b.nii.gz"]) {
      writeFileSync(join(td, name), niftiBytes({ dims, datatype: 2, values: truth, gzip: name.endsWith("gz") }));
      writeFileSync(
        join(pd, name),
        niftiBytes({ dims, datatype: 2, values: name === "a.nii" ? pred : truth, gzip: name.endsWith("gz") }),
      );
    }
    const r = cli(pd, td, "--json");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\[#+\] 2\/2/);
    const out = JSON.parse(r.stdout);
    expect(out.cases.map((c: { name: string }) => c.name)).toEqual(["a.nii", "b.nii.gz"]);
    expect(out.cases[1].meanDice).toBe(1);
    const both = expected([...pred, ...truth], [...truth, ...truth], 1);
    expect(out.classes[0].dice).toBeCloseTo(both.dice, 12);
    // volumes add up case by case (each case in its own voxel size: 1 mm³ here)
    expect(out.classes[0].truthVolumeMm3).toBe(both.truthVoxels);
    // --classes below the data's largest label: only those rows, the counts still whole (labels 2 exist)
    const one = JSON.parse(cli(pd, td, "--json", "--classes", "1,1").stdout);
    expect(one.classes.map((c: { label: number }) => c.label)).toEqual([1]);
    expect(one.classes[0].dice).toBeCloseTo(both.dice, 12);
  });

  it("errors: different grids (exit 1), a voxel size mismatch (a warning), a missing file, bad arguments (exit 2)", () => {
    writeFileSync(join(dir, "small.nii"), niftiBytes({ dims: [6, 5, 3], datatype: 2, values: truth.slice(0, 90) }));
    const grid = cli(join(dir, "small.nii"), join(dir, "truth.nii"));
    expect(grid.status).toBe(1);
    expect(grid.stderr).toMatch(/small\.nii is \[6,5,3\] voxels but .*truth\.nii is \[6,5,4\]: resample/);
    writeFileSync(join(dir, "coarse.nii"), niftiBytes({ dims, datatype: 2, values: pred, pixdim: [1, 1, 1] }));
    const coarse = cli(join(dir, "coarse.nii"), join(dir, "truth.nii"));
    expect(coarse.status).toBe(0);
    expect(coarse.stderr).toMatch(/warning: .*voxel size 1 × 1 × 1 mm differs from .*0\.5 × 0\.5 × 2 mm/);
    const missing = cli(join(dir, "nope.nii"), join(dir, "truth.nii"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.nii: cannot read it \(ENOENT\)/);
    expect(cli(join(dir, "truth.nii")).status).toBe(2);
    // a folder against a file, a folder that does not exist: named, exit 1, no stack trace
    const notDir = cli(dir, join(dir, "truth.nii"));
    expect([notDir.status, notDir.stderr]).toEqual([
      1,
      expect.stringMatching(/truth\.nii: not a folder of NIfTI files \(ENOTDIR\)/),
    ]);
    // a label no class can hold, named with its file
    writeFileSync(
      join(dir, "negative.nii"),
      niftiBytes({ dims, datatype: 4, values: pred.map((l, i) => (i === 3 ? -1 : l)) }),
    );
    const negative = cli(join(dir, "negative.nii"), join(dir, "truth.nii"));
    expect([negative.status, negative.stderr]).toEqual([
      1,
      expect.stringMatching(/negative\.nii: voxel 3 holds -1; labels are 0 to 65535/),
    ]);
    expect(cli("a", "b", "--classes", "1,x").stderr).toMatch(/--classes takes whole numbers/);
  });
});
