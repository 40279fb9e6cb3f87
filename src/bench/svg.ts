// A log-log line chart as an SVG string: one line per series, a legend, decade
// ticks. Enough for the benchmark and precision docs; no dependency.

export interface Series {
  name: string;
  points: Array<[x: number, y: number]>;
}

const COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2"];

export function logLogChart(title: string, xLabel: string, yLabel: string, series: Series[], yFloor = 1e-17): string {
  const [W, H, L, R, T, Bm] = [640, 380, 70, 190, 30, 45];
  const all = series.flatMap((s) => s.points);
  const lx = (x: number) => Math.log10(x);
  const ly = (y: number) => Math.log10(Math.max(y, yFloor));
  const [x0, x1] = [Math.floor(Math.min(...all.map(([x]) => lx(x)))), Math.ceil(Math.max(...all.map(([x]) => lx(x))))];
  const [y0, y1] = [
    Math.floor(Math.min(...all.map(([, y]) => ly(y)))),
    Math.ceil(Math.max(...all.map(([, y]) => ly(y)))),
  ];
  const px = (x: number) => L + ((lx(x) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (y: number) => H - Bm - ((ly(y) - y0) / (y1 - y0 || 1)) * (H - T - Bm);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<title>${xmlText(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13" font-weight="bold">${xmlText(title)}</text>`,
  ];
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e);
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - Bm}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${H - Bm + 14}" text-anchor="middle">1e${e}</text>`);
  }
  const yStep = Math.max(1, Math.ceil((y1 - y0) / 8));
  for (let e = y0; e <= y1; e += yStep) {
    const y = py(10 ** e);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end">1e${e}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${xmlText(xLabel)}</text>`);
  out.push(
    `<text transform="translate(14 ${(T + H - Bm) / 2}) rotate(-90)" text-anchor="middle">${xmlText(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const d = s.points.map(([x, y], k) => `${k ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join("");
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [x, y] of s.points)
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const ly0 = T + 10 + i * 18;
    out.push(
      `<line x1="${W - R + 12}" y1="${ly0}" x2="${W - R + 32}" y2="${ly0}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - R + 38}" y="${ly0 + 4}">${xmlText(s.name)}</text>`);
  });
  out.push(
    `<text x="${L}" y="${H - Bm - 4}" fill="#999">values below ${yFloor.toExponential(0)} drawn at the floor</text>`,
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function xmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}
