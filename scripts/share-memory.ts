// The shared-memory variant of a kernel build is the same code with its memory
// import declared shared (maximum 4 GiB, so that any shared memory matches):
// made by rewriting the import, not by compiling twice.

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

const IMPORT_SECTION = 2;
const MEMORY = 2;
const SHARED_WITH_MAX = 0x03;
const MAX_PAGES = 65536;

/** `wasm` with its one import, the memory, declared shared; throws for any other module. */
export function shareMemoryImport(wasm: Uint8Array): Uint8Array {
  let at = 8; // magic and version
  while (at < wasm.length && wasm[at] !== IMPORT_SECTION) {
    const [size, body] = readLeb(wasm, at + 1);
    at = body + size;
  }
  if (at >= wasm.length) throw new Error("shareMemoryImport: the module imports nothing");
  const [size, body] = readLeb(wasm, at + 1);
  const end = body + size;
  const [count, first] = readLeb(wasm, body);
  const [moduleLength, moduleName] = readLeb(wasm, first);
  const [fieldLength, fieldName] = readLeb(wasm, moduleName + moduleLength);
  const kind = fieldName + fieldLength;
  if (count !== 1 || wasm[kind] !== MEMORY) throw new Error("shareMemoryImport: expected one import, a memory");
  const flags = wasm[kind + 1]!;
  const [min, afterMin] = readLeb(wasm, kind + 2);
  const afterLimits = flags & 1 ? readLeb(wasm, afterMin)[1] : afterMin;
  const section = [
    ...wasm.subarray(body, kind + 1),
    SHARED_WITH_MAX,
    ...leb(min),
    ...leb(MAX_PAGES),
    ...wasm.subarray(afterLimits, end),
  ];
  return Uint8Array.from([
    ...wasm.subarray(0, at),
    IMPORT_SECTION,
    ...leb(section.length),
    ...section,
    ...wasm.subarray(end),
  ]);
}
