// One recorded chunk as the detail views need it (read from the store's columns "targets",
// "predictions", "losses" and "magnitudes"), plus the pure arithmetic on its triangle.
import { triangleIndex, triangleSize } from "./decode";
import type { RecordStore } from "./store";

/** Characters per chunk (n): the true next characters per record; 0 before the first record. */
export function seqLength(store: RecordStore): number {
  return store.width("targets");
}

/** The decoded packed triangle |G[t, j]| (index t(t+1)/2 + j) of one record. */
export function triangleOf(store: RecordStore, index: number, out?: Float32Array): Float32Array {
  return store.floats("magnitudes", index, out);
}

export interface Chunk {
  index: number;
  n: number;
  /** Packed lower triangle of |G[t, j]|, decoded. */
  triangle: Float32Array;
  /** Per-step losses L_t. */
  losses: Float32Array;
  /** Vocabulary symbols of the true next characters and of the predictions. */
  targets: string[];
  predictions: string[];
  correct: boolean[];
}

export function readChunk(store: RecordStore, index: number, vocab: string[]): Chunk {
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
    triangle: triangleOf(store, index),
    losses: store.floats("losses", index),
    targets,
    predictions,
    correct,
  };
}

/** |G[t, j]|; zero above the diagonal (j > t). */
export function magnitudeAt(triangle: Float32Array, t: number, j: number): number {
  return j <= t ? triangle[triangleIndex(t, j)] : 0;
}

/** Height of the stacked bar at each step j: the sum over sources t = j .. j+k-1. */
export function stackedTotals(triangle: Float32Array, n: number, k: number): Float32Array {
  const totals = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let t = j; t < Math.min(n, j + k); t++) sum += triangle[triangleIndex(t, j)];
    totals[j] = sum;
  }
  return totals;
}

/**
 * How many sources a bar stacks: the k nearest, or with the grey "others" segment on, every
 * source (j .. n-1), so that the tallest bar is the overview's "max gradient" of the chunk.
 */
export function stackDepth(k: number, n: number, showOthers: boolean): number {
  return showOthers ? Math.max(k, n) : k;
}

/** The "others" segment of the bar at step j: |G[t, j]| summed over t = j+k .. n-1. */
export function othersAt(triangle: Float32Array, n: number, k: number, j: number): number {
  let sum = 0;
  for (let t = j + k; t < n; t++) sum += triangle[triangleIndex(t, j)];
  return sum;
}

/** The tallest bar of record `index` stacking k sources, with k (null: the record is missing). */
export function stackedMax(
  store: RecordStore,
  index: number,
  k: number,
): { k: number; max: number } | null {
  if (!store.has(index)) return null;
  return { k, max: Math.max(0, ...stackedTotals(triangleOf(store, index), seqLength(store), k)) };
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
 * The tallest stacked bar over every record held, for one k; computed incrementally as records
 * arrive (only new records are scanned).
 */
export class StackMaxCache {
  private k = -1;
  private scanned = 0;
  private max = 0;

  get(store: RecordStore, k: number): number {
    if (k !== this.k || store.length < this.scanned) {
      this.k = k;
      this.scanned = 0;
      this.max = 0;
    }
    const n = seqLength(store);
    const size = triangleSize(n);
    // Packed bfloat16 (the kernel's dtype for magnitudes): decoded here, a sum at a time.
    const bits = store.column("magnitudes");
    const present = store.present;
    const word = new Uint32Array(1);
    const value = new Float32Array(word.buffer);
    for (let i = this.scanned; i < store.length; i++) {
      if (!present[i]) continue;
      const base = i * size;
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let t = j; t < Math.min(n, j + k); t++) {
          word[0] = bits[base + triangleIndex(t, j)] << 16;
          sum += value[0];
        }
        if (sum > this.max) this.max = sum;
      }
    }
    this.scanned = store.length;
    return this.max;
  }
}

/** Decay of one source's gradient going back in time. */
interface Decay {
  /**
   * Geometric-mean ratio |G[t, j-1]| / |G[t, j]| per step back, or null when there is no step
   * back.
   */
  ratioPerStep: number | null;
  /** Steps back (from j = t) the gradient stays at or above 1% of its local value |G[t, t]|. */
  stepsAbove1Percent: number;
  /** Steps back available (t). */
  available: number;
}

export function decayOf(triangle: Float32Array, t: number): Decay {
  const local = magnitudeAt(triangle, t, t);
  let steps = 0;
  while (steps < t && local > 0 && magnitudeAt(triangle, t, t - steps - 1) >= 0.01 * local) steps++;
  let ratio: number | null = null;
  if (t > 0 && local > 0) {
    // Furthest step back with a non-zero value (bfloat16 can underflow to 0 far back).
    let far = 0;
    while (far < t && magnitudeAt(triangle, t, far) <= 0) far++;
    const span = t - far;
    ratio = span > 0 ? (magnitudeAt(triangle, t, far) / local) ** (1 / span) : 0;
  }
  return { ratioPerStep: ratio, stepsAbove1Percent: steps, available: t };
}
