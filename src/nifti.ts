// A NIfTI-1 / NIfTI-2 reader for label volumes: the header fields a label map
// needs (dimensions, datatype, voxel size, affine, scaling) and the voxels as
// an integer label map. Bytes in, no I/O: the CLI reads and gunzips files.
import { DiceWasmError } from "./errors.js";
import type { LabelMap } from "./metrics/counts.js";

export interface NiftiLabels {
  /** spatial sizes (dim[1..dim[0]]), fastest-varying first, as stored */
  dims: number[];
  /** voxel sizes in mm (pixdim[1..3] in the units xyzt_units names) */
  pixdim: [number, number, number];
  /** the sform (or, without one, none) as 3 rows of 4; undefined when the file has no sform */
  affine: number[][] | undefined;
  /** the datatype code and its name */
  datatype: { code: number; name: string };
  labels: LabelMap;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  2: { name: "uint8", bytes: 1 },
  4: { name: "int16", bytes: 2 },
  8: { name: "int32", bytes: 4 },
  16: { name: "float32", bytes: 4 },
  64: { name: "float64", bytes: 8 },
  256: { name: "int8", bytes: 1 },
  512: { name: "uint16", bytes: 2 },
};

const NATIVE: Record<
  string,
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

function fail(code: "INVALID_SHAPE" | "UNSUPPORTED_DTYPE" | "NON_INTEGER_LABEL", message: string): never {
  throw new DiceWasmError(code, message);
}

/** The header's layout: NIfTI-1 (348-byte header) or NIfTI-2 (540), in either byte order. */
function formatOf(view: DataView, name: string): { version: 1 | 2; little: boolean } {
  if (view.byteLength < 348)
    fail("INVALID_SHAPE", `${name}: ${view.byteLength} bytes is too short for a NIfTI header.`);
  for (const little of [true, false]) {
    const size = view.getInt32(0, little);
    if (size === 348) return { version: 1, little };
    if (size === 540 && view.byteLength >= 540) return { version: 2, little };
  }
  return fail(
    "INVALID_SHAPE",
    `${name}: not a NIfTI-1 or NIfTI-2 file (sizeof_hdr is neither 348 nor 540, after gunzip if it was gzipped).`,
  );
}

/**
 * The label volume in `bytes` (an uncompressed .nii), its voxels as a label
 * map: uint8, uint16 and int32 as they are, int8 and int16 widened, floats
 * (after scl_slope/scl_inter) only when every value is whole.
 */
