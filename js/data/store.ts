// A growable columnar store of recorded chunks, indexed by record number.
// Magnitudes and per-step losses stay packed as bfloat16 (Uint16Array); a record's triangle is
// decoded on demand, so 100,000 records at n = 25 take about 85 MB.

import {
  type Bytes,
  type Column,
  type ColumnSpec,
  decodeBf16,
  decodeColumn,
  triangleSize,
} from "./decode";

export type ScalarName =
  | "loss"
  | "smooth_loss"
  | "max_gradient"
  | "mean_gradient"
  | "grad_norm"
  | "effective_horizon"
  | "reach";

const SCALARS: ScalarName[] = [
  "loss",
  "smooth_loss",
  "max_gradient",
  "mean_gradient",
  "grad_norm",
  "effective_horizon",
  "reach",
];

/** One `records` block as the store receives it: columns already decoded to typed arrays. */
interface RecordBlock {
  start: number;
  count: number;
  columns: Record<string, Column>;
}

type ChangeListener = (start: number, count: number) => void;

type IndexArray = Uint16Array | Int32Array;

function grow<T extends Column>(array: T, size: number): T {
  const Ctor = array.constructor as { new (n: number): T };
  const next = new Ctor(size);
  next.set(array.subarray(0, Math.min(array.length, size)) as never);
  return next;
}

export class RecordStore {
  /** Characters per chunk (seq_length); 0 until the first block arrives. */
  n = 0;
  /** One past the highest record index held. */
  length = 0;
  /** Number of records held without a gap from index 0. */
  have = 0;
  private capacity = 0;
  private reserved = 0;
  private listeners = new Set<ChangeListener>();

  step = new Int32Array(0);
  offset = new Int32Array(0);
  clipped = new Uint8Array(0);
  present = new Uint8Array(0);
  scalars = {} as Record<ScalarName, Float32Array>;
  targets: IndexArray = new Uint16Array(0);
  predictions: IndexArray = new Uint16Array(0);
  /** Per-step losses L_t, bfloat16, n per record. */
  lossBits = new Uint16Array(0);
  /** Packed lower triangles, bfloat16, n(n+1)/2 per record. */
  magnitudeBits = new Uint16Array(0);

  constructor() {
    for (const name of SCALARS) this.scalars[name] = new Float32Array(0);
  }

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

  /** Decode a wire block (specs + bytes) and write it. */
  writeWire(start: number, count: number, specs: ColumnSpec[], buffers: Bytes[]): void {
    const columns: Record<string, Column> = {};
    specs.forEach((spec, i) => {
      columns[spec.name] = decodeColumn(spec, buffers[i]);
    });
    this.write({ start, count, columns });
  }

  /** Write a block; writing the same indices again overwrites them (idempotent). */
  private write(block: RecordBlock): void {
    const { start, count, columns } = block;
    if (count <= 0) return;
    const n = this.seqLengthOf(block);
    if (this.n === 0) this.n = n;
    else if (n !== this.n)
      throw new Error(`rnnbow: block has ${n} steps per chunk, store has ${this.n}`);
    const end = start + count;
    if (end > this.capacity) this.resize(this.grownCapacity(end));

    const copy = (target: Column, source: Column | undefined, width: number) => {
      if (source) target.set(source.subarray(0, count * width) as never, start * width);
    };
    copy(this.step, columns.step, 1);
    copy(this.offset, columns.offset, 1);
    copy(this.clipped, columns.clipped, 1);
    for (const name of SCALARS) copy(this.scalars[name], columns[name], 1);
    for (const key of ["targets", "predictions"] as const) {
      const source = columns[key];
      if (source instanceof Int32Array && this[key] instanceof Uint16Array)
        this[key] = Int32Array.from(this[key]);
      copy(this[key], source, n);
    }
    copy(this.lossBits, columns.losses, n);
    copy(this.magnitudeBits, columns.magnitudes, triangleSize(n));
    this.present.fill(1, start, end);
    this.length = Math.max(this.length, end);
    while (this.have < this.length && this.present[this.have] === 1) this.have++;
    for (const listener of [...this.listeners]) listener(start, count);
  }

  /** A scalar column's live view over the records held (length = this.length). */
  scalar(name: ScalarName): Float32Array {
    return this.scalars[name].subarray(0, this.length);
  }

  /** The decoded packed triangle of one record. */
  triangle(index: number, out?: Float32Array): Float32Array {
    const size = triangleSize(this.n);
    return decodeBf16(this.magnitudeBits.subarray(index * size, (index + 1) * size), out);
  }

  /** The decoded per-step losses L_t of one record. */
  stepLosses(index: number): Float32Array {
    return decodeBf16(this.lossBits.subarray(index * this.n, (index + 1) * this.n));
  }

  target(index: number, position: number): number {
    return this.targets[index * this.n + position];
  }

  prediction(index: number, position: number): number {
    return this.predictions[index * this.n + position];
  }

  /** Bytes held by the columns (for benchmarks and the memory budget). */
  byteSize(): number {
    let total = 0;
    for (const array of this.allColumns()) total += array.byteLength;
    return total;
  }

  private seqLengthOf(block: RecordBlock): number {
    const { columns, count } = block;
    for (const key of ["targets", "predictions", "losses"]) {
      if (columns[key]) return columns[key].length / count;
    }
    if (columns.magnitudes)
      return Math.round((Math.sqrt(8 * (columns.magnitudes.length / count) + 1) - 1) / 2);
    if (this.n > 0) return this.n;
    throw new Error("rnnbow: a records block needs targets, predictions, losses or magnitudes");
  }

  /** Exactly the announced count when it covers `end`, else geometric growth (amortised appends). */
  private grownCapacity(end: number): number {
    // Grow by an eighth (at least 1024 records): appends stay amortised O(1) and a large
    // store carries at most 12.5% slack.
    const geometric = this.capacity + Math.max(1024, this.capacity >> 3);
    if (this.reserved >= end)
      return this.capacity === 0 ? this.reserved : Math.max(this.reserved, geometric);
    return Math.max(end, geometric);
  }

  private allColumns(): Column[] {
    return [
      this.step,
      this.offset,
      this.clipped,
      this.present,
      ...SCALARS.map((name) => this.scalars[name]),
      this.targets,
      this.predictions,
      this.lossBits,
      this.magnitudeBits,
    ];
  }

  private resize(capacity: number): void {
    const n = this.n;
    this.step = grow(this.step, capacity);
    this.offset = grow(this.offset, capacity);
    this.clipped = grow(this.clipped, capacity);
    this.present = grow(this.present, capacity);
    for (const name of SCALARS) this.scalars[name] = grow(this.scalars[name], capacity);
    this.targets = grow(this.targets, capacity * n);
    this.predictions = grow(this.predictions, capacity * n);
    this.lossBits = grow(this.lossBits, capacity * n);
    this.magnitudeBits = grow(this.magnitudeBits, capacity * triangleSize(n));
    this.capacity = capacity;
  }
}
