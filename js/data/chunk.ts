// One recorded chunk as the detail views need it (read from the store's columns "targets",
// "predictions", "losses", and "magnitudes" or, for long chunks, "band" and "beyond"), plus the
// pure arithmetic on its magnitudes: the whole packed triangle, or the band of the K nearest
// sources of each step with the sum of the sources beyond it (docs/data-contract.md). A batch's
// recording may also hold the shown sequence's own magnitudes ("example_magnitudes", whole
// triangles of short chunks only).
import { decodeBf16, triangleIndex } from "./decode";
import type { RecordStore } from "./store";

/** The magnitudes of the batch (what the optimizer applies). */
export const BATCH_COLUMN = "magnitudes";
/** The shown sequence's own magnitudes, when recorded (data-contract: example_magnitudes). */
export const EXAMPLE_COLUMN = "example_magnitudes";
/** A column of whole packed triangles of magnitudes. */
export type MagnitudeColumn = typeof BATCH_COLUMN | typeof EXAMPLE_COLUMN;

/** Characters per chunk (n): the true next characters per record; 0 before the first record. */
export function seqLength(store: RecordStore): number {
  return store.width("targets");
}

/**
 * K, the sources per step the records carry one by one when they carry a band (the `band`
 * column's shape is [count, n, K]); 0 when they carry the whole triangle.
 */
export function bandDepth(store: RecordStore): number {
  const n = seqLength(store);
  return n > 0 ? store.width("band") / n : 0;
}

/** The largest k the bars can stack one by one for chunks of n steps: n, or K with a band. */
export function horizonLimit(store: RecordStore, n: number): number {
  const depth = bandDepth(store);
  return depth > 0 ? Math.min(n, depth) : n;
}

/** The horizon k a trait asks for, kept within 1..horizonLimit. */
export function clampHorizon(store: RecordStore, n: number, k: number): number {
  return Math.max(1, Math.min(horizonLimit(store, n), k));
}

/** The decoded packed triangle |G[t, j]| (index t(t+1)/2 + j) of one record. */
export function triangleOf(
  store: RecordStore,
  index: number,
  out?: Float32Array,
  column: MagnitudeColumn = BATCH_COLUMN,
): Float32Array {
  return store.floats(column, index, out);
}

/** One chunk's magnitudes |G[t, j]| as held: the whole triangle, or a band. */
export interface Magnitudes {
  n: number;
  /** Sources held one by one at each step j (t = j .. j + depth - 1): n, or K for a band. */
  depth: number;
  /** Whole: the packed triangle (t(t+1)/2 + j). Band: m[j + d, j] at j * depth + d. */
  values: Float32Array;
  /** With a band: per step j, the sum of m[t, j] over t >= j + depth; null when whole. */
  beyond: Float32Array | null;
}

/** A whole packed triangle as Magnitudes. */
export function wholeTriangle(triangle: Float32Array, n: number): Magnitudes {
  return { n, depth: n, values: triangle, beyond: null };
}

/**
 * Record `index`'s magnitudes as the store holds them (a band for long chunks); the shown
 * sequence's own with EXAMPLE_COLUMN, which only the records of short chunks carry (null
 * otherwise).
 */
export function magnitudesOf(store: RecordStore, index: number): Magnitudes;
export function magnitudesOf(
  store: RecordStore,
  index: number,
  column: MagnitudeColumn,
): Magnitudes | null;
export function magnitudesOf(
  store: RecordStore,
  index: number,
  column: MagnitudeColumn = BATCH_COLUMN,
): Magnitudes | null {
  const n = seqLength(store);
  if (column === EXAMPLE_COLUMN)
    return store.width(column) > 0
      ? wholeTriangle(triangleOf(store, index, undefined, column), n)
      : null;
  const depth = bandDepth(store);
  if (depth === 0) return wholeTriangle(triangleOf(store, index), n);
  const values = decodeBf16(store.row("band", index) as Uint16Array);
  return { n, depth, values, beyond: store.floats("beyond", index) };
}

/** True when m[t, j] is held: j <= t < j + depth. */
export function holds(m: Magnitudes, t: number, j: number): boolean {
  return j <= t && t - j < m.depth;
}

/** |G[t, j]|; zero above the diagonal (j > t) and where a band does not hold it. */
export function magnitudeAt(m: Magnitudes, t: number, j: number): number {
  if (!holds(m, t, j) || t >= m.n) return 0;
  return m.beyond ? m.values[j * m.depth + t - j] : m.values[triangleIndex(t, j)];
}

