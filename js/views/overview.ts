// View 1: one bar per recorded chunk (canvas), aggregated per pixel column (tallest kept), with the
// smoothed training loss as a thin line on its own right axis. Drag to zoom, double-click to
// reset, hover to preview, click to select.

import { METRICS } from "../data/metrics";
import type { Diverged, Metric } from "../data/model";
import type { RecordStore } from "../data/store";
import { resetSvg, svg } from "../lib/dom";
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
import { drawAxes, LEFT, OVERVIEW_HEIGHT, OverviewFrame, PLOT, RIGHT, TOP } from "./overview-frame";

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
  /** The geometry of the last draw (before the first: no width, no columns). */
  private frame = new OverviewFrame(0, 0, 1);
  private zoom: [number, number] | null = null;
  private dragStart: number | null = null;
  private brush: SVGRectElement | null = null;
  private hoverBox: SVGRectElement | null = null;
  private selectedMark: SVGPathElement | null = null;
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
    const frameWidth = Math.max(LEFT + RIGHT + 20, width);
    this.state = { ...state };
    const [lo, hi] = this.domain();
    const columns = columnCount(lo, hi, frameWidth - LEFT - RIGHT);
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
    this.frame = new OverviewFrame(frameWidth, columns, finiteMax(this.bins.max) || 1);
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
    const c = this.frame.columnAt(x);
    if (c < 0 || !this.bins) return null;
    const index = this.bins.arg[c];
    return index >= 0 ? index : null;
  }

  private paint(): void {
    const bins = this.bins;
    const frame = this.frame;
    const ratio =
      typeof window !== "undefined" && window.devicePixelRatio ? window.devicePixelRatio : 1;
    const canvas = this.canvas;
    canvas.width = Math.round(frame.width * ratio);
    canvas.height = Math.round(OVERVIEW_HEIGHT * ratio);
    canvas.style.width = `${frame.width}px`;
    canvas.style.height = `${OVERVIEW_HEIGHT}px`;
    const context = canvas.getContext("2d");
    if (!context || !bins) return;
    const theme = this.theme();
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
    const selected = this.state.selected;
    const sc = columnOfRecord(bins.lo, bins.hi, bins.columns, selected);
    if (sc >= 0 && this.store.has(selected)) {
      const value = this.store.value(METRICS[this.state.metric].column, selected);
      const top = frame.y(value);
      context.fillStyle = theme.selected;
      context.fillRect(
        frame.columnLeft(sc) - (step < 2 ? 1 : 0),
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
      const x = frame.columnLeft(c) + step / 2;
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
    resetSvg(root, this.frame.width, OVERVIEW_HEIGHT);
    if (!bins) return;
    const theme = this.theme();
    drawAxes(root, this.frame, theme, {
      bins,
      metric: this.state.metric,
      zoomed: this.zoom !== null,
      store: this.store,
      diverged: this.diverged,
    });
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

  /** Outline the hovered column, and put a pink triangle above the selected one. */
  private updateMarks(): void {
    const bins = this.bins;
    if (!bins || !this.hoverBox || !this.selectedMark) return;
    const step = this.frame.columnWidth();
    const hovered = this.state.hovered;
    const hc = hovered === null ? -1 : columnOfRecord(bins.lo, bins.hi, bins.columns, hovered);
    if (hc >= 0 && hovered !== null && this.store.has(hovered)) {
      const top = this.frame.y(this.store.value(METRICS[this.state.metric].column, hovered));
      const width = Math.max(step, 3);
      this.hoverBox.setAttribute("x", String(this.frame.columnLeft(hc) + step / 2 - width / 2 - 1));
      this.hoverBox.setAttribute("y", String(top - 1));
      this.hoverBox.setAttribute("width", String(width + 2));
      this.hoverBox.setAttribute("height", String(Math.max(TOP + PLOT - top + 1, 2)));
      this.hoverBox.setAttribute("visibility", "visible");
    } else {
      this.hoverBox.setAttribute("visibility", "hidden");
    }
    const sc = columnOfRecord(bins.lo, bins.hi, bins.columns, this.state.selected);
    if (sc >= 0) {
      const cx = this.frame.columnLeft(sc) + step / 2;
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
      const b = Math.min(this.frame.width - RIGHT, Math.max(this.dragStart, x));
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
      const c0 = this.frame.columnAt(Math.max(LEFT, Math.min(start, x)));
      const c1 = this.frame.columnAt(Math.min(this.frame.width - RIGHT - 0.5, Math.max(start, x)));
      if (c0 >= 0 && c1 >= 0) {
        const [lo, hi] = brushRange(this.bins, c0, c1);
        this.zoomTo(lo, hi);
        this.draw(this.frame.width, this.state);
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
    this.draw(this.frame.width, this.state);
  };
}
