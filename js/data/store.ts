// A growable columnar store of recorded chunks, indexed by record number. It learns its columns
// from the `records` messages' headers (name, dtype, shape) and keeps each one by name, in a
// typed array of its dtype. Summary columns (shape [count]: step, loss, max gradient...) are held
// for every record; detail columns (shape [count, ...]: labels, per-step losses, magnitudes) go
// to a DetailPool within a memory budget (budget.ts): the newest records, older ones thinned
// evenly, and the records asked for one by one. bfloat16 columns stay packed as Uint16Array and
// are decoded a record at a time.
import { DEFAULT_DETAILS_BUDGET_MB, type KeepPlan, keepPlan } from "./budget";
import {
  allocate,
  type Bytes,
  type Column,
  type ColumnSpec,
  type Dtype,
  decodeBf16,
  decodeColumn,
  fits,
  widen,
} from "./decode";
import { DetailPool } from "./details";

/** Records start, start + stride, ... (count of them) were written. */
type ChangeListener = (start: number, count: number, stride: number) => void;

/** One summary column as held: its dtype and one value per record slot. */
interface StoredColumn {
  dtype: Dtype;
  values: Column;
}

/** A block's column, decoded and checked. */
interface Incoming {
  name: string;
  dtype: Dtype;
  width: number;
  values: Column;
  detail: boolean;
}

function grow(column: StoredColumn, capacity: number): void {
  const next = allocate(column.dtype, capacity);
  next.set(column.values.subarray(0, Math.min(column.values.length, next.length)));
  column.values = next;
}

export class RecordStore {
  /** One past the highest record index held. */
  length = 0;
  /** Number of records held without a gap from index 0. */
  have = 0;
  /** 1 for every record index whose summary numbers are held. */
  present = new Uint8Array(0);
  /** The details held within the budget (budget.ts); read them through row() and floats(). */
  readonly details = new DetailPool();
  private capacity = 0;
  private reserved = 0;
  private budgetMb = DEFAULT_DETAILS_BUDGET_MB;
  /** Bytes of details per record the kernel announced (_meta.detail_bytes), until blocks tell. */
  private announcedDetailBytes = 0;
  private readonly columns = new Map<string, StoredColumn>();
  private readonly listeners = new Set<ChangeListener>();

  /**
   * Announce how many records are expected (the kernel's count): the next growth sizes the
   * columns for exactly that many instead of adding geometric slack, and the keep plan counts
   * them (details of records the plan will drop are not stored on the way).
   */
  reserve(count: number): void {
    this.reserved = Math.max(this.reserved, count);
    this.details.plan = this.plan();
  }

  /**
   * The memory budget for details, in MiB (the `details_budget_mb` trait), and the bytes of
   * details one record has when the kernel knows it before any block (`_meta.detail_bytes`).
   */
  setBudget(budgetMb: number, detailBytes = 0): void {
    const changed = budgetMb !== this.budgetMb;
    this.budgetMb = budgetMb;
    if (detailBytes > 0) this.announcedDetailBytes = detailBytes;
    this.details.plan = this.plan();
    if (changed) this.details.refit();
  }

  /** Which records keep their details, for the records expected now. */
  plan(count = Math.max(this.length, this.reserved)): KeepPlan {
    const perRecord = this.details.bytesPerRecord() || this.announcedDetailBytes;
    if (perRecord <= 0)
      return { capacity: Number.POSITIVE_INFINITY, count, kept: count, from: 0, stride: 1 };
    return keepPlan(count, perRecord, this.budgetMb);
  }

  /** True when record `index`'s summary numbers are here (the overview, the info line). */
  has(index: number): boolean {
    return index >= 0 && index < this.length && this.present[index] === 1;
  }

