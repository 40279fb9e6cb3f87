// npm run bench:precision: the precision suite from 2^10 to 2^26 voxels,
// rendered into docs/PRECISION.md (tables) and docs/precision-*.svg (charts).
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { saveJson } from "../src/bench/harness.js";
import { precisionSuite } from "../src/bench/precision.js";
import { printPrecision, renderPrecision } from "../src/bench/report.js";

const top = Number(process.env.PRECISION_MAX_LOG2 ?? 26);
const sizes = Array.from({ length: (top - 10) / 2 + 1 }, (_, i) => 2 ** (10 + 2 * i));
const rows = await precisionSuite(sizes, (done, total, label) => console.error(`[${done}/${total}] ${label}`));
printPrecision(rows);
const env = {
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown CPU",
  cores: cpus().length,
  date: new Date().toISOString(),
};
const { markdown, svgs } = renderPrecision(rows, env);
for (const [file, svg] of Object.entries(svgs)) writeFileSync(`docs/${file}`, svg);
const doc = readFileSync("docs/PRECISION.md", "utf8");
const start = "<!-- results -->";
const end = "<!-- /results -->";
writeFileSync(
  "docs/PRECISION.md",
  `${doc.slice(0, doc.indexOf(start) + start.length)}\n${markdown}\n${doc.slice(doc.indexOf(end))}`,
);
console.log(`\nresults: ${saveJson("precision", { env, rows })}`);
