// The one-line summary of the chunk being shown, above the overview.
import { formatGradient, formatInteger, formatLoss, formatSteps } from "./format";
import type { RecordStore } from "./store";

export type ShownBecause = "selected" | "hovered" | "latest";

export function infoText(store: RecordStore, index: number, because: ShownBecause, total: number): string {
  if (!store.has(index)) return `Chunk ${index} is not loaded yet.`;
  const n = store.n;
  const start = store.offset[index];
  const lead = because === "selected" ? "Selected" : because === "hovered" ? "Previewing" : "Latest";
  const parts = [
    `${lead} chunk ${formatInteger(index)} of ${formatInteger(total)}`,
    `step ${formatInteger(store.step[index])}`,
    `characters ${formatInteger(start)}..${formatInteger(start + n)}`,
    `max gradient ${formatGradient(store.scalars.max_gradient[index])}`,
    `loss ${formatLoss(store.scalars.loss[index])}`,
    `effective horizon ${formatSteps(store.scalars.effective_horizon[index])} steps`,
    `reach ${formatSteps(store.scalars.reach[index])} steps`,
  ];
  if (store.clipped[index]) parts.push(`clipped (norm ${formatGradient(store.scalars.grad_norm[index])})`);
  return parts.join(" · ");
}