  /** True when record `index`'s details are here too (labels, losses, magnitudes). */
  hasDetails(index: number): boolean {
    return this.has(index) && this.details.holds(index);
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Write a `records` block (column headers + one little-endian buffer per column) for records
   * start, start + stride, ... (count of them); writing the same indices again overwrites them
   * (idempotent). Details are kept for the records the plan keeps or that were asked for.
   */
  writeWire(start: number, count: number, specs: ColumnSpec[], buffers: Bytes[], stride = 1): void {
    if (count <= 0) return;
    // Check every column before writing any, so a bad block leaves the store as it was.
    const incoming: Incoming[] = specs.map((spec, i) => {
      const values = decodeColumn(spec, buffers[i]);
      if (spec.shape[0] !== count) {
        throw new Error(`rnnbow: column ${spec.name} has shape [${spec.shape}], count is ${count}`);
      }
      const dtype = spec.dtype as Dtype;
      const detail = spec.shape.length > 1;
      return { name: spec.name, dtype, width: values.length / count, values, detail };
    });
    for (const column of incoming) this.check(column);
    const end = start + (count - 1) * stride + 1;
    if (end > this.capacity) this.resize(this.grownCapacity(end));
    for (const column of incoming.filter((c) => !c.detail)) {
      const stored = this.columnFor(column.name, column.dtype);
      if (stride === 1) stored.values.set(column.values, start);
      else for (let r = 0; r < count; r++) stored.values[start + r * stride] = column.values[r];
    }
    const details = incoming.filter((c) => c.detail);
    if (details.length > 0) {
      this.writeDetails(start, count, stride, end, details);
    }
    for (let r = 0; r < count; r++) this.present[start + r * stride] = 1;
    this.length = Math.max(this.length, end);
    while (this.have < this.length && this.present[this.have] === 1) this.have++;
    for (const listener of [...this.listeners]) listener(start, count, stride);
  }

  /** Values per record of a column (0 when no block had it). */
  width(name: string): number {
    if (this.columns.has(name)) return 1;
    return this.details.width(name);
  }

  dtype(name: string): Dtype | undefined {
    return this.columns.get(name)?.dtype ?? this.details.dtype(name);
  }

  /**
   * A summary column's values over the records held (record i's at [i]), as stored; a live
   * view, replaced when the store grows. A column no block had reads as one zero per record.
   * Detail columns are read a record at a time (row, floats).
   */
  column(name: string): Column {
    if (this.details.has(name))
      throw new Error(`rnnbow: ${name} is a detail column; read it with row() or floats()`);
    const column = this.columns.get(name);
    if (!column) return new Float32Array(this.length);
    return column.values.subarray(0, this.length);
  }

  /** Record `index`'s value of a summary column (0 when no block had it). */
  value(name: string, index: number): number {
    const column = this.columns.get(name);
    return column ? column.values[index] : 0;
  }

  /**
   * One record's values of a column, as stored: a detail column's row when its details are
   * held (empty otherwise), a summary column's one value.
   */
  row(name: string, index: number): Column {
    const column = this.columns.get(name);
    if (column) return column.values.subarray(index, index + 1);
    return this.details.row(name, index) ?? new Float32Array(0);
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
    let total = this.present.byteLength + this.details.byteSize();
    for (const column of this.columns.values()) total += column.values.byteLength;
    return total;
  }

  /** Each record's details go to its slot, if the plan keeps it or it was asked for. */
  private writeDetails(
    start: number,
    count: number,
    stride: number,
    end: number,
    details: Incoming[],
  ): void {
    const pool = this.details;
    pool.growRecords(this.capacity);
    // The plan counts the records expected, this block's included; a new column (the first
    // block) changes the bytes per record, so the plan is worked out after the columns exist.
    pool.plan = this.plan(Math.max(this.length, this.reserved, end));
    if (details.some((c) => pool.width(c.name) === 0)) {
      for (const c of details) pool.declare(c.name, c.dtype, c.width);
      pool.plan = this.plan(Math.max(this.length, this.reserved, end));
    }
    const slots = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      const index = start + r * stride;
      slots[r] = pool.keeps(index) ? pool.place(index) : -1;
    }
    // Rows going to consecutive slots are copied at once (a fresh pool hands slots out in
    // order, so a block usually is one run).
    for (let r = 0; r < count; ) {
      if (slots[r] < 0) {
        r++;
        continue;
      }
      let end = r + 1;
      while (end < count && slots[end] === slots[end - 1] + 1) end++;
      for (const c of details)
        pool.write(slots[r], c.name, c.dtype, c.values.subarray(r * c.width, end * c.width));
      r = end;
    }
  }

  /** A block's column must keep the width it had; an integer dtype may change to another. */
  private check({ name, dtype, width, detail }: Incoming): void {
    if (detail) {
      if (this.columns.has(name))
        throw new Error(`rnnbow: column ${name} has ${width} values per record, 1 in the store`);
      this.details.check(name, dtype, width);
      return;
    }
    if (this.details.has(name)) {
      throw new Error(
        `rnnbow: column ${name} has 1 value per record in this block, ` +
          `${this.details.width(name)} in the store`,
      );
    }
    const column = this.columns.get(name);
    if (column && !fits(column.dtype, dtype)) {
      throw new Error(
        `rnnbow: column ${name} is ${dtype} in this block, ${column.dtype} in the store`,
      );
    }
  }

  /**
   * The stored column for a block's summary column: created at the current capacity when new,
   * and widened when the block's integers need more bytes than the stored ones have.
   */
  private columnFor(name: string, dtype: Dtype): StoredColumn {
    let column = this.columns.get(name);
    if (!column) {
      column = { dtype, values: allocate(dtype, this.capacity) };
      this.columns.set(name, column);
    } else widen(column, dtype);
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
    this.details.growRecords(capacity);
  }
}
