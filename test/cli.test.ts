// The CLI's argument handling: help never runs a suite, bad values exit 2 with
// a message that names them, --flag=value works.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

function cli(...args: string[]) {
  const r = spawnSync("npx", ["tsx", "src/cli.ts", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npx dice-wasm", () => {
  it.each([[[]], [["--help"]], [["bench", "--help"]], [["precision", "-h"]], [["help", "bench"]]])(
    "%j prints usage and exits 0",
    (args) => {
      const r = cli(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: dice-wasm/);
      expect(r.stderr).not.toMatch(/\[#*-*\]/); // no progress bar: nothing ran
    },
  );

  it.each([
    [["precision", "--max-log2", "abc"], /--max-log2 takes an even whole number from 10 to 26, got 'abc'/],
    [["precision", "--max-log2=11"], /got '11'/],
    [["bench", "--sides", "64,x"], /--sides takes whole numbers/],
    [["bench", "--max-log2", "12"], /Unknown option '--max-log2'/],
    [["frob"], /unknown command 'frob'/],
    [["precision", "--quick", "--max-log2=abc"], /--quick and --max-log2 exclude each other/],
    [["precision", "--max-log2", "0x0c"], /got '0x0c'/],
    [["bench", "--sides", "1e2"], /--sides takes whole numbers/],
  ])("%j exits 2 and says why", (args, message) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("--max-log2=12 --json runs the precision suite up to 2^12", () => {
    const r = cli("precision", "--max-log2=12", "--json");
    expect(r.status).toBe(0);
    const sizes = new Set((JSON.parse(r.stdout).rows as Array<{ n: number }>).map((row) => row.n));
    expect([...sizes].sort((a, b) => a - b)).toEqual([1024, 4096]);
  });
});
