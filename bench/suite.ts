// npm run bench: the speed suite over 64³, 128³, 256³ and (one class) 512³
// (BENCH_SIDES to change), rendered into docs/BENCHMARKS.md and docs/speed-*.svg.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { saveJson } from "../src/bench/harness.js";
import { renderSpeed } from "../src/bench/report.js";
import { speedSuite } from "../src/bench/suite.js";

const sides = (process.env.BENCH_SIDES ?? "64,128,256,512").split(",").map(Number);
const results = await speedSuite({
  sides,
  onProgress: (done, total, label) => console.error(`[${done}/${total}] ${label}`),
});
const env = {
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown CPU",
  cores: cpus().length,
  date: new Date().toISOString(),
};
const { markdown, svgs } = renderSpeed(results, env);
for (const [file, svg] of Object.entries(svgs)) writeFileSync(`docs/${file}`, svg);
const doc = readFileSync("docs/BENCHMARKS.md", "utf8");
const [start, end] = ["<!-- results -->", "<!-- /results -->"];
writeFileSync(
  "docs/BENCHMARKS.md",
  `${doc.slice(0, doc.indexOf(start) + start.length)}\n${markdown}\n${doc.slice(doc.indexOf(end))}`,
);
console.log(`results: ${saveJson("suite", { env, results })}`);
