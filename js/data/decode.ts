// Turning wire columns (little-endian bytes + dtype + shape) into typed arrays, and bfloat16 helpers.

export type Dtype = "int32" | "uint8" | "uint16" | "float32" | "bfloat16";

export interface ColumnSpec {
  name: string;
  dtype: string;
  shape: number[];
}

export type Column = Int32Array | Uint8Array | Uint16Array | Float32Array;

/** Bytes of a buffer as they arrive from anywidget (DataView), from tests or from the standalone page. */
export type Bytes = ArrayBuffer | ArrayBufferView;

/** Decode a run of bfloat16 values into float32. */
export function decodeBf16(bits: Uint16Array, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(bits.length);
  const asInt = new Uint32Array(result.buffer, result.byteOffset, bits.length);
  for (let i = 0; i < bits.length; i++) asInt[i] = bits[i] << 16;
  return result;
}

/** Number of entries in the packed lower triangle of an n x n matrix (j <= t). */
export function triangleSize(n: number): number {
  return (n * (n + 1)) / 2;
}

/** Index of (source t, step j), j <= t, in the packed lower triangle. */
export function triangleIndex(t: number, j: number): number {
  return (t * (t + 1)) / 2 + j;
}

function bytesOf(data: Bytes): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const BYTES_PER: Record<string, number> = {
  int32: 4,
  uint8: 1,
  uint16: 2,
  float32: 4,
  bfloat16: 2,
};

/**
 * A typed array holding a copy of the column's values. The copy is aligned (wire buffers may
 * start at any byte offset) and owns its memory, so the message buffer can be released.
 * bfloat16 columns stay packed as Uint16Array.
 */
export function decodeColumn(spec: ColumnSpec, data: Bytes): Column {
  const size = BYTES_PER[spec.dtype];
  if (size === undefined)
    throw new Error(`rnnbow: unsupported dtype ${spec.dtype} for column ${spec.name}`);
  const bytes = bytesOf(data);
  const expected = spec.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== expected * size) {
    throw new Error(
      `rnnbow: column ${spec.name} has ${bytes.byteLength} bytes, expected ${expected * size} for shape [${spec.shape}]`,
    );
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  switch (spec.dtype) {
    case "int32":
      return new Int32Array(copy.buffer);
    case "uint8":
      return copy;
    case "float32":
      return new Float32Array(copy.buffer);
    default:
      return new Uint16Array(copy.buffer);
  }
}

/** Bytes from a base64 string (the standalone page embeds columns this way). */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