/**
 * Height of the stacked bar at each step j: the sum over sources t = j .. j+k-1. A band holds
 * k <= depth sources one by one; a larger k counts every source (band + beyond): the only such
 * k the views ask for is n (stackDepth with the grey segment on).
 */
export function stackedTotals(m: Magnitudes, k: number): Float32Array {
  const totals = new Float32Array(m.n);
  for (let j = 0; j < m.n; j++) {
    let sum = 0;
    for (let t = j; t < Math.min(m.n, j + k, j + m.depth); t++) sum += magnitudeAt(m, t, j);
    totals[j] = sum + (k > m.depth && m.beyond ? m.beyond[j] : 0);
  }
  return totals;
}

/** Why the batch's magnitudes are shown although the sequence's own were asked for. */
export type ExampleMissing =
  | { state: "waiting" }
  | { state: "static"; pageHolds: number[] }
  | { state: "failed"; error: string };

export interface Chunk {
  index: number;
  n: number;
  /** |G[t, j]|, decoded: the whole triangle, or (long chunks) the band until it arrived. */
  magnitudes: Magnitudes;
  /**
   * Whose gradient `magnitudes` is, when the recording has per-example magnitudes: the batch's
   * or the shown sequence's own ("example"); null when it has none (nothing to tell apart).
   */
  gradientOf: "batch" | "example" | null;
  /** With gradientOf "batch": why the sequence's own asked for are not shown (else null). */
  exampleMissing: ExampleMissing | null;
  /** Per-step losses L_t. */
  losses: Float32Array;
  /** Vocabulary symbols of the true next characters and of the predictions. */
  targets: string[];
  predictions: string[];
  correct: boolean[];
}

/**
 * Record `index` for the views; `whole` is its whole packed triangle when the records carry a
 * band and the triangle has arrived (data/triangles.ts).
 */
export function readChunk(
  store: RecordStore,
  index: number,
  vocab: string[],
  whole: Float32Array | null = null,
): Chunk {
  const n = seqLength(store);
  const trueIndices = store.row("targets", index);
  const predictedIndices = store.row("predictions", index);
  const targets: string[] = [];
  const predictions: string[] = [];
  const correct: boolean[] = [];
  for (let p = 0; p < n; p++) {
    const target = trueIndices[p];
    const prediction = predictedIndices[p];
    targets.push(vocab[target] ?? `#${target}`);
    predictions.push(vocab[prediction] ?? `#${prediction}`);
    correct.push(target === prediction);
  }
  return {
    index,
    n,
    magnitudes: whole ? wholeTriangle(whole, n) : magnitudesOf(store, index),
    gradientOf: null,
    exampleMissing: null,
    losses: store.floats("losses", index),
    targets,
    predictions,
    correct,
  };
}

/**
 * How many sources a bar stacks: the k nearest, or with the grey "others" segment on, every
 * source (j .. n-1), so that the tallest bar is the overview's "max gradient" of the chunk.
 */
export function stackDepth(k: number, n: number, showOthers: boolean): number {
  return showOthers ? Math.max(k, n) : k;
}

/** The "others" segment of the bar at step j: |G[t, j]| summed over t = j+k .. n-1. */
export function othersAt(m: Magnitudes, k: number, j: number): number {
  let sum = m.beyond ? m.beyond[j] : 0;
  for (let t = j + k; t < Math.min(m.n, j + m.depth); t++) sum += magnitudeAt(m, t, j);
  return sum;
}

/**
 * The tallest bar of record `index` stacking k sources of `column`, with k (null: the record,
 * or that column of it, is missing).
 */
export function stackedMax(
  store: RecordStore,
  index: number,
  k: number,
  column: MagnitudeColumn = BATCH_COLUMN,
): { k: number; max: number } | null {
  const m = store.hasDetails(index) ? magnitudesOf(store, index, column) : null;
  return m ? { k, max: Math.max(0, ...stackedTotals(m, k)) } : null;
}

/** The largest |G[t, j]| of source t over the steps held. */
export function sourceMax(m: Magnitudes, t: number): number {
  let max = 0;
  for (let j = Math.max(0, t - m.depth + 1); j <= t; j++) max = Math.max(max, magnitudeAt(m, t, j));
  return max;
}

/** The source with the largest loss (the first such step on ties). */
export function largestLossSource(losses: Float32Array): number {
  let best = 0;
  for (let t = 1; t < losses.length; t++) if (losses[t] > losses[best]) best = t;
  return best;
}

