// View 1: one bar per recorded chunk (canvas), aggregated per pixel column (tallest kept), with the
// smoothed training loss as a thin line on its own right axis. The x axis is the chunks in
// training order (overview-frame.ts says why not the steps). Drag to zoom, double-click to
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
import {
  drawAxes,
  hoverLabel,
  LEFT,
  OVERVIEW_HEIGHT,
  OverviewFrame,
  PLOT,
  placeHoverLabel,
  RIGHT,
  TOP,
} from "./overview-frame";
import { paintOverview } from "./overview-paint";

/** Tops of the two value axes when they are shared with other runs. */
export interface SharedScale {
  /** The metric's axis. */
  value: number;
  /** The training loss's axis. */
  loss: number;
}

interface OverviewCallbacks {
  onHover: (index: number | null) => void;
  onSelect: (index: number) => void;
  /**
   * The shared tops of the axes for records [lo, hi) of per-record column `column` (the
   * metric's), or null when this run keeps its own scale.
   */
  sharedScale?: (column: string, lo: number, hi: number) => SharedScale | null;
}

/** While zoomed, a click selects after this long unless a double-click (zoom out) follows. */
export const DOUBLE_CLICK_MS = 300;

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
  private frame = new OverviewFrame(0, 0, 1, 1);
  private zoom: [number, number] | null = null;
  private dragStart: number | null = null;
  private brush: SVGRectElement | null = null;
  private hoverBox: SVGRectElement | null = null;
  private selectedMark: SVGPathElement | null = null;
  private ticks: SVGGElement | null = null;
  private hoverText: SVGTextElement | null = null;
  /** A click's selection waiting to know whether a double-click follows (while zoomed). */
  private pendingSelect: ReturnType<typeof setTimeout> | null = null;
  private state: OverviewState = { metric: "max", selected: -1, hovered: null };
  private jumped: Uint8Array | null = null;
  /** The axes were last drawn on the scale shared with other runs. */
  private linked = false;
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
    const column = METRICS[state.metric].column;
    this.bins = binRecords(
      {
        values: store.column(column),
        smoothLoss: store.column("smooth_loss"),
        clipped: store.column("clipped"),
        present: store.present,
        jumped: this.jumped ?? undefined,
      },
      lo,
      hi,
      columns,
    );
    const shared = this.callbacks.sharedScale?.(column, lo, hi) ?? null;
    const yMax = Math.max(shared?.value ?? 0, finiteMax(this.bins.max)) || 1;
    const lossMax = Math.max(shared?.loss ?? 0, finiteMax(this.bins.loss)) || 1;
    this.frame = new OverviewFrame(frameWidth, columns, yMax, lossMax);
    this.linked = shared !== null;
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
    this.cancelSelect();
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
    const { bins, state, store } = this;
    const sc = bins ? columnOfRecord(bins.lo, bins.hi, bins.columns, state.selected) : -1;
    const selected =
      sc >= 0 && store.has(state.selected)
        ? { column: sc, value: store.value(METRICS[state.metric].column, state.selected) }
        : null;
    paintOverview(this.canvas, this.frame, bins, this.theme(), selected);
  }

  private drawOverlay(): void {
    const bins = this.bins;
    const root = this.overlay;
    resetSvg(root, this.frame.width, OVERVIEW_HEIGHT);
    if (!bins) return;
    const theme = this.theme();
    this.ticks = drawAxes(root, this.frame, theme, {
      bins,
      metric: this.state.metric,
      zoomed: this.zoom !== null,
      linked: this.linked,
      store: this.store,
      diverged: this.diverged,
    });
    this.hoverText = hoverLabel(theme);
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
    root.append(this.hoverBox, this.selectedMark, this.brush, this.hoverText);
    this.updateMarks();
  }

  /**
   * Outline the hovered column and name its chunks and steps under it; put a pink triangle
   * above the selected column.
   */
  private updateMarks(): void {
    const bins = this.bins;
    if (!bins || !this.hoverBox || !this.selectedMark || !this.ticks || !this.hoverText) return;
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
    placeHoverLabel(this.hoverText, this.ticks, this.frame, bins, this.store, hc);
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
    // The second click of a double-click is no selection; while zoomed, neither is the first
    // (the double-click zooms out): it waits to see whether a second click follows.
    if (event.detail >= 2) return this.cancelSelect();
    const index = this.recordAt(x);
    if (index === null) return;
    if (!this.zoom) return this.callbacks.onSelect(index);
    this.cancelSelect();
    this.pendingSelect = setTimeout(() => {
      this.pendingSelect = null;
      this.callbacks.onSelect(index);
    }, DOUBLE_CLICK_MS);
  };

  private cancelSelect(): void {
    if (this.pendingSelect !== null) clearTimeout(this.pendingSelect);
    this.pendingSelect = null;
  }

  private handleLeave = () => {
    this.dragStart = null;
    this.brush?.setAttribute("visibility", "hidden");
    this.callbacks.onHover(null);
  };

  private handleDoubleClick = () => {
    this.cancelSelect();
    if (!this.zoom) return;
    this.zoom = null;
    this.draw(this.frame.width, this.state);
  };
}
