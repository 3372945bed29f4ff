// The one-line summary of the chunk being shown, above the overview.

import { seqLength } from "../data/chunk";
import type { Meta } from "../data/model";
import type { RecordStore } from "../data/store";
import { formatGradient, formatInteger, formatLoss, formatSteps } from "../lib/format";

export type ShownBecause = "selected" | "hovered" | "latest";

/** Optional additions to the info line. */
interface InfoExtras {
  /** grad_norm / median of the previous records' norms (NaN when unknown); see data/explode.ts. */
  jumpRatio?: number;
  /** The jump threshold (x-fold). */
  jumpFactor?: number;
  /** Whether the other runs of a comparison show the same text (link.ts, positionNote). */
  linkNote?: string;
  /** What to change after a divergence (data/explode.ts, divergedText). */
  diverged?: string;
  /**
   * The stacked bars below when they leave out the sources beyond k (show_others off): k and
   * their tallest bar, so that the line tells the two numbers apart.
   */
  stacked?: { k: number; max: number } | null;
  /** The run's meta: its vocabulary names the unit (characters or tokens), and the shards a
   * followed run directory skipped are reported. */
  meta?: Meta;
  /** The bars show the shown sequence's own gradient: the max gradient is the batch's. */
  exampleShown?: boolean;
}

/** "characters" for a character vocabulary, else "tokens". */
export function tokenUnit(vocab: readonly string[] | undefined): string {
  return !vocab || vocab.every((token) => [...token].length === 1) ? "characters" : "tokens";
}

/**
 * The overview's "max": the tallest bar of the chunk with every source loss stacked (the grey
 * "others" included); with the grey segment off, also the tallest of the k stacked.
 */
function maxGradientText(max: number, stacked: InfoExtras["stacked"], batch = false): string {
  const bar = batch ? "the batch's tallest bar" : "tallest bar";
  const all = `max gradient ${formatGradient(max)} (${bar}, all losses`;
  if (!stacked) return `${all})`;
  const nearest = batch ? `this sequence's tallest with the ${stacked.k}` : `with the ${stacked.k}`;
  return `${all}; ${nearest} nearest only: ${formatGradient(stacked.max)})`;
}

export function infoText(
  store: RecordStore,
  index: number,
  because: ShownBecause,
  total: number,
  extras: InfoExtras = {},
): string {
  if (!store.has(index)) return `Chunk ${index} is not loaded yet.`;
  const n = seqLength(store);
  const value = (name: string) => store.value(name, index);
  const start = value("offset"); // -1: the recording was not told where the chunk starts
  const lead =
    because === "selected" ? "Selected" : because === "hovered" ? "Previewing" : "Latest";
  const parts = [
    `${lead} chunk ${formatInteger(index)} of ${formatInteger(total)}`,
    `step ${formatInteger(value("step"))}`,
  ];
  const unit = tokenUnit(extras.meta?.vocab);
  if (start >= 0) parts.push(`${unit} ${formatInteger(start)}..${formatInteger(start + n)}`);
  parts.push(
    maxGradientText(value("max_gradient"), extras.stacked, extras.exampleShown),
    `loss ${formatLoss(value("loss"))} (mean over the chunk)`,
    `effective horizon ${formatSteps(value("effective_horizon"))} steps`,
    `reach ${formatSteps(value("reach"))} steps`,
  );
  // The norm before clipping, whenever the recording has it: an exploding gradient shows
  // here first.
  const norm = value("grad_norm");
  if (Number.isFinite(norm))
    parts.push(
      `gradient norm ${formatGradient(norm)} before clipping` +
        (value("clipped") ? " (clipped)" : ""),
    );
  const problems = extras.meta?.problems ?? [];
  if (problems.length > 0)
    parts.push(`${problems.length} shard(s) of the run skipped: ${problems.join("; ")}`);
  const ratio = extras.jumpRatio ?? Number.NaN;
  if (ratio > (extras.jumpFactor ?? 3)) parts.push(`norm jumped ${ratio.toFixed(1)}-fold`);
  if (extras.linkNote) parts.push(extras.linkNote);
  const line = parts.join(" · ");
  return extras.diverged ? `${line}. ${extras.diverged}` : line;
}
