// The one-line summary of the chunk being shown, above the overview.

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
}

export function infoText(
  store: RecordStore,
  index: number,
  because: ShownBecause,
  total: number,
  extras: InfoExtras = {},
): string {
  if (!store.has(index)) return `Chunk ${index} is not loaded yet.`;
  const n = store.n;
  const start = store.offset[index];
  const lead =
    because === "selected" ? "Selected" : because === "hovered" ? "Previewing" : "Latest";
  const parts = [
    `${lead} chunk ${formatInteger(index)} of ${formatInteger(total)}`,
    `step ${formatInteger(store.step[index])}`,
    `characters ${formatInteger(start)}..${formatInteger(start + n)}`,
    `max gradient ${formatGradient(store.scalars.max_gradient[index])}`,
    `loss ${formatLoss(store.scalars.loss[index])}`,
    `effective horizon ${formatSteps(store.scalars.effective_horizon[index])} steps`,
    `reach ${formatSteps(store.scalars.reach[index])} steps`,
  ];
  // The norm before clipping, always: an exploding gradient shows here first.
  parts.push(
    `gradient norm ${formatGradient(store.scalars.grad_norm[index])} before clipping${store.clipped[index] ? " (clipped)" : ""}`,
  );
  const ratio = extras.jumpRatio ?? Number.NaN;
  if (ratio > (extras.jumpFactor ?? 3)) parts.push(`norm jumped ${ratio.toFixed(1)}-fold`);
  if (extras.linkNote) parts.push(extras.linkNote);
  const line = parts.join(" · ");
  return extras.diverged ? `${line}. ${extras.diverged}` : line;
}
