// View 1: one bar per recorded chunk (canvas), aggregated per pixel column (tallest kept), with the
// smoothed training loss as a thin line on its own right axis. Drag to zoom, double-click to
// reset, hover to preview, click to select.

import { format } from "d3-format";
import { scaleLinear } from "d3-scale";
import { METRICS } from "../data/metrics";
import type { Diverged, Metric } from "../data/model";
import type { RecordStore } from "../data/store";
import { drawAxis } from "../lib/axis";
import { clear, svg } from "../lib/dom";
import { axisGradientFormat } from "../lib/format";
import type { Theme } from "../lib/theme";
import { measureSince } from "../lib/timing";
import {
  type Bins,
  binRecords,
  brushRange,
  columnCount,
  columnOfRecord,
  finiteMax,
} from "./overview-bins";

const LEFT = 76;
const RIGHT = 64;
const TOP = 16;
const PLOT = 140;
const BOTTOM = 44;
const OVERVIEW_HEIGHT = TOP + PLOT + BOTTOM;

interface OverviewCallbacks {
  onHover: (index: number | null) => void;
  onSelect: (index: number) => void;
}

interface OverviewState {
  metric: Metric;
  selected: number;
  hovered: number | null;
}

export class OverviewView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly overlay: SVGSVGElement;
  private bins: Bins | null = null;
  private width = 0;
  private zoom: [number, number] | null = null;
  private dragStart: number | null = null;
  private brush: SVGRectElement | null = null;
  private hoverBox: SVGRectElement | null = null;
  private selectedMark: SVGPathElement | null = null;
  private yMax = 1;
  private state: OverviewState = { metric: "max", selected: -1, hovered: null };
  private jumped: Uint8Array | null = null;
  private diverged: Diverged | null = null;

  constructor(
    private readonly store: RecordStore,
    private readonly theme: () => Theme,
    private readonly callbacks: OverviewCallbacks,
  ) {
    this.element = document.createElement("div");
    this.element.className = "rnnbow-overview-plot";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "rnnbow-overview-canvas";
    this.overlay = svg("svg", {
      class: "rnnbow-overview-overlay",
      role: "img",
      "aria-label": "overview of all recorded chunks",
    });
    this.element.append(this.canvas, this.overlay);
    this.overlay.addEventListener("mousedown", this.handleDown);
    this.overlay.addEventListener("mousemove", this.handleMove);
    this.overlay.addEventListener("mouseup", this.handleUp);
    this.overlay.addEventListener("mouseleave", this.handleLeave);
    this.overlay.addEventListener("dblclick", this.handleDoubleClick);
  }

  /** The record range shown: the zoom, or every record held. */
  private domain(): [number, number] {
    return this.zoom ?? [0, this.store.length];
  }

  private zoomTo(lo: number, hi: number): void {
    this.zoom = hi - lo >= this.store.length ? null : [lo, hi];
  }

  /** Per-record "gradient norm jumped" flags and the divergence, drawn at the next draw(). */
  setMarkers(jumped: Uint8Array | null, diverged: Diverged | null): void {
    this.jumped = jumped;
    this.diverged = diverged;
  }

  /** Bin and paint everything (data, width, metric or zoom changed). */
  draw(width: number, state: OverviewState): void {
    const started = performance.now();
    this.width = Math.max(LEFT + RIGHT + 20, width);
    this.state = { ...state };
    const [lo, hi] = this.domain();
    const plotWidth = this.width - LEFT - RIGHT;
    const columns = columnCount(lo, hi, plotWidth);
    const store = this.store;
    this.bins = binRecords(
      {
        values: store.column(METRICS[state.metric].column),
        smoothLoss: store.column("smooth_loss"),
        clipped: store.column("clipped"),
        present: store.present,
        jumped: this.jumped ?? undefined,
      },
      lo,
      hi,
      columns,
    );
    this.yMax = finiteMax(this.bins.max) || 1;
    this.paint();
    this.drawOverlay();
    measureSince("rnnbow:overview-draw", started);
  }

  /** Selection or hover changed: repaint the bars (bins kept) and the marks. */
  update(state: OverviewState): void {
    const selectionChanged = state.selected !== this.state.selected;
    this.state = { ...state };
    if (selectionChanged) this.paint();
    this.updateMarks();
  }

  destroy(): void {
    this.overlay.removeEventListener("mousedown", this.handleDown);
    this.overlay.removeEventListener("mousemove", this.handleMove);
    this.overlay.removeEventListener("mouseup", this.handleUp);
    this.overlay.removeEventListener("mouseleave", this.handleLeave);
    this.overlay.removeEventListener("dblclick", this.handleDoubleClick);
  }

  /** The record under an x position (px from the overview's left edge), or null. */
  private recordAt(x: number): number | null {
    const c = this.columnAt(x);
    if (c < 0 || !this.bins) return null;
    const index = this.bins.arg[c];
    return index >= 0 ? index : null;
  }

  private columnAt(x: number): number {
    if (!this.bins || this.bins.columns === 0) return -1;
    const plotWidth = this.width - LEFT - RIGHT;
    const c = Math.floor(((x - LEFT) / plotWidth) * this.bins.columns);
    return c >= 0 && c < this.bins.columns ? c : -1;
  }

  private columnLeft(c: number): number {
    const plotWidth = this.width - LEFT - RIGHT;
    return LEFT + (c * plotWidth) / (this.bins?.columns || 1);
  }

  private columnWidth(): number {
    return (this.width - LEFT - RIGHT) / (this.bins?.columns || 1);
  }

  private y(value: number): number {
    return TOP + PLOT - (Math.max(0, value) / this.yMax) * PLOT;
  }

  private paint(): void {
    const bins = this.bins;
    const ratio =
      typeof window !== "undefined" && window.devicePixelRatio ? window.devicePixelRatio : 1;
    const canvas = this.canvas;
    canvas.width = Math.round(this.width * ratio);
    canvas.height = Math.round(OVERVIEW_HEIGHT * ratio);
    canvas.style.width = `${this.width}px`;
    canvas.style.height = `${OVERVIEW_HEIGHT}px`;
    const context = canvas.getContext("2d");
    if (!context || !bins) return;
    const theme = this.theme();
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = theme.background;
    context.fillRect(0, 0, this.width, OVERVIEW_HEIGHT);

    const step = this.columnWidth();
    const gap = step >= 4 ? Math.min(2, step * 0.2) : 0;
    const base = TOP + PLOT;
    context.fillStyle = theme.bar;
    for (let c = 0; c < bins.columns; c++) {
      if (bins.arg[c] < 0) continue;
      const top = this.y(bins.max[c]);
      context.fillRect(
        this.columnLeft(c),
        top,
        Math.max(step - gap, 0.75),
        Math.max(base - top, 0.5),
      );
    }
    // The selected record, in its own value and colour (on top of its column's tallest bar).
    const selected = this.state.selected;
    const sc = columnOfRecord(bins.lo, bins.hi, bins.columns, selected);
    if (sc >= 0 && this.store.has(selected)) {
      const value = this.store.value(METRICS[this.state.metric].column, selected);
      const top = this.y(value);
      context.fillStyle = theme.selected;
      context.fillRect(
        this.columnLeft(sc) - (step < 2 ? 1 : 0),
        top,
        Math.max(step - gap, 2),
        Math.max(base - top, 1),
      );
    }
    // Clipped chunks: a small mark under the baseline.
    context.fillStyle = theme.clipped;
    for (let c = 0; c < bins.columns; c++) {
      if (bins.clipped[c])
        context.fillRect(this.columnLeft(c), base + 2, Math.max(step - gap, 1.5), 5);
    }
    // Records whose gradient norm jumped: a small triangle above the column's bar.
    context.fillStyle = theme.jump;
    for (let c = 0; c < bins.columns; c++) {
      if (!bins.jumped[c]) continue;
      const cx = this.columnLeft(c) + step / 2;
      const top = Math.max(TOP, this.y(bins.max[c])) - 3;
      context.beginPath();
      context.moveTo(cx - 4, top);
      context.lineTo(cx + 4, top);
      context.lineTo(cx, top - 7);
      context.closePath();
      context.fill();
    }
    // Smoothed training loss as a thin line on the right axis.
    const lossMax = finiteMax(bins.loss) || 1;
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
      const x = this.columnLeft(c) + step / 2;
      const y = TOP + PLOT - (value / lossMax) * PLOT;
      if (drawing) context.lineTo(x, y);
      else context.moveTo(x, y);
      drawing = true;
    }
    context.stroke();
  }

  private drawOverlay(): void {
    const bins = this.bins;
    const root = this.overlay;
    clear(root);
    root.setAttribute("width", String(this.width));
    root.setAttribute("height", String(OVERVIEW_HEIGHT));
    root.setAttribute("viewBox", `0 0 ${this.width} ${OVERVIEW_HEIGHT}`);
    if (!bins) return;
    const theme = this.theme();
    const metric = METRICS[this.state.metric];
    const yScale = scaleLinear()
      .domain([0, this.yMax])
      .range([TOP + PLOT, TOP]);
    const isSteps = this.state.metric === "horizon" || this.state.metric === "reach";
    drawAxis(root, yScale, theme, {
      x: LEFT - 3,
      side: "left",
      title: metric.title,
      titleX: 16,
      format: isSteps ? format(".2~f") : axisGradientFormat(this.yMax),
    });
    const lossMax = finiteMax(bins.loss) || 1;
    drawAxis(
      root,
      scaleLinear()
        .domain([0, lossMax])
        .range([TOP + PLOT, TOP]),
      theme,
      {
        x: this.width - RIGHT + 3,
        side: "right",
        title: "training loss",
        titleX: this.width - 10,
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
      .range([LEFT, this.width - RIGHT]);
    root.appendChild(
      svg("line", { x1: LEFT, x2: this.width - RIGHT, y1: base, y2: base, stroke: theme.border }),
    );
    const stepFormat = format(",");
    const ticks = x
      .ticks(Math.max(2, Math.floor((this.width - LEFT - RIGHT) / 110)))
      .filter((v) => Number.isInteger(v) && v >= lo && v < hi);
    for (const index of ticks) {
      const px =
        this.columnLeft(columnOfRecord(lo, hi, bins.columns, index)) + this.columnWidth() / 2;
      root.appendChild(
        svg("line", { x1: px, x2: px, y1: base, y2: base + 9, stroke: theme.border }),
      );
      const label = this.store.has(index) ? stepFormat(this.store.value("step", index)) : "";
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
    const zoomNote = this.zoom ? ` · records ${lo}–${hi - 1} (double-click to show all)` : "";
    root.appendChild(
      svg(
        "text",
        {
          x: (LEFT + this.width - RIGHT) / 2,
          y: base + 39,
          "text-anchor": "middle",
          "font-family": theme.fontFamily,
          "font-size": 13,
          fill: theme.foreground,
        },
        `training step${zoomNote}`,
      ),
    );
    this.drawDiverged(root, theme);
    this.hoverBox = svg("rect", {
      class: "rnnbow-overview-hover",
      fill: "none",
      stroke: theme.foreground,
      "stroke-width": 1.5,
      visibility: "hidden",
    });
    this.selectedMark = svg("path", {
      class: "rnnbow-overview-selected",
      fill: theme.selected,
      visibility: "hidden",
    });
    this.brush = svg("rect", {
      class: "rnnbow-overview-brush",
      y: TOP,
      height: PLOT,
      fill: theme.highlight,
      "fill-opacity": 0.18,
      stroke: theme.highlight,
      visibility: "hidden",
    });
    root.append(this.hoverBox, this.selectedMark, this.brush);
    this.updateMarks();
  }

  /**
   * Where the run diverged: a red vertical line with "diverged at step N", at the first record
   * from that step on (the right end of the plot when the run stopped there).
   */
  private drawDiverged(root: SVGSVGElement, theme: Theme): void {
    const diverged = this.diverged;
    const bins = this.bins;
    if (!diverged || !bins) return;
    let x = this.width - RIGHT;
    let atEnd = true;
    for (let i = bins.lo; i < bins.hi; i++) {
      if (this.store.has(i) && this.store.value("step", i) >= diverged.step) {
        x = this.columnLeft(columnOfRecord(bins.lo, bins.hi, bins.columns, i));
        atEnd = false;
        break;
      }
    }
    if (atEnd && bins.hi < this.store.length) return; // zoomed to records before it
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

  /** Outline the hovered column, and put a pink triangle above the selected one. */
  private updateMarks(): void {
    const bins = this.bins;
    if (!bins || !this.hoverBox || !this.selectedMark) return;
    const step = this.columnWidth();
    const hovered = this.state.hovered;
    const hc = hovered === null ? -1 : columnOfRecord(bins.lo, bins.hi, bins.columns, hovered);
    if (hc >= 0 && hovered !== null && this.store.has(hovered)) {
      const top = this.y(this.store.value(METRICS[this.state.metric].column, hovered));
      const width = Math.max(step, 3);
      this.hoverBox.setAttribute("x", String(this.columnLeft(hc) + step / 2 - width / 2 - 1));
      this.hoverBox.setAttribute("y", String(top - 1));
      this.hoverBox.setAttribute("width", String(width + 2));
      this.hoverBox.setAttribute("height", String(Math.max(TOP + PLOT - top + 1, 2)));
      this.hoverBox.setAttribute("visibility", "visible");
    } else {
      this.hoverBox.setAttribute("visibility", "hidden");
    }
    const sc = columnOfRecord(bins.lo, bins.hi, bins.columns, this.state.selected);
    if (sc >= 0) {
      const cx = this.columnLeft(sc) + step / 2;
      this.selectedMark.setAttribute(
        "d",
        `M${cx - 6},${TOP - 12}L${cx + 6},${TOP - 12}L${cx},${TOP - 3}Z`,
      );
      this.selectedMark.setAttribute("visibility", "visible");
    } else {
      this.selectedMark.setAttribute("visibility", "hidden");
    }
  }

  private localX(event: MouseEvent): number {
    return event.clientX - this.overlay.getBoundingClientRect().left;
  }

  private handleDown = (event: MouseEvent) => {
    if (event.button !== 0) return;
    this.dragStart = this.localX(event);
  };

  private handleMove = (event: MouseEvent) => {
    const x = this.localX(event);
    if (this.dragStart !== null && Math.abs(x - this.dragStart) > 4 && this.brush) {
      const a = Math.max(LEFT, Math.min(this.dragStart, x));
      const b = Math.min(this.width - RIGHT, Math.max(this.dragStart, x));
      this.brush.setAttribute("x", String(a));
      this.brush.setAttribute("width", String(Math.max(0, b - a)));
      this.brush.setAttribute("visibility", "visible");
      return;
    }
    const index = this.recordAt(x);
    if (index !== this.state.hovered) this.callbacks.onHover(index);
  };

  private handleUp = (event: MouseEvent) => {
    const start = this.dragStart;
    this.dragStart = null;
    this.brush?.setAttribute("visibility", "hidden");
    if (start === null) return;
    const x = this.localX(event);
    if (Math.abs(x - start) > 4 && this.bins) {
      const c0 = this.columnAt(Math.max(LEFT, Math.min(start, x)));
      const c1 = this.columnAt(Math.min(this.width - RIGHT - 0.5, Math.max(start, x)));
      if (c0 >= 0 && c1 >= 0) {
        const [lo, hi] = brushRange(this.bins, c0, c1);
        this.zoomTo(lo, hi);
        this.draw(this.width, this.state);
      }
      return;
    }
    const index = this.recordAt(x);
    if (index !== null) this.callbacks.onSelect(index);
  };

  private handleLeave = () => {
    this.dragStart = null;
    this.brush?.setAttribute("visibility", "hidden");
    this.callbacks.onHover(null);
  };

  private handleDoubleClick = () => {
    if (!this.zoom) return;
    this.zoom = null;
    this.draw(this.width, this.state);
  };
}
