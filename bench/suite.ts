// npm run bench: the speed suite over 64³, 128³, 256³ and (one class) 512³
// (BENCH_SIDES to change), rendered into docs/BENCHMARKS.md and docs/speed-*.svg.
import { environment, saveJson } from "../src/bench/harness.js";
import { renderSpeed } from "../src/bench/report.js";
import { speedSuite } from "../src/bench/suite.js";
import { writeResults } from "./docs.js";

const sides = (process.env.BENCH_SIDES ?? "64,128,256,512").split(",").map(Number);
const results = await speedSuite({
  sides,
  onProgress: (done, total, label) => console.error(`[${done}/${total}] ${label}`),
});
const env = environment();
writeResults("docs/BENCHMARKS.md", renderSpeed(results, env));
console.log(`results: ${saveJson("suite", { env, results })}`);
