// The overview's frame: the margins around its plot, where each bin column and value sits, and
// the axes drawn under the marks (SVG).
import { format } from "d3-format";
import { scaleLinear } from "d3-scale";
import { METRICS } from "../data/metrics";
import type { Diverged, Metric } from "../data/model";
import type { RecordStore } from "../data/store";
import { drawAxis } from "../lib/axis";
import { svg } from "../lib/dom";
import { axisGradientFormat } from "../lib/format";
import type { Theme } from "../lib/theme";
import { type Bins, columnOfRecord, finiteMax } from "./overview-bins";

export const LEFT = 76;
export const RIGHT = 64;
export const TOP = 16;
export const PLOT = 140;
const BOTTOM = 44;
export const OVERVIEW_HEIGHT = TOP + PLOT + BOTTOM;

/** The overview's geometry at one draw: `width` px, `columns` bin columns, values to `yMax`. */
export class OverviewFrame {
  constructor(
    readonly width: number,
    readonly columns: number,
    readonly yMax: number,
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
}

/** What the axes describe. */
interface AxesContent {
  bins: Bins;
  metric: Metric;
  /** The plot shows a zoomed range: the step axis's title names it. */
  zoomed: boolean;
  /** The records: the steps under the ticks, and where the run diverged. */
  store: RecordStore;
  diverged: Diverged | null;
}

/**
 * The metric's axis on the left, the training loss's on the right (titled in the loss line's
 * colour), the training steps below, and the divergence line.
 */
export function drawAxes(
  root: SVGSVGElement,
  frame: OverviewFrame,
  theme: Theme,
  content: AxesContent,
): void {
  const { bins, store } = content;
  const width = frame.width;
  const metric = METRICS[content.metric];
  const yScale = scaleLinear()
    .domain([0, frame.yMax])
    .range([TOP + PLOT, TOP]);
  const isSteps = content.metric === "horizon" || content.metric === "reach";
  drawAxis(root, yScale, theme, {
    x: LEFT - 3,
    side: "left",
    title: metric.title,
    titleX: 16,
    format: isSteps ? format(".2~f") : axisGradientFormat(frame.yMax),
  });
  const lossMax = finiteMax(bins.loss) || 1;
  drawAxis(
    root,
    scaleLinear()
      .domain([0, lossMax])
      .range([TOP + PLOT, TOP]),
    theme,
    {
      x: width - RIGHT + 3,
      side: "right",
      title: "training loss",
      titleX: width - 10,
      format: format(".2~f"),
      ticks: 3,
    },
  );
  // The title of the right axis is drawn in the loss line's colour, as its legend.
  const lastGroup = root.lastElementChild;
  lastGroup?.lastElementChild?.setAttribute("fill", theme.lossLine);

  // x axis: positions are record indices, labels are the training steps of those records.
  const base = TOP + PLOT;
  const [lo, hi] = [bins.lo, bins.hi];
  const x = scaleLinear()
    .domain([lo, Math.max(lo + 1, hi)])
    .range([LEFT, width - RIGHT]);
  root.appendChild(
    svg("line", { x1: LEFT, x2: width - RIGHT, y1: base, y2: base, stroke: theme.border }),
  );
  const stepFormat = format(",");
  const ticks = x
    .ticks(Math.max(2, Math.floor((width - LEFT - RIGHT) / 110)))
    .filter((v) => Number.isInteger(v) && v >= lo && v < hi);
  for (const index of ticks) {
    const px =
      frame.columnLeft(columnOfRecord(lo, hi, bins.columns, index)) + frame.columnWidth() / 2;
    root.appendChild(svg("line", { x1: px, x2: px, y1: base, y2: base + 9, stroke: theme.border }));
    const label = store.has(index) ? stepFormat(store.value("step", index)) : "";
    root.appendChild(
      svg(
        "text",
        {
          x: px,
          y: base + 22,
          "text-anchor": "middle",
          "font-family": theme.fontFamily,
          "font-size": 12,
          fill: theme.muted,
        },
        label,
      ),
    );
  }
  const zoomNote = content.zoomed ? ` · records ${lo}–${hi - 1} (double-click to show all)` : "";
  root.appendChild(
    svg(
      "text",
      {
        x: (LEFT + width - RIGHT) / 2,
        y: base + 39,
        "text-anchor": "middle",
        "font-family": theme.fontFamily,
        "font-size": 13,
        fill: theme.foreground,
      },
      `training step${zoomNote}`,
    ),
  );
  drawDiverged(root, frame, theme, content);
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
