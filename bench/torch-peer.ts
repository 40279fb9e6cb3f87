// PyTorch on the CPU as a benchmark contender: bench/torch_dice.py (MONAI's
// DiceLoss formula) in a Python process that stays up for a whole group, timed
// round by round between our own rounds. Where Debian's python3-torch is not
// installed, there is no peer and the benchmarks say so.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Contender } from "../src/bench/harness.js";

/** Debian's python3 (python3-torch installs for it), or $DICE_WASM_PYTHON. */
const PYTHON = process.env.DICE_WASM_PYTHON ?? "/usr/bin/python3";
/** A caching allocator: without it every fresh tensor pays page faults (~10 µs each here), ~25× on softmax alone. */
const TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

let availability: string | undefined;

/** The torch version, or undefined (with a note printed once) where it cannot run. */
export function torchVersion(): string | undefined {
  if (availability === undefined) {
    const probe = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    availability = probe.status === 0 ? probe.stdout.trim() : "";
    if (!availability) {
      console.error(
        `note: PyTorch is not installed for ${PYTHON} (Debian: apt-get install python3-torch libtcmalloc-minimal4); its rows are skipped.`,
      );
    } else if (!existsSync(TCMALLOC)) {
      console.error(`note: ${TCMALLOC} is missing: PyTorch runs without a caching allocator, paying page faults.`);
    }
  }
  return availability || undefined;
}

/**
 * The volume the peer computes on: channels-last logits [B, D, H, W, C], uint8 labels or a float mask;
 * or, for DiceMetric, a uint8 predicted label map as `prediction` (and no logits).
 */
export interface PeerData {
  logits?: Float32Array;
  prediction?: Uint8Array;
  target: Uint8Array | Float32Array;
  /** [B, D, H, W, C] */
  shape: [number, number, number, number, number];
  /** the loss the peer computes: MONAI's DiceLoss (default), or DiceFocalLoss */
  loss?: "dice" | "diceFocal";
}

/** A running peer process for one volume: contenders for 1 and 2 threads; close() when the group is done. */
export interface TorchPeer {
  contenders(withGrad: boolean, check: (name: string, value: () => number) => () => void): Contender[];
  close(): void;
}

export async function startTorch(data: PeerData): Promise<TorchPeer | undefined> {
  const version = torchVersion();
  if (!version) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "dice-wasm-torch-"));
  const logitsFile = join(dir, "logits.f32");
  const targetFile = join(dir, "target");
  writeFileSync(logitsFile, data.prediction ?? data.logits ?? new Float32Array());
  writeFileSync(targetFile, data.target);
  const kind = data.prediction ? "metric" : data.target instanceof Uint8Array ? "labels" : "mask";
  const env = {
    ...process.env,
    ...(existsSync(TCMALLOC) ? { LD_PRELOAD: TCMALLOC } : {}),
    DICE_LOSS: data.loss === "diceFocal" ? "dicefocal" : "dice",
  };
  const script = join(import.meta.dirname, "torch_dice.py");
  const child = spawn(PYTHON, [script, logitsFile, targetFile, kind, ...data.shape.map(String)], { env });
  const ask = await lineReader(child);
  const { loss } = (await ask("check")) as { loss: number };
  const contender = (threads: number, withGrad: boolean, check: (name: string, value: () => number) => () => void) => {
    const name = `PyTorch ${version} CPU, ${threads} thread${threads > 1 ? "s" : ""}`;
    return {
      name,
      run: () => undefined,
      check: check(name, () => loss),
      // a round: as many steps as fit in about `time` milliseconds, their median
      timeRound: async (time: number) => {
        const first = ((await ask(`time ${threads} 1 ${withGrad ? 1 : 0}`)) as { ms: number[] }).ms[0]!;
        const n = Math.max(3, Math.min(50, Math.round(time / first)));
        const { ms } = (await ask(`time ${threads} ${n} ${withGrad ? 1 : 0}`)) as { ms: number[] };
        return [...ms].sort((a, b) => a - b)[ms.length >> 1]!;
      },
    } satisfies Contender;
  };
  return {
    contenders: (withGrad, check) => [1, 2].map((threads) => contender(threads, withGrad, check)),
    close: () => {
      child.stdin.end();
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a line, resolves with the JSON line the peer answers. */
async function lineReader(child: ChildProcessWithoutNullStreams): Promise<(command: string) => Promise<unknown>> {
  let buffered = "";
  const waiting: Array<(line: string) => void> = [];
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdout.on("data", (d) => {
    buffered += d;
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      waiting.shift()?.(line);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.on("exit", (code) => reject(new Error(`the PyTorch peer exited (${code}): ${stderr.trim()}`))),
  );
  exited.catch(() => {});
  return (command) => {
    const answer = new Promise<unknown>((resolve) => waiting.push((line) => resolve(JSON.parse(line))));
    child.stdin.write(`${command}\n`);
    return Promise.race([answer, exited]);
  };
}
