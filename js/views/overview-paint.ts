// Painting the overview's canvas: the bars (one per column), the selected chunk's bar, the
// clipped and jumped marks, and the training loss line.
import type { Theme } from "../lib/theme";
import type { Bins } from "./overview-bins";
import { OVERVIEW_HEIGHT, type OverviewFrame, PLOT, TOP } from "./overview-frame";

/** The selected chunk's column and value, drawn in its own colour over the column's bar. */
interface SelectedBar {
  column: number;
  value: number;
}

/** Size the canvas to the frame and paint it (only the background when there are no bins). */
export function paintOverview(
  canvas: HTMLCanvasElement,
  frame: OverviewFrame,
  bins: Bins | null,
  theme: Theme,
  selected: SelectedBar | null,
): void {
  const ratio =
    typeof window !== "undefined" && window.devicePixelRatio ? window.devicePixelRatio : 1;
  canvas.width = Math.round(frame.width * ratio);
  canvas.height = Math.round(OVERVIEW_HEIGHT * ratio);
  canvas.style.width = `${frame.width}px`;
  canvas.style.height = `${OVERVIEW_HEIGHT}px`;
  const context = canvas.getContext("2d");
  if (!context || !bins) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.fillStyle = theme.background;
  context.fillRect(0, 0, frame.width, OVERVIEW_HEIGHT);

  const step = frame.columnWidth();
  const gap = step >= 4 ? Math.min(2, step * 0.2) : 0;
  const base = TOP + PLOT;
  context.fillStyle = theme.bar;
  for (let c = 0; c < bins.columns; c++) {
    if (bins.arg[c] < 0) continue;
    const top = frame.y(bins.max[c]);
    context.fillRect(
      frame.columnLeft(c),
      top,
      Math.max(step - gap, 0.75),
      Math.max(base - top, 0.5),
    );
  }
  // The selected record, in its own value and colour (on top of its column's tallest bar).
  if (selected) {
    const top = frame.y(selected.value);
    context.fillStyle = theme.selected;
    context.fillRect(
      frame.columnLeft(selected.column) - (step < 2 ? 1 : 0),
      top,
      Math.max(step - gap, 2),
      Math.max(base - top, 1),
    );
  }
  // Clipped chunks: a small mark under the baseline.
  context.fillStyle = theme.clipped;
  for (let c = 0; c < bins.columns; c++) {
    if (bins.clipped[c])
      context.fillRect(frame.columnLeft(c), base + 2, Math.max(step - gap, 1.5), 5);
  }
  // Records whose gradient norm jumped: a small triangle above the column's bar.
  context.fillStyle = theme.jump;
  for (let c = 0; c < bins.columns; c++) {
    if (!bins.jumped[c]) continue;
    const cx = frame.columnLeft(c) + step / 2;
    const top = Math.max(TOP, frame.y(bins.max[c])) - 3;
    context.beginPath();
    context.moveTo(cx - 4, top);
    context.lineTo(cx + 4, top);
    context.lineTo(cx, top - 7);
    context.closePath();
    context.fill();
  }
  // Smoothed training loss as a thin line on the right axis.
  context.strokeStyle = theme.lossLine;
  context.lineWidth = 1.5;
  context.beginPath();
  let drawing = false;
  for (let c = 0; c < bins.columns; c++) {
    const value = bins.loss[c];
    if (!Number.isFinite(value)) {
      drawing = false;
      continue;
    }
    const x = frame.columnLeft(c) + step / 2;
    const y = frame.lossY(value);
    if (drawing) context.lineTo(x, y);
    else context.moveTo(x, y);
    drawing = true;
  }
  context.stroke();
}
