// The overview's frame: the margins around its plot, where each bin column and value sits, and
// the axes drawn under the marks (SVG).
import { format } from "d3-format";
import { scaleLinear } from "d3-scale";
import { METRICS } from "../data/metrics";
import type { Diverged, Metric } from "../data/model";
import type { RecordStore } from "../data/store";
import { drawAxis } from "../lib/axis";
import { svg } from "../lib/dom";
import { axisGradientFormat, formatInteger } from "../lib/format";
import type { Theme } from "../lib/theme";
import { type Bins, columnOfRecord, columnRecords, heldSpan } from "./overview-bins";

export const LEFT = 76;
export const RIGHT = 64;
export const TOP = 16;
export const PLOT = 140;
const BOTTOM = 44;
export const OVERVIEW_HEIGHT = TOP + PLOT + BOTTOM;
/** The baseline of the x axis's labels (ticks, or the hovered column's chunks and steps). */
const LABEL_Y = TOP + PLOT + 22;

/**
 * The overview's geometry at one draw: `width` px, `columns` bin columns, values to `yMax` on
 * the left axis and training losses to `lossMax` on the right one.
 */
export class OverviewFrame {
  constructor(
    readonly width: number,
    readonly columns: number,
    readonly yMax: number,
    readonly lossMax: number,
  ) {}

  /** The plot's width between the two axes, px. */
  get plotWidth(): number {
    return this.width - LEFT - RIGHT;
  }

  /** The column under an x position (px from the overview's left edge), or -1. */
  columnAt(x: number): number {
    if (this.columns === 0) return -1;
    const c = Math.floor(((x - LEFT) / this.plotWidth) * this.columns);
    return c >= 0 && c < this.columns ? c : -1;
  }

  columnLeft(c: number): number {
    return LEFT + (c * this.plotWidth) / (this.columns || 1);
  }

  columnWidth(): number {
    return this.plotWidth / (this.columns || 1);
  }

  /** The y of a value on the left axis. */
  y(value: number): number {
    return TOP + PLOT - (Math.max(0, value) / this.yMax) * PLOT;
  }

  /** The y of a training loss on the right axis. */
  lossY(value: number): number {
    return TOP + PLOT - (value / this.lossMax) * PLOT;
  }

  /** The x of the middle of column c. */
  columnCenter(c: number): number {
    return this.columnLeft(c) + this.columnWidth() / 2;
  }
}

/** What the axes describe. */
interface AxesContent {
  bins: Bins;
  metric: Metric;
  /** The plot shows a zoomed range: the x axis's title says so. */
  zoomed: boolean;
  /** The value axes are shared with the other runs of a comparison: their titles say so. */
  linked: boolean;
  /** The records: the steps under the ticks, and where the run diverged. */
  store: RecordStore;
  diverged: Diverged | null;
}

/**
 * The metric's axis on the left, the training loss's on the right (titled in the loss line's
 * colour), the recorded chunks below, and the divergence line. Returns the x axis's tick
 * labels (hidden while a column's own label is shown, see placeHoverLabel).
 */
export function drawAxes(
  root: SVGSVGElement,
  frame: OverviewFrame,
  theme: Theme,
  content: AxesContent,
): SVGGElement {
  const width = frame.width;
  const metric = METRICS[content.metric];
  const shared = content.linked ? " (all runs)" : "";
  const isSteps = content.metric === "horizon" || content.metric === "reach";
  drawAxis(
    root,
    scaleLinear()
      .domain([0, frame.yMax])
      .range([TOP + PLOT, TOP]),
    theme,
    {
      x: LEFT - 3,
      side: "left",
      title: `${metric.title}${shared}`,
      titleX: 16,
      format: isSteps ? format(".2~f") : axisGradientFormat(frame.yMax),
    },
  );
  drawAxis(
    root,
    scaleLinear()
      .domain([0, frame.lossMax])
      .range([TOP + PLOT, TOP]),
    theme,
    {
      x: width - RIGHT + 3,
      side: "right",
      title: `training loss${shared}`,
      titleX: width - 10,
      format: format(".2~f"),
      ticks: 3,
    },
  );
  // The title of the right axis is drawn in the loss line's colour, as its legend.
  const lastGroup = root.lastElementChild;
  lastGroup?.lastElementChild?.setAttribute("fill", theme.lossLine);
  const ticks = drawChunkAxis(root, frame, theme, content);
  drawDiverged(root, frame, theme, content);
  return ticks;
}

/**
 * The x axis: columns in training order, one per recorded chunk or one per pixel. Tick labels
 * are round chunk indices, each under the column that holds that chunk; the title gives the
 * steps the plot spans (records off the `record_every` schedule, from trainer.step(), make
 * steps uneven along the axis, so no tick names a step).
 */
