// Writes NIfTI-1 and NIfTI-2 files for the tests: the header fields a label
// volume has, in either byte order, the voxels after vox_offset.
import { gzipSync } from "node:zlib";

export interface NiftiSpec {
  dims: number[];
  /** 2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 256 int8, 512 uint16 */
  datatype: number;
  values: ArrayLike<number>;
  version?: 1 | 2;
  little?: boolean;
  pixdim?: [number, number, number];
  slope?: number;
  inter?: number;
  sform?: number[][];
  gzip?: boolean;
}

const BYTES: Record<number, number> = { 2: 1, 4: 2, 8: 4, 16: 4, 32: 8, 64: 8, 256: 1, 512: 2 };

export function niftiBytes(spec: NiftiSpec): Uint8Array {
  const { dims, datatype, values, version = 1, little = true, pixdim = [1, 1, 1], slope = 0, inter = 0 } = spec;
  const v1 = version === 1;
  const offset = v1 ? 352 : 544;
  const size = BYTES[datatype]!;
  const bytes = new Uint8Array(offset + values.length * size);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, v1 ? 348 : 540, little);
  const dim = [dims.length, ...dims, ...Array(7 - dims.length).fill(1)];
  const pix = [1, ...pixdim, 1, 1, 1, 1];
  if (v1) {
    for (const [i, d] of dim.entries()) view.setInt16(40 + 2 * i, d, little);
    view.setInt16(70, datatype, little);
    view.setInt16(72, 8 * size, little);
    for (const [i, p] of pix.entries()) view.setFloat32(76 + 4 * i, p, little);
    view.setFloat32(108, offset, little);
    view.setFloat32(112, slope, little);
    view.setFloat32(116, inter, little);
    if (spec.sform) {
      view.setInt16(254, 1, little);
      for (const [r, row] of spec.sform.entries()) {
        for (const [j, x] of row.entries()) view.setFloat32(280 + 16 * r + 4 * j, x, little);
      }
    }
    bytes.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1"
  } else {
    bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
    view.setInt16(12, datatype, little);
    view.setInt16(14, 8 * size, little);
    for (const [i, d] of dim.entries()) view.setBigInt64(16 + 8 * i, BigInt(d), little);
    for (const [i, p] of pix.entries()) view.setFloat64(104 + 8 * i, p, little);
    view.setBigInt64(168, BigInt(offset), little);
    view.setFloat64(176, slope, little);
    view.setFloat64(184, inter, little);
    if (spec.sform) {
      view.setInt32(348, 1, little);
      for (const [r, row] of spec.sform.entries()) {
        for (const [j, x] of row.entries()) view.setFloat64(400 + 32 * r + 8 * j, x, little);
      }
    }
  }
  const put: Record<number, (at: number, v: number) => void> = {
    2: (at, v) => view.setUint8(at, v),
    256: (at, v) => view.setInt8(at, v),
    4: (at, v) => view.setInt16(at, v, little),
    512: (at, v) => view.setUint16(at, v, little),
    8: (at, v) => view.setInt32(at, v, little),
    16: (at, v) => view.setFloat32(at, v, little),
    64: (at, v) => view.setFloat64(at, v, little),
  };
  for (let i = 0; i < values.length; i++) put[datatype]!(offset + i * size, values[i]!);
  return spec.gzip ? gzipSync(bytes) : bytes;
}
