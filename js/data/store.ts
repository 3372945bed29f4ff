// A growable columnar store of recorded chunks, indexed by record number. It learns its columns
// from the `records` messages' headers (name, dtype, shape) and keeps each one by name, in a
// typed array of its dtype with a fixed number of values per record: a column it has not seen
// before is stored like any other. bfloat16 columns (per-step losses, magnitudes) stay packed
// as Uint16Array and are decoded a record at a time, so 100,000 records at n = 25 take about
// 85 MB.
import {
  allocate,
  type Bytes,
  bytesPer,
  type Column,
  type ColumnSpec,
  type Dtype,
  decodeBf16,
  decodeColumn,
} from "./decode";

type ChangeListener = (start: number, count: number) => void;

/** One column as held: its dtype, values per record, and the values of every record slot. */
interface StoredColumn {
  dtype: Dtype;
  width: number;
  values: Column;
}

const INTEGER: ReadonlySet<Dtype> = new Set(["int32", "uint8", "uint16"]);

function grow(column: StoredColumn, capacity: number): void {
  const next = allocate(column.dtype, capacity * column.width);
  next.set(column.values.subarray(0, Math.min(column.values.length, next.length)));
  column.values = next;
}

export class RecordStore {
  /** One past the highest record index held. */
  length = 0;
  /** Number of records held without a gap from index 0. */
  have = 0;
  /** 1 for every record index held. */
  present = new Uint8Array(0);
  private capacity = 0;
  private reserved = 0;
  private readonly columns = new Map<string, StoredColumn>();
  private readonly listeners = new Set<ChangeListener>();

  /**
   * Announce how many records are expected (the kernel's count): the next growth sizes the
   * columns for exactly that many instead of adding geometric slack.
   */
  reserve(count: number): void {
    this.reserved = Math.max(this.reserved, count);
  }

  has(index: number): boolean {
    return index >= 0 && index < this.length && this.present[index] === 1;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Write a `records` block (column headers + one little-endian buffer per column); writing
   * the same indices again overwrites them (idempotent).
   */
  writeWire(start: number, count: number, specs: ColumnSpec[], buffers: Bytes[]): void {
    if (count <= 0) return;
    // Check every column before writing any, so a bad block leaves the store as it was.
    const incoming = specs.map((spec, i) => {
      const values = decodeColumn(spec, buffers[i]);
      if (spec.shape[0] !== count) {
        throw new Error(`rnnbow: column ${spec.name} has shape [${spec.shape}], count is ${count}`);
      }
      return { name: spec.name, dtype: spec.dtype as Dtype, width: values.length / count, values };
    });
    for (const column of incoming) this.check(column.name, column.dtype, column.width);
    const end = start + count;
    if (end > this.capacity) this.resize(this.grownCapacity(end));
    for (const { name, dtype, width, values } of incoming) {
      const column = this.columnFor(name, dtype, width);
      column.values.set(values, start * width);
    }
    this.present.fill(1, start, end);
    this.length = Math.max(this.length, end);
    while (this.have < this.length && this.present[this.have] === 1) this.have++;
    for (const listener of [...this.listeners]) listener(start, count);
  }

  /** Values per record of a column (0 when no block had it). */
  width(name: string): number {
    return this.columns.get(name)?.width ?? 0;
  }

  dtype(name: string): Dtype | undefined {
    return this.columns.get(name)?.dtype;
  }

  /**
   * A column's values over the records held (record i's at [i * width, (i + 1) * width)),
   * as stored (bfloat16 packed); a live view, replaced when the store grows. A column no block
   * had reads as one zero per record.
   */
  column(name: string): Column {
    const column = this.columns.get(name);
    if (!column) return new Float32Array(this.length);
    return column.values.subarray(0, this.length * column.width);
  }

  /** Record `index`'s value of a one-value-per-record column (0 when no block had it). */
  value(name: string, index: number): number {
    const column = this.columns.get(name);
    return column ? column.values[index * column.width] : 0;
  }

  /** One record's values of a column, as stored. */
  row(name: string, index: number): Column {
    const column = this.columns.get(name);
    if (!column) return new Float32Array(0);
    return column.values.subarray(index * column.width, (index + 1) * column.width);
  }

  /** One record's values of a column as float32 (bfloat16 decoded), into `out` when given. */
  floats(name: string, index: number, out?: Float32Array): Float32Array {
    const row = this.row(name, index);
    if (this.dtype(name) === "bfloat16") return decodeBf16(row as Uint16Array, out);
    const result = out ?? new Float32Array(row.length);
    result.set(row);
    return result;
  }

  /** Bytes held by the columns (for benchmarks and the memory budget). */
  byteSize(): number {
    let total = this.present.byteLength;
    for (const column of this.columns.values()) total += column.values.byteLength;
    return total;
  }

  /** A block's column must keep the width it had; an integer dtype may change to another. */
  private check(name: string, dtype: Dtype, width: number): void {
    const column = this.columns.get(name);
    if (!column) return;
    if (width !== column.width) {
      throw new Error(
        `rnnbow: column ${name} has ${width} values per record in this block, ` +
          `${column.width} in the store`,
      );
    }
    if (dtype !== column.dtype && !(INTEGER.has(dtype) && INTEGER.has(column.dtype))) {
      throw new Error(
        `rnnbow: column ${name} is ${dtype} in this block, ${column.dtype} in the store`,
      );
    }
  }

  /**
   * The stored column for a block's column: created at the current capacity when new, and
   * widened when the block's integers need more bytes than the stored ones have (uint16
   * indices, then int32 ones when the vocabulary grew).
   */
  private columnFor(name: string, dtype: Dtype, width: number): StoredColumn {
    let column = this.columns.get(name);
    if (!column) {
      column = { dtype, width, values: allocate(dtype, this.capacity * width) };
      this.columns.set(name, column);
    } else if (dtype !== column.dtype && bytesPer(dtype) > bytesPer(column.dtype)) {
      const values = allocate(dtype, column.values.length);
      values.set(column.values);
      column.dtype = dtype;
      column.values = values;
    }
    return column;
  }

  /** The announced count when it covers `end`, else geometric growth (amortised appends). */
  private grownCapacity(end: number): number {
    // Grow by an eighth (at least 1024 records): appends stay amortised O(1) and a large
    // store carries at most 12.5% slack.
    const geometric = this.capacity + Math.max(1024, this.capacity >> 3);
    if (this.reserved >= end)
      return this.capacity === 0 ? this.reserved : Math.max(this.reserved, geometric);
    return Math.max(end, geometric);
  }

  private resize(capacity: number): void {
    const present = new Uint8Array(capacity);
    present.set(this.present.subarray(0, Math.min(this.present.length, capacity)));
    this.present = present;
    for (const column of this.columns.values()) grow(column, capacity);
    this.capacity = capacity;
  }
}