export function readNiftiLabels(bytes: Uint8Array, name = "NIfTI file"): NiftiLabels {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { version, little } = formatOf(view, name);
  const i16 = (at: number) => view.getInt16(at, little);
  const f32 = (at: number) => view.getFloat32(at, little);
  const f64 = (at: number) => view.getFloat64(at, little);
  // field offsets of the two header versions
  const v1 = version === 1;
  const dimAt = (i: number) => (v1 ? i16(40 + 2 * i) : Number(view.getBigInt64(16 + 8 * i, little)));
  const code = v1 ? i16(70) : i16(12);
  const pix = (i: number) => (v1 ? f32(76 + 4 * i) : f64(104 + 8 * i));
  const voxOffset = v1 ? f32(108) : Number(view.getBigInt64(168, little));
  const [slope, inter] = v1 ? [f32(112), f32(116)] : [f64(176), f64(184)];
  const sformCode = v1 ? i16(254) : view.getInt32(348, little);
  // xyzt_units' spatial part: metres, millimetres (also when unset, as most tools assume) or micrometres
  const units = (v1 ? view.getUint8(123) : view.getInt32(500, little)) & 0x07;
  const toMm = units === 1 ? 1000 : units === 3 ? 0.001 : 1;
  const srow = (r: number) =>
    Array.from({ length: 4 }, (_, j) => (v1 ? f32(280 + 16 * r + 4 * j) : f64(400 + 32 * r + 8 * j)));

  const rank = dimAt(0);
  if (!(rank >= 1 && rank <= 7))
    fail("INVALID_SHAPE", `${name}: dim[0] is ${rank}, not a rank from 1 to 7: a corrupt header?`);
  const dims = Array.from({ length: rank }, (_, i) => dimAt(i + 1));
  if (dims.some((d) => !(d >= 1))) fail("INVALID_SHAPE", `${name}: dimensions [${dims}] must all be ≥ 1.`);
  const type = TYPES[code];
  if (!type) {
    fail(
      "UNSUPPORTED_DTYPE",
      `${name}: datatype ${code} is not a label type (uint8, int8, int16, uint16, int32, or whole-valued float32/float64).`,
    );
  }
  const n = dims.reduce((a, d) => a * d, 1);
  const headerEnd = v1 ? 352 : 544;
  if (!Number.isFinite(voxOffset) || voxOffset < headerEnd) {
    fail(
      "INVALID_SHAPE",
      `${name}: vox_offset is ${voxOffset}, not where the voxels of a single .nii file start (≥ ${headerEnd}): a corrupt header, or a .hdr/.img pair (not supported)?`,
    );
  }
  const start = Math.round(voxOffset);
  if (start + n * type.bytes > bytes.byteLength) {
    fail(
      "INVALID_SHAPE",
      `${name}: the header describes ${n} voxels of ${type.name} from byte ${start}, but the file has ${bytes.byteLength} bytes: truncated?`,
    );
  }
  const read = (i: number): number => {
    const at = start + i * type.bytes;
    switch (type.name) {
      case "uint8":
        return view.getUint8(at);
      case "int8":
        return view.getInt8(at);
      case "int16":
        return view.getInt16(at, little);
      case "uint16":
        return view.getUint16(at, little);
      case "int32":
        return view.getInt32(at, little);
      case "float32":
        return view.getFloat32(at, little);
      default:
        return view.getFloat64(at, little);
    }
  };
  const scaled = slope !== 0 && Number.isFinite(slope) && (slope !== 1 || inter !== 0);
  const isFloat = type.name.startsWith("float") || scaled;
  const Out =
    type.name === "uint8" && !scaled ? Uint8Array : type.name === "uint16" && !scaled ? Uint16Array : Int32Array;
  const labels = new Out(n);
  // little-endian data: typed arrays over an aligned copy of the voxels, not a DataView read each
  const Native = little ? NATIVE[type.name] : undefined;
  // (a copy of its own: a Node Buffer's slice() would share the pool's memory, from the wrong offset)
  const copy = () => {
    const aligned = new Uint8Array(n * type.bytes);
    aligned.set(bytes.subarray(start, start + n * type.bytes));
    return aligned.buffer;
  };
  const values = Native ? new Native(copy()) : undefined;
  for (let i = 0; i < n; i++) {
    const raw = values ? values[i]! : read(i);
    const value = scaled ? raw * slope + inter : raw;
    if (isFloat && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)) {
      fail(
        "NON_INTEGER_LABEL",
        `${name}: voxel ${i} holds ${value}, not a whole label (in the int32 range): a probability map or a resampled (interpolated) label volume? Labels need nearest-neighbour resampling.`,
      );
    }
    labels[i] = value;
  }
  return {
    dims,
    pixdim: [Math.abs(pix(1)) * toMm, Math.abs(pix(2)) * toMm, Math.abs(pix(3)) * toMm],
    affine: sformCode > 0 ? [srow(0), srow(1), srow(2)] : undefined,
    datatype: { code, name: type.name },
    labels: narrowest(labels),
  };
}

/** Labels in the narrowest unsigned type that holds them: uint8 maps take the counting kernel's vector path. */
function narrowest(labels: LabelMap): LabelMap {
  if (!(labels instanceof Int32Array)) return labels;
  let [min, max] = [0, 0];
  for (const l of labels) [min, max] = [Math.min(min, l), Math.max(max, l)];
  if (min < 0) return labels;
  return max < 256 ? Uint8Array.from(labels) : max < 65536 ? Uint16Array.from(labels) : labels;
}
