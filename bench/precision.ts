// npm run bench:precision: the precision suite from 2^10 to 2^26 voxels,
// rendered into docs/PRECISION.md (tables) and docs/precision-*.svg (charts).
import { environment, saveJson } from "../src/bench/harness.js";
import { precisionSizes, precisionSuite } from "../src/bench/precision.js";
import { printPrecision, renderPrecision } from "../src/bench/report.js";
import { writeResults } from "./docs.js";

const sizes = precisionSizes(Number(process.env.PRECISION_MAX_LOG2 ?? 26));
const rows = await precisionSuite(sizes, (done, total, label) => console.error(`[${done}/${total}] ${label}`));
printPrecision(rows);
const env = environment();
writeResults("docs/PRECISION.md", renderPrecision(rows, env));
console.log(`\nresults: ${saveJson("precision", { env, rows })}`);