function drawChunkAxis(
  root: SVGSVGElement,
  frame: OverviewFrame,
  theme: Theme,
  { bins, store, zoomed }: AxesContent,
): SVGGElement {
  const base = TOP + PLOT;
  const { lo, hi } = bins;
  root.appendChild(
    svg("line", { x1: LEFT, x2: frame.width - RIGHT, y1: base, y2: base, stroke: theme.border }),
  );
  const ticks = svg("g", { class: "rnnbow-overview-ticks" });
  const indices = scaleLinear()
    .domain([lo, Math.max(lo + 1, hi)])
    .ticks(Math.max(2, Math.floor(frame.plotWidth / 110)))
    .filter((v) => Number.isInteger(v) && v >= lo && v < hi);
  for (const index of indices) {
    const px = frame.columnCenter(columnOfRecord(lo, hi, bins.columns, index));
    ticks.appendChild(
      svg("line", { x1: px, x2: px, y1: base, y2: base + 9, stroke: theme.border }),
    );
    ticks.appendChild(
      svg(
        "text",
        { ...labelStyle(theme), x: px, "text-anchor": "middle", "data-record": index },
        formatInteger(index),
      ),
    );
  }
  root.appendChild(ticks);
  const span = heldSpan(store.present, lo, hi - 1);
  const steps = span ? ` · ${stepRange(store, span)}` : "";
  const title = zoomed
    ? `recorded chunks ${formatInteger(lo)}–${formatInteger(hi - 1)}${steps} ` +
      "(double-click to show all)"
    : `recorded chunk, in training order${steps}`;
  root.appendChild(
    svg(
      "text",
      {
        class: "rnnbow-overview-x-title",
        x: (LEFT + frame.width - RIGHT) / 2,
        y: base + 39,
        "text-anchor": "middle",
        "font-family": theme.fontFamily,
        "font-size": 13,
        fill: theme.foreground,
      },
      title,
    ),
  );
  return ticks;
}

function labelStyle(theme: Theme) {
  return { y: LABEL_Y, "font-family": theme.fontFamily, "font-size": 12, fill: theme.muted };
}

/** "step 3,001" or "steps 3,001–3,100": the steps of the records held in `span`. */
function stepRange(store: RecordStore, [a, b]: [number, number]): string {
  const first = formatInteger(store.value("step", a));
  return a === b ? `step ${first}` : `steps ${first}–${formatInteger(store.value("step", b))}`;
}

/** The x axis's label for the hovered column (created hidden; see placeHoverLabel). */
export function hoverLabel(theme: Theme): SVGTextElement {
  return svg("text", {
    ...labelStyle(theme),
    class: "rnnbow-overview-hover-label",
    "text-anchor": "middle",
    fill: theme.foreground,
    visibility: "hidden",
  });
}

/**
 * Under the hovered column (c >= 0), its chunks and their training steps ("chunk 31 · step
 * 3,001", or "chunks 1,200–1,299 · steps 120,000–129,900" when the column holds several), in
 * place of the tick labels; c < 0 brings the tick labels back.
 */
export function placeHoverLabel(
  label: SVGTextElement,
  ticks: SVGGElement,
  frame: OverviewFrame,
  bins: Bins,
  store: RecordStore,
  c: number,
): void {
  const [first, last] = c >= 0 ? columnRecords(bins, c) : [0, -1];
  const span = heldSpan(store.present, first, last);
  if (!span) {
    label.setAttribute("visibility", "hidden");
    ticks.removeAttribute("visibility");
    return;
  }
  const [a, b] = span;
  const chunks =
    a === b ? `chunk ${formatInteger(a)}` : `chunks ${formatInteger(a)}–${formatInteger(b)}`;
  const text = `${chunks} · ${stepRange(store, span)}`;
  // Kept inside the plot; its width estimated (measuring it would force a layout).
  const half = text.length * 3.4;
  const x = Math.min(frame.width - RIGHT - half, Math.max(LEFT + half, frame.columnCenter(c)));
  label.textContent = text;
  label.setAttribute("x", String(x));
  label.setAttribute("visibility", "visible");
  ticks.setAttribute("visibility", "hidden");
}

/**
 * Where the run diverged: a red vertical line with "diverged at step N", at the first record
 * from that step on (the right end of the plot when the run stopped there).
 */
function drawDiverged(
  root: SVGSVGElement,
  frame: OverviewFrame,
  theme: Theme,
  { bins, store, diverged }: AxesContent,
): void {
  if (!diverged) return;
  let x = frame.width - RIGHT;
  let atEnd = true;
  for (let i = bins.lo; i < bins.hi; i++) {
    if (store.has(i) && store.value("step", i) >= diverged.step) {
      x = frame.columnLeft(columnOfRecord(bins.lo, bins.hi, bins.columns, i));
      atEnd = false;
      break;
    }
  }
  if (atEnd && bins.hi < store.length) return; // zoomed to records before it
  const group = svg("g", { class: "rnnbow-diverged", "data-step": diverged.step });
  group.appendChild(
    svg("line", {
      x1: x,
      x2: x,
      y1: TOP - 4,
      y2: TOP + PLOT,
      stroke: theme.wrong,
      "stroke-width": 2,
    }),
  );
  group.appendChild(
    svg(
      "text",
      {
        x: x - 4,
        y: TOP + 10,
        "text-anchor": "end",
        "font-family": theme.fontFamily,
        "font-size": 12,
        "font-weight": "bold",
        fill: theme.wrong,
      },
      `diverged at step ${format(",")(diverged.step)}`,
    ),
  );
  const title = svg("title");
  title.textContent =
    diverged.message ||
    `training diverged at step ${diverged.step}: the ${diverged.quantity} became inf or NaN`;
  group.appendChild(title);
  root.appendChild(group);
}
