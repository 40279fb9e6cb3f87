// Renders suite results as Markdown tables and SVG charts for docs/, and as
// plain tables for the terminal.
import { readFileSync, writeFileSync } from "node:fs";
import type { PrecisionRow } from "./precision.js";
import { logLogChart } from "./svg.js";

export interface Environment {
  node: string;
  cpu: string;
  cores: number;
  date: string;
}

export function environmentLine(env: Environment): string {
  return `Node ${env.node.replace(/^v/, "")}, ${env.cpu} (${env.cores} cores), ${env.date.slice(0, 10)}.`;
}

const OURS = "dice-wasm";
const exp = (x: number) => (x === 0 ? "0" : x.toExponential(1));
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** One table per regime (rows N, columns methods, ours in bold) and one log-log chart per regime. */
export function renderPrecision(
  rows: PrecisionRow[],
  env: Environment,
): { markdown: string; svgs: Record<string, string> } {
  const regimes = [...new Set(rows.map((r) => r.regime))];
  const methods = [...new Set(rows.flatMap((r) => Object.keys(r.errors)))];
  const parts: string[] = [];
  const svgs: Record<string, string> = {};
  for (const regime of regimes) {
    const mine = rows.filter((r) => r.regime === regime);
    const file = `precision-${slug(regime)}.svg`;
    svgs[file] = logLogChart(
      `Dice loss relative error: ${regime}`,
      "voxels N",
      "relative error vs exact",
      methods.map((m) => ({ name: m, points: mine.map((r) => [r.n, r.errors[m]!] as [number, number]) })),
    );
    parts.push(`### ${regime}\n`, `![${regime}](${file})\n`);
    parts.push(`| N | exact loss | ${methods.map((m) => (m === OURS ? `**${m}**` : m)).join(" | ")} |`);
    parts.push(`|---|---|${methods.map(() => "---").join("|")}|`);
    for (const r of mine) {
      const cells = methods.map((m) => (m === OURS ? `**${exp(r.errors[m]!)}**` : exp(r.errors[m]!)));
      parts.push(`| 2^${Math.log2(r.n)} | ${r.exact.toPrecision(6)} | ${cells.join(" | ")} |`);
    }
    const statMethods = Object.keys(mine[0]!.statisticsErrors);
    parts.push(`\nLargest relative error of the sums Σp·g, Σp, Σg:\n`);
    parts.push(`| N | ${statMethods.map((m) => (m === OURS ? `**${m}**` : m)).join(" | ")} |`);
    parts.push(`|---|${statMethods.map(() => "---").join("|")}|`);
    for (const r of mine) {
      const cells = statMethods.map((m) =>
        m === OURS ? `**${exp(r.statisticsErrors[m]!)}**` : exp(r.statisticsErrors[m]!),
      );
      parts.push(`| 2^${Math.log2(r.n)} | ${cells.join(" | ")} |`);
    }
    parts.push("");
  }
  parts.push(`<sub>${environmentLine(env)}</sub>\n`);
  return { markdown: parts.join("\n"), svgs };
}

/** The same results as terminal tables. */
export function printPrecision(rows: PrecisionRow[]): void {
  for (const regime of new Set(rows.map((r) => r.regime))) {
    console.log(`\n${regime}: relative error of the Dice loss`);
    console.table(
      rows
        .filter((r) => r.regime === regime)
        .map((r) => ({
          N: `2^${Math.log2(r.n)}`,
          exact: r.exact.toPrecision(6),
          ...Object.fromEntries(Object.entries(r.errors).map(([k, v]) => [k, exp(v)])),
        })),
    );
  }
}

/** The rows of one suite group with the times that matter for its ratios. */
interface GroupResult {
  group: { title: string; voxels: number; bytes: number };
  rows: Array<{ name: string; medianMs: number; gvoxelsPerS: number; gbPerS: number }>;
}

const PEERS = ["plain f32x4 sum (ceiling)", "JS float64 loop", "tf ops, tfjs wasm"];
const short = (peer: string) => (peer.startsWith("plain") ? "ceiling" : peer);

/** A table per group (ours in bold, ratios to the ceiling and each peer), charts of throughput against size. */
export function renderSpeed(
  results: GroupResult[],
  env: Environment,
): { markdown: string; svgs: Record<string, string> } {
  const parts: string[] = [];
  for (const { group, rows } of results) {
    const peers = PEERS.filter((p) => rows.some((r) => r.name === p));
    parts.push(`### ${group.title}\n`);
    parts.push(`| contender | median ms | Gvoxel/s | GB/s read | ${peers.map((p) => `× ${short(p)}`).join(" | ")} |`);
    parts.push(`|---|---|---|---|${peers.map(() => "---").join("|")}|`);
    for (const r of rows) {
      const ratios = peers.map((p) => (rows.find((q) => q.name === p)!.medianMs / r.medianMs).toFixed(2));
      const cells = [r.name, r.medianMs.toFixed(2), r.gvoxelsPerS.toFixed(3), r.gbPerS.toFixed(2), ...ratios];
      parts.push(`| ${(r.name.startsWith("dice-wasm") ? cells.map((c) => `**${c}**`) : cells).join(" | ")} |`);
    }
    parts.push("");
  }
  parts.push(`<sub>${environmentLine(env)} Ratios are of median times measured in the same run.</sub>\n`);
  const svgs: Record<string, string> = {};
  const configs = [
    ["4 channels-last, uint8 labels", /× 4 channels-last, uint8 labels$/],
    ["1 class, float mask", /× 1 channels-last, float mask$/],
  ] as const;
  for (const task of ["loss", "loss + gradient"]) {
    for (const [name, pattern] of configs) {
      const mine = results.filter((r) => r.group.title.startsWith(`${task},`) && pattern.test(r.group.title));
      if (mine.length === 0) continue;
      const contenders = [...new Set(mine.flatMap((r) => r.rows.map((row) => row.name)))];
      const file = `speed-${slug(`${task} ${name}`)}.svg`;
      svgs[file] = logLogChart(
        `${task}: ${name}`,
        "voxels",
        "Gvoxel/s",
        contenders.map((c) => ({
          name: c,
          points: mine.flatMap((r) =>
            r.rows.filter((row) => row.name === c).map((row) => [r.group.voxels, row.gvoxelsPerS] as [number, number]),
          ),
        })),
        1e-6,
      );
      parts.unshift(`![${task}: ${name}](${file})\n`);
    }
  }
  return { markdown: parts.join("\n"), svgs };
}

/** Replaces the text between `<!-- name -->` and `<!-- /name -->` in a Markdown page. */
export function writeSection(page: string, name: string, markdown: string): void {
  const doc = readFileSync(page, "utf8");
  const [start, end] = [`<!-- ${name} -->`, `<!-- /${name} -->`];
  if (!doc.includes(start)) throw new Error(`${page} has no ${start} … ${end} section`);
  writeFileSync(
    page,
    `${doc.slice(0, doc.indexOf(start) + start.length)}\n${markdown}\n${doc.slice(doc.indexOf(end))}`,
  );
}
