#!/usr/bin/env node
/// <reference types="node" />
// npx dice-wasm bench | precision [--json]: the speed and precision suites,
// with a progress bar on stderr and tables (or JSON) on stdout.
import { environment, printGroup } from "./bench/harness.js";
import { precisionSizes, precisionSuite } from "./bench/precision.js";
import { printPrecision } from "./bench/report.js";
import { speedSuite } from "./bench/suite.js";

const USAGE = `usage: dice-wasm <command> [options]

  bench [--sides 64,128,256] [--json]   the Dice loss's speed against the bandwidth ceiling, a JS loop and tf ops
  precision [--max-log2 24] [--json]    its relative error against the exact value, 2^10 voxels up to 2^max
`;

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

function progress(done: number, total: number, label: string): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label.padEnd(60).slice(0, 60)}`,
  );
  if (done === total) process.stderr.write("\n");
}

const [command, ...args] = process.argv.slice(2);
const json = args.includes("--json");
const env = environment();

if (command === "bench") {
  const sides = option(args, "--sides", "64,128").split(",").map(Number);
  const results = await speedSuite({ sides, onProgress: progress });
  if (json)
    console.log(
      JSON.stringify({
        env,
        results: results.map(({ group, rows }) => ({
          title: group.title,
          voxels: group.voxels,
          bytes: group.bytes,
          rows,
        })),
      }),
    );
  else for (const { group, rows } of results) printGroup(group, rows);
} else if (command === "precision") {
  const rows = await precisionSuite(precisionSizes(Number(option(args, "--max-log2", "24"))), progress);
  if (json) console.log(JSON.stringify({ env, rows }));
  else printPrecision(rows);
} else {
  process.stderr.write(USAGE);
  process.exitCode = command === undefined || command === "--help" ? 0 : 2;
}
