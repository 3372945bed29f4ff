// Exploding gradients made visible: records whose gradient norm jumped, and where a run diverged.
import type { Diverged } from "./model";
import type { RecordStore } from "./store";

/** A record's pre-clipping gradient norm "jumped" when it exceeds JUMP_FACTOR x the median ... */
export const JUMP_FACTOR = 3;
/** ... of the norms of the previous JUMP_WINDOW records ... */
const JUMP_WINDOW = 20;
/** ... and at least this many earlier records exist to take the median of. */
const JUMP_MIN_HISTORY = 5;

export const JUMP_RULE =
  "A ▲ above a bar marks a chunk whose gradient norm (before clipping) jumped: " +
  `more than ${JUMP_FACTOR}× the median of the ${JUMP_WINDOW} chunks recorded before it.`;

/** `_meta.diverged`, checked: a malformed entry marks no divergence. */
export function divergedOf(meta: unknown): Diverged | null {
  const value = (meta as { diverged?: unknown } | null | undefined)?.diverged as
    | Partial<Diverged>
    | undefined;
  if (!value || typeof value !== "object") return null;
  const step = Number(value.step);
  if (!Number.isInteger(step) || step < 0) return null;
  return {
    step,
    quantity: typeof value.quantity === "string" && value.quantity ? value.quantity : "gradient",
    message: String(value.message ?? ""),
  };
}

/** The info line's explanation of a divergence: what happened and what to change. */
export function divergedText(diverged: Diverged): string {
  return (
    `Training diverged at step ${diverged.step.toLocaleString("en-US")}: ` +
    `the ${diverged.quantity} became inf or NaN, so that update was not applied. ` +
    "To go on, lower trainer.learning_rate, turn on or tighten gradient clipping " +
    "(clip / clip_norm), or start again with a smaller init_scale."
  );
}

/** The previous records' finite norms, sorted in place (reused: a million records take ~0.1 s). */
const window = new Float64Array(JUMP_WINDOW);

/**
 * grad_norm[i] / median(grad_norm of the previous JUMP_WINDOW records) for every record, NaN when
 * fewer than JUMP_MIN_HISTORY earlier records exist (pure; the cache below calls it per record).
 */
export function jumpRatioAt(norms: ArrayLike<number>, i: number): number {
  const from = Math.max(0, i - JUMP_WINDOW);
  if (i - from < JUMP_MIN_HISTORY) return Number.NaN;
  let count = 0;
  for (let p = from; p < i; p++) {
    const value = norms[p];
    if (!Number.isFinite(value)) continue;
    // insertion into the sorted prefix window[0, count)
    let at = count++;
    while (at > 0 && window[at - 1] > value) {
      window[at] = window[at - 1];
      at--;
    }
    window[at] = value;
  }
  if (count < JUMP_MIN_HISTORY) return Number.NaN;
  const mid = count >> 1;
  const m = count % 2 ? window[mid] : (window[mid - 1] + window[mid]) / 2;
  return m > 0 ? norms[i] / m : Number.NaN;
}

/** Jump ratios for the gap-free prefix of the store, computed once per record as records arrive. */
export class JumpCache {
  private ratios = new Float32Array(0);
  private scanned = 0;

  /** Ratio of record i (NaN when unknown); `jumped` says whether it passes the rule. */
  private all(store: RecordStore): Float32Array {
    if (store.have < this.scanned) this.scanned = 0;
    if (this.ratios.length < store.length) {
      const next = new Float32Array(Math.max(store.length, this.ratios.length * 2)).fill(
        Number.NaN,
      );
      next.set(this.ratios.subarray(0, this.scanned));
      this.ratios = next;
    }
    const norms = store.column("grad_norm");
    for (let i = this.scanned; i < store.have; i++) this.ratios[i] = jumpRatioAt(norms, i);
    this.scanned = Math.max(this.scanned, store.have);
    return this.ratios;
  }

  ratio(store: RecordStore, i: number): number {
    return i >= 0 && i < store.have ? this.all(store)[i] : Number.NaN;
  }

  /** 1 for every record that jumped (length: store.length). */
  flags(store: RecordStore): Uint8Array {
    const ratios = this.all(store);
    const flags = new Uint8Array(store.length);
    for (let i = 0; i < store.have; i++) flags[i] = ratios[i] > JUMP_FACTOR ? 1 : 0;
    return flags;
  }
}
