// Allocators over a kernel build's linear memory: our own first-fit heap for
// the memory init() creates, or a borrowed one (see src/tfjs/backends.ts).
import { DiceWasmError } from "./errors.js";

/** What the losses need from the memory their kernels run in. */
export interface Allocator {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  release(start: number, bytes: number): void;
  readonly isRetired: boolean;
  /** allocations not yet released: how tests prove nothing leaks */
  readonly live: number;
}

const PAGE = 65536;
const ALIGN = 64;
const RESERVED = 1024; // keep address 0 unused: a null pointer should never look valid

/**
 * First-fit allocator over the kernels' linear memory, with coalescing. It grows
 * the memory when it must; growing detaches earlier ArrayBuffer views, which is
 * why volumes hand out views through a getter (see WasmVolume).
 */
export class Heap implements Allocator {
  private free: Array<{ start: number; size: number }> = [];
  private end = RESERVED;
  private retired = false;
  /** Counts allocations, so that tests can prove nothing leaks. */
  live = 0;

  constructor(readonly memory: WebAssembly.Memory) {}

  alloc(bytes: number): number {
    if (this.retired)
      throw new DiceWasmError("VOLUME_FREED", "this memory belongs to an earlier init(); allocate again.");
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.live++;
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      const start = block.start;
      if (block.size === size) this.free.splice(i, 1);
      else this.free[i] = { start: start + size, size: block.size - size };
      return start;
    }
    const start = this.end;
    const needed = start + size;
    const have = this.memory.buffer.byteLength;
    if (needed > have) {
      // grow by at least half again, so that a run of allocations grows rarely
      const pages = Math.ceil(Math.max(needed - have, have / 2) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        try {
          this.memory.grow(Math.ceil((needed - have) / PAGE));
        } catch {
          this.live--;
          throw new DiceWasmError(
            "OUT_OF_MEMORY",
            `could not grow WebAssembly memory to ${needed} bytes (wasm32 caps it at 4 GiB); free volumes you no longer need or pass ordinary arrays, which are streamed in chunks.`,
            { requested: bytes },
          );
        }
      }
    }
    this.end = needed;
    return start;
  }

  release(start: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.live--;
    const blocks = this.free;
    let i = 0;
    while (i < blocks.length && blocks[i]!.start < start) i++;
    blocks.splice(i, 0, { start, size });
    // merge with the next and the previous neighbour
    if (i + 1 < blocks.length && start + size === blocks[i + 1]!.start) {
      blocks[i]!.size += blocks[i + 1]!.size;
      blocks.splice(i + 1, 1);
    }
    if (i > 0 && blocks[i - 1]!.start + blocks[i - 1]!.size === start) {
      blocks[i - 1]!.size += blocks[i]!.size;
      blocks.splice(i, 1);
    }
    // give the top block back to the bump pointer
    const last = blocks[blocks.length - 1];
    if (last && last.start + last.size === this.end) {
      this.end = last.start;
      blocks.pop();
    }
  }

  retire(): void {
    this.retired = true;
  }

  get isRetired(): boolean {
    return this.retired;
  }
}
