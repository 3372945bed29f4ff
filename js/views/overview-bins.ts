// Aggregating many records into pixel columns for the overview (pure functions, no drawing).
import type { Column } from "../data/decode";

export interface Bins {
  lo: number;
  hi: number;
  columns: number;
  /** Tallest value in each column (NaN when the column holds no record). */
  max: Float32Array;
  /** Record index of that tallest value (-1 when empty). */
  arg: Int32Array;
  /** Mean smoothed loss of the column's records (NaN when empty). */
  loss: Float32Array;
  /** 1 when any record in the column was clipped. */
  clipped: Uint8Array;
  /** 1 when the gradient norm of any record in the column jumped (see data/explode.ts). */
  jumped: Uint8Array;
}

/** Per-record columns (one value per record) as the store holds them. */
interface BinInput {
  values: Column;
  smoothLoss: Column;
  clipped: Column;
  present: Uint8Array;
  /** Optional per-record flags: the gradient norm jumped. */
  jumped?: Uint8Array;
}

/** Columns to draw for records [lo, hi) on `pixels` px: one per record, or one per pixel. */
export function columnCount(lo: number, hi: number, pixels: number): number {
  return Math.max(0, Math.min(hi - lo, Math.floor(pixels)));
}

/** The column that holds record i. */
export function columnOfRecord(lo: number, hi: number, columns: number, i: number): number {
  if (i < lo || i >= hi || columns === 0) return -1;
  return Math.floor(((i - lo) * columns) / (hi - lo));
}

/** First record of column c (records of column c are [firstRecord(c), firstRecord(c + 1))). */
export function firstRecord(lo: number, hi: number, columns: number, c: number): number {
  return lo + Math.ceil((c * (hi - lo)) / columns);
}

/** The records of column c: [first, last], both inclusive. */
export function columnRecords(bins: Bins, c: number): [number, number] {
  const { lo, hi, columns } = bins;
  return [firstRecord(lo, hi, columns, c), firstRecord(lo, hi, columns, c + 1) - 1];
}

/** The first and the last record held in [first, last] (inclusive), or null when none is. */
export function heldSpan(
  present: Uint8Array,
  first: number,
  last: number,
): [number, number] | null {
  let a = first;
  while (a <= last && !present[a]) a++;
  let b = last;
  while (b >= a && !present[b]) b--;
  return a <= b ? [a, b] : null;
}

export function binRecords(input: BinInput, lo: number, hi: number, columns: number): Bins {
  const max = new Float32Array(columns).fill(Number.NaN);
  const arg = new Int32Array(columns).fill(-1);
  const loss = new Float32Array(columns);
  const counts = new Uint32Array(columns);
  const clipped = new Uint8Array(columns);
  const jumped = new Uint8Array(columns);
  const jumps = input.jumped;
  const { values, smoothLoss, present } = input;
  const span = hi - lo;
  for (let i = lo; i < hi; i++) {
    if (!present[i]) continue;
    const c = Math.floor(((i - lo) * columns) / span);
    const value = values[i];
    if (arg[c] === -1 || value > max[c]) {
      max[c] = value;
      arg[c] = i;
    }
    loss[c] += smoothLoss[i];
    counts[c]++;
    if (input.clipped[i]) clipped[c] = 1;
    if (jumps?.[i]) jumped[c] = 1;
  }
  for (let c = 0; c < columns; c++) loss[c] = counts[c] ? loss[c] / counts[c] : Number.NaN;
  return { lo, hi, columns, max, arg, loss, clipped, jumped };
}

/** Largest finite value of a Float32Array (0 when none). */
export function finiteMax(values: Float32Array): number {
  let best = 0;
  for (let i = 0; i < values.length; i++)
    if (values[i] > best && Number.isFinite(values[i])) best = values[i];
  return best;
}

/** The record range after brushing columns [c0, c1] (inclusive, any order). */
export function brushRange(bins: Bins, c0: number, c1: number): [number, number] {
  const a = Math.max(0, Math.min(c0, c1));
  const b = Math.min(bins.columns - 1, Math.max(c0, c1));
  const lo = firstRecord(bins.lo, bins.hi, bins.columns, a);
  const hi = firstRecord(bins.lo, bins.hi, bins.columns, b + 1);
  return [lo, Math.max(hi, lo + 1)];
}
