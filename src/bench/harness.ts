/// <reference types="node" />
// A thin layer over tinybench: groups of contenders run in the same process,
// each checked before it is timed, reported as median time, throughput, and a
// ratio to a peer measured in the same run. The machine is shared and its
// memory bandwidth drifts by ±15% over seconds, so a group runs in several
// short rounds and the ratio reported is the median of the per-round ratios.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Bench } from "tinybench";

export interface Contender {
  name: string;
  run: () => unknown;
  /** throws if the contender's answer is wrong; runs once before timing */
  check?: () => void;
  /**
   * A contender timed outside this process (PyTorch): the median milliseconds
   * of a round of about `time` ms, measured between our own rounds.
   */
  timeRound?: (time: number) => Promise<number>;
}

export interface Group {
  title: string;
  /** voxels processed per call, and bytes read per call */
  voxels: number;
  bytes: number;
  /** name of the contender the ratios are taken against */
  peer: string;
  contenders: Contender[];
}

export interface Row {
  name: string;
  medianMs: number;
  gvoxelsPerS: number;
  gbPerS: number;
  ratioToPeer: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function runGroup(group: Group, rounds = 5, time = 400, print = true): Promise<Row[]> {
  for (const c of group.contenders) c.check?.();
  const times = new Map<string, number[]>(group.contenders.map((c) => [c.name, []]));
  const ratios = new Map<string, number[]>(group.contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time, warmupTime: 100, iterations: 3, warmupIterations: 1 });
    for (const c of group.contenders) if (!c.timeRound) bench.add(c.name, c.run);
    await bench.run();
    const medians = new Map<string, number>();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`);
      medians.set(task.name, r.latency.p50);
    }
    for (const c of group.contenders) if (c.timeRound) medians.set(c.name, await c.timeRound(time));
    for (const { name } of group.contenders) {
      const ms = medians.get(name)!;
      times.get(name)!.push(ms);
      ratios.get(name)!.push(medians.get(group.peer)! / ms);
    }
  }
  const rows = group.contenders.map(({ name }) => {
    const ms = median(times.get(name)!);
    return {
      name,
      medianMs: ms,
      gvoxelsPerS: group.voxels / ms / 1e6,
      gbPerS: group.bytes / ms / 1e6,
      ratioToPeer: median(ratios.get(name)!),
    };
  });
  if (print) printGroup(group, rows);
  return rows;
}

/** A group's rows as a terminal table, ratios to its peer. */
export function printGroup(group: Group, rows: Row[]): void {
  console.log(`\n${group.title}`);
  console.table(
    rows.map((r) => ({
      contender: r.name,
      "median ms": r.medianMs.toFixed(2),
      "Gvoxel/s": r.gvoxelsPerS.toFixed(3),
      "GB/s": r.gbPerS.toFixed(2),
      [`× ${group.peer}`]: r.ratioToPeer.toFixed(2),
    })),
  );
}

/** The runtime, CPU and date a result was measured with. */
export function environment(): { node: string; cpu: string; cores: number; date: string } {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown CPU",
    cores: cpus().length,
    date: new Date().toISOString(),
  };
}

/** Writes `body` to bench/results/<name>-<time>.json (ignored by git); returns the path. */
export function saveJson(name: string, body: unknown): string {
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify(body, null, 2));
  return file;
}

export function saveResults(name: string, groups: Array<{ group: Group; rows: Row[] }>): string {
  const body = groups.map(({ group, rows }) => ({
    title: group.title,
    peer: group.peer,
    voxels: group.voxels,
    bytes: group.bytes,
    rows,
  }));
  return saveJson(name, { env: environment(), groups: body });
}