/**
 * Steps a loss needs behind it to be the horizon panel's default source: min(k, floor(n / 2)),
 * so that the panel opens on a decay of several steps, not on a loss at step 0 or 1.
 */
export function minStepsBehind(k: number, n: number): number {
  return Math.max(0, Math.min(k, Math.floor(n / 2)));
}

/**
 * The source shown when nothing is hovered: the largest loss among the steps t with at least
 * minStepsBehind(k, n) steps before it (t >= that many).
 */
export function defaultSource(losses: Float32Array, k: number): number {
  const first = Math.min(minStepsBehind(k, losses.length), Math.max(0, losses.length - 1));
  return first + largestLossSource(losses.subarray(first));
}

/**
 * The tallest stacked bar over every record whose details arrived, for one k and one column;
 * computed incrementally (only records written since the last call are scanned). Records whose
 * details were dropped to keep the memory budget still count: the maximum is kept, not
 * recomputed. The shown sequence's own magnitudes count only where the records carry them
 * (short chunks): else 0.
 */
export class StackMaxCache {
  private k = -1;
  private column: MagnitudeColumn = BATCH_COLUMN;
  private scanned = 0;
  private max = 0;
  private store: RecordStore | null = null;

  get(store: RecordStore, k: number, column: MagnitudeColumn = BATCH_COLUMN): number {
    if (
      k !== this.k ||
      column !== this.column ||
      store !== this.store ||
      store.details.lastWrite < this.scanned
    ) {
      this.k = k;
      this.column = column;
      this.store = store;
      this.scanned = 0;
      this.max = 0;
    }
    const n = seqLength(store);
    const depth = column === BATCH_COLUMN ? bandDepth(store) || n : n;
    if (store.width(column) === 0 && column !== BATCH_COLUMN) return 0;
    const pool = store.details;
    // Packed bfloat16 (the kernel's dtype for magnitudes): decoded here, a sum at a time.
    const bits = pool.slotValues(depth < n ? "band" : column);
    const beyond = depth < n && k > depth ? pool.slotValues("beyond") : null;
    if (!bits) return this.max;
    const word = new Uint32Array(1);
    const value = new Float32Array(word.buffer);
    const offset = depth < n ? bandOffset(depth) : triangleIndex;
    const size = depth < n ? n * depth : (n * (n + 1)) / 2;
    pool.forEachWrittenAfter(this.scanned, (_index, slot) => {
      const base = slot * size;
      for (let j = 0; j < n; j++) {
        let sum = beyond ? beyond[slot * n + j] : 0;
        for (let t = j; t < Math.min(n, j + k, j + depth); t++) {
          word[0] = bits[base + offset(t, j)] << 16;
          sum += value[0];
        }
        if (sum > this.max) this.max = sum;
      }
    });
    this.scanned = pool.lastWrite;
    return this.max;
  }
}

/** Where (source t, step j) sits in a record's band of `depth` sources per step. */
function bandOffset(depth: number): (t: number, j: number) => number {
  return (t, j) => j * depth + t - j;
}

/** Decay of one source's gradient going back in time, over the steps held. */
interface Decay {
  /**
   * Geometric-mean ratio |G[t, j-1]| / |G[t, j]| per step back, or null when there is no step
   * back.
   */
  ratioPerStep: number | null;
  /** Steps back (from j = t) the gradient stays at or above 1% of its local value |G[t, t]|. */
  stepsAbove1Percent: number;
  /** Steps back available: t, or fewer when a band holds only the nearest steps. */
  available: number;
  /** True when the steps held reach the start of the chunk (j = 0). */
  complete: boolean;
}

export function decayOf(m: Magnitudes, t: number): Decay {
  const first = Math.max(0, t - m.depth + 1);
  const local = magnitudeAt(m, t, t);
  let steps = 0;
  while (t - steps > first && local > 0 && magnitudeAt(m, t, t - steps - 1) >= 0.01 * local)
    steps++;
  let ratio: number | null = null;
  if (t > first && local > 0) {
    // Furthest step back with a non-zero value (bfloat16 can underflow to 0 far back).
    let far = first;
    while (far < t && magnitudeAt(m, t, far) <= 0) far++;
    const span = t - far;
    ratio = span > 0 ? (magnitudeAt(m, t, far) / local) ** (1 / span) : 0;
  }
  return {
    ratioPerStep: ratio,
    stepsAbove1Percent: steps,
    available: t - first,
    complete: first === 0,
  };
}
