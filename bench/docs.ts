// Writes a suite's rendering into docs/: its SVG charts, and its Markdown
// between the <!-- results --> markers of the given page.
import { readFileSync, writeFileSync } from "node:fs";

export function writeResults(page: string, rendered: { markdown: string; svgs: Record<string, string> }): void {
  for (const [file, svg] of Object.entries(rendered.svgs)) writeFileSync(`docs/${file}`, svg);
  const doc = readFileSync(page, "utf8");
  const [start, end] = ["<!-- results -->", "<!-- /results -->"];
  writeFileSync(
    page,
    `${doc.slice(0, doc.indexOf(start) + start.length)}\n${rendered.markdown}\n${doc.slice(doc.indexOf(end))}`,
  );
}
