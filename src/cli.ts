#!/usr/bin/env node
/// <reference types="node" />
// npx dice-wasm bench | precision | metric [options]: the speed and precision
// suites, and hard metrics of NIfTI label volumes, with a progress bar on
// stderr and tables (or JSON) on stdout.
import { parseArgs } from "node:util";
import { environment, printGroup } from "./bench/harness.js";
import { precisionSizes, precisionSuite } from "./bench/precision.js";
import { printPrecision } from "./bench/report.js";
import { speedSuite } from "./bench/suite.js";
import { DiceWasmError } from "./errors.js";
import { evaluateNifti, formatScores } from "./metric-cli.js";

const HELP = {
  bench: `usage: dice-wasm bench [--sides 64,128] [--quick] [--json]

  The Dice loss's speed (value, and value + gradient) against the bandwidth
  ceiling, a JS float64 loop and the same loss from tf ops, on synthetic volumes.
    --sides a,b,…   volume sides to run (default 64,128; 256 takes minutes more)
    --quick         64 only
    --json          machine-readable output on stdout
`,
  precision: `usage: dice-wasm precision [--max-log2 24] [--quick] [--json]

  The loss's relative error against the exact value (float64 and exact sums),
  naive float32, pairwise, Kahan and dice-wasm side by side, from 2^10 voxels up.
    --max-log2 n    largest size 2^n, an even number from 10 to 26 (default 24)
    --quick         --max-log2 16
    --json          machine-readable output on stdout
`,
  metric: `usage: dice-wasm metric PRED TRUTH [--classes 1,2,3] [--include-background] [--json]

  Per-class Dice, IoU, voxel counts and volumes (mm³ from the truth's pixdim) of
  a predicted NIfTI label volume (.nii or .nii.gz) against the ground truth; or
  of two folders, pairing files of the same name (per case, then the dataset).
    --classes a,b,…        labels to report (default: every label present but 0)
    --include-background   report label 0 too
    --json                 { "classes": [...], "meanDice" } (folders add "cases")
`,
};
const USAGE = `usage: dice-wasm <command> [options]

  bench       the Dice loss's speed against the bandwidth ceiling, a JS loop and tf ops
  precision   its relative error against the exact value, 2^10 voxels and up
  metric      Dice and IoU per class of NIfTI label volumes (files or folders)

  dice-wasm <command> --help for a command's options
`;

/** Prints `message` (and the usage) on stderr and exits with 2: bad arguments. */
function fail(message: string, usage: string): never {
  process.stderr.write(`dice-wasm: ${message}\n\n${usage}`);
  process.exit(2);
}

let progressShown = false;
function progress(done: number, total: number, label: string): void {
  progressShown = done < total;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label.padEnd(60).slice(0, 60)}`,
  );
  if (done === total) process.stderr.write("\n");
}

const [command, ...args] = process.argv.slice(2);
if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  // `help bench` is `bench --help`
  const topic = args[0] as keyof typeof HELP | undefined;
  process.stdout.write(topic && Object.hasOwn(HELP, topic) ? HELP[topic] : USAGE);
  process.exit(0);
}
if (command !== "bench" && command !== "precision" && command !== "metric") fail(`unknown command '${command}'`, USAGE);
const usage = HELP[command];

const OPTIONS = {
  bench: { quick: { type: "boolean" }, sides: { type: "string" } },
  precision: { quick: { type: "boolean" }, "max-log2": { type: "string" } },
  metric: { classes: { type: "string" }, "include-background": { type: "boolean" } },
} as const;
let values: Record<string, string | boolean | undefined> = {};
let positionals: string[] = [];
try {
  ({ values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: command === "metric",
    options: { help: { type: "boolean", short: "h" }, json: { type: "boolean" }, ...OPTIONS[command] },
  }) as { values: typeof values; positionals: string[] });
} catch (error) {
  fail((error as Error).message, usage);
}
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const env = environment();

// --quick is a preset: given with the value it presets, which one would win is a guess
for (const name of ["sides", "max-log2"]) {
  if (values.quick && values[name] !== undefined) fail(`--quick and --${name} exclude each other`, usage);
}
const whole = /^[0-9]+$/;

if (command === "metric") {
  if (positionals.length !== 2) fail(`metric takes two paths, PRED and TRUTH, got ${positionals.length}`, usage);
  const text = values.classes as string | undefined;
  const listed = text?.split(",").map((c) => (whole.test(c) ? Number(c) : Number.NaN));
  const classes = listed && [...new Set(listed)]; // a label listed twice counts once in the mean
  if (classes?.some((c) => !Number.isInteger(c) || c < 0)) {
    fail(`--classes takes whole numbers ≥ 0 separated by commas, got '${text}'`, usage);
  }
  try {
    const result = await evaluateNifti({
      prediction: positionals[0]!,
      truth: positionals[1]!,
      classes,
      includeBackground: Boolean(values["include-background"]),
      onProgress: progress,
      onWarning: (message) => process.stderr.write(`dice-wasm: warning: ${message}\n`),
    });
    if (values.json) console.log(JSON.stringify(result));
    else {
      for (const c of result.cases ?? []) console.log(`${c.name}\n${formatScores(c)}\n`);
      console.log(`${result.cases ? "all cases\n" : ""}${formatScores(result)}`);
    }
  } catch (error) {
    if (!(error instanceof DiceWasmError)) throw error;
    process.stderr.write(`${progressShown ? "\n" : ""}dice-wasm metric: ${error.message}\n`);
    process.exit(1);
  }
} else if (command === "bench") {
  const text = values.quick ? "64" : ((values.sides as string | undefined) ?? "64,128");
  const sides = text.split(",").map((s) => (whole.test(s) ? Number(s) : Number.NaN));
  if (sides.some((s) => !Number.isInteger(s) || s < 8 || s > 512)) {
    fail(`--sides takes whole numbers from 8 to 512 separated by commas, got '${text}'`, usage);
  }
  // roughly, on one core of a 2-core VM, measured: 3 min for 64³, 6 for 128³, 15 for 256³ and for 512³ (one class)
  const minutes = sides.reduce((t, s) => t + (s <= 64 ? 3 : s <= 128 ? 6 : 15), 0);
  process.stderr.write(`dice-wasm bench: sides ${sides.join(", ")}, roughly ${minutes} min\n`);
  const results = await speedSuite({ sides, onProgress: progress });
  if (values.json) {
    const body = results.map(({ group, rows }) => ({
      title: group.title,
      voxels: group.voxels,
      bytes: group.bytes,
      rows,
    }));
    console.log(JSON.stringify({ env, results: body }));
  } else for (const { group, rows } of results) printGroup(group, rows);
} else {
  const text = values.quick ? "16" : ((values["max-log2"] as string | undefined) ?? "24");
  const maxLog2 = whole.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(maxLog2) || maxLog2 < 10 || maxLog2 > 26 || maxLog2 % 2 !== 0) {
    fail(`--max-log2 takes an even whole number from 10 to 26, got '${text}'`, usage);
  }
  process.stderr.write(
    `dice-wasm precision: 2^10 to 2^${maxLog2} voxels, ${maxLog2 <= 20 ? "a few seconds" : "a minute or two"}\n`,
  );
  const rows = await precisionSuite(precisionSizes(maxLog2), progress);
  if (values.json) console.log(JSON.stringify({ env, rows }));
  else printPrecision(rows);
}
