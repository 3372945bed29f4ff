// Turning wire columns (little-endian bytes + dtype + shape) into typed arrays; bfloat16 and
// packed-triangle helpers.

export type Dtype = "int32" | "uint8" | "uint16" | "float32" | "bfloat16";

/** A column's header in a `records` message: its name, dtype and shape ([count, ...]). */
export interface ColumnSpec {
  name: string;
  /** One of Dtype; anything else is rejected when the column is decoded. */
  dtype: string;
  shape: number[];
}

export type Column = Int32Array | Uint8Array | Uint16Array | Float32Array;

/** A buffer as it arrives from anywidget (DataView), from tests or from the standalone page. */
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

const BYTES_PER: Record<Dtype, number> = {
  int32: 4,
  uint8: 1,
  uint16: 2,
  float32: 4,
  bfloat16: 2,
};

/** Bytes per value of a dtype. */
export function bytesPer(dtype: Dtype): number {
  return BYTES_PER[dtype];
}

const DTYPES: readonly string[] = Object.keys(BYTES_PER);

export function isDtype(dtype: string): dtype is Dtype {
  return DTYPES.includes(dtype);
}

const INTEGER: ReadonlySet<Dtype> = new Set(["int32", "uint8", "uint16"]);

/** True when a column held as `held` can take a block's `incoming` values (integers widen). */
export function fits(held: Dtype, incoming: Dtype): boolean {
  return held === incoming || (INTEGER.has(held) && INTEGER.has(incoming));
}

/** Widen a held column's values to `dtype` when it needs more bytes per value (integers). */
export function widen(column: { dtype: Dtype; values: Column }, dtype: Dtype): void {
  if (dtype === column.dtype || bytesPer(dtype) <= bytesPer(column.dtype)) return;
  const values = allocate(dtype, column.values.length);
  values.set(column.values);
  column.dtype = dtype;
  column.values = values;
}

/** A zero-filled typed array for `length` values of `dtype` (bfloat16: packed, Uint16Array). */
export function allocate(dtype: Dtype, length: number): Column {
  switch (dtype) {
    case "int32":
      return new Int32Array(length);
    case "uint8":
      return new Uint8Array(length);
    case "float32":
      return new Float32Array(length);
    case "uint16":
    case "bfloat16":
      return new Uint16Array(length);
  }
}

/**
 * The column's values as a typed array of its dtype (bfloat16 stays packed as Uint16Array),
 * after checking the byte count against the shape. The array views `data` when it is aligned
 * for the dtype, else it is an aligned copy (wire buffers may start at any byte offset): read
 * it before `data` is released.
 */
export function decodeColumn(spec: ColumnSpec, data: Bytes): Column {
  const { dtype } = spec;
  if (!isDtype(dtype))
    throw new Error(`rnnbow: unsupported dtype ${dtype} for column ${spec.name}`);
  const size = BYTES_PER[dtype];
  let bytes = bytesOf(data);
  const expected = spec.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== expected * size) {
    throw new Error(
      `rnnbow: column ${spec.name} has ${bytes.byteLength} bytes, ` +
        `expected ${expected * size} for shape [${spec.shape}]`,
    );
  }
  if (bytes.byteOffset % size !== 0) bytes = bytes.slice();
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case "int32":
      return new Int32Array(buffer, byteOffset, expected);
    case "uint8":
      return bytes;
    case "float32":
      return new Float32Array(buffer, byteOffset, expected);
    case "uint16":
    case "bfloat16":
      return new Uint16Array(buffer, byteOffset, expected);
  }
}

/** Bytes from a base64 string (the standalone page embeds columns this way). */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
