// View 5 (drilldown): which hidden units carry the gradient of one loss t. A heatmap, one row per
// hidden unit (sorted by total contribution) and one column per step j under the columns of the
// views above, coloured by |row i of G[t, j]|; the top units listed in words with their reach.
import { interpolateLab } from "d3-interpolate";
import { triangleIndex } from "../data/decode";
import type { UnitsEntry } from "../data/units-data";
import { clear, html, resetSvg, svg } from "../lib/dom";
import { formatGradient } from "../lib/format";
import type { Theme } from "../lib/theme";
import { type ColumnGeometry, columnAt, columnCenter, columnX } from "./columns";

const TOP = 24;
const AXIS = 22;
const LEGEND = 30;
/** Rows drawn at most; the rest (smallest totals) are summarized in words. */
const MAX_ROWS = 120;
/** Units listed in words. */
const TOP_COUNT = 5;
/** Log colour scale spans this many decades below the largest value. */
const LOG_DECADES = 4;

interface UnitProfile {
  /** Units sorted by total contribution, largest first. */
  order: number[];
  /** Sum over steps j <= t of u[t, j, i]. */
  totals: Float64Array;
  /** Steps back (t - j) of the farthest step where unit i still has >= 1% of its own peak. */
  reach: Int32Array;
  /** Largest single value u[t, j, i] over j and i. */
  max: number;
}

/** Contribution of unit i to pair (t, j): row t(t+1)/2 + j of the packed triangle. */
function unitValue(
  values: Float32Array,
  hiddenSize: number,
  t: number,
  j: number,
  i: number,
): number {
  return values[triangleIndex(t, j) * hiddenSize + i];
}

/** Totals, order, reach and max of every unit for source t. */
export function unitProfile(values: Float32Array, hiddenSize: number, t: number): UnitProfile {
  const totals = new Float64Array(hiddenSize);
  const peaks = new Float64Array(hiddenSize);
  let max = 0;
  for (let j = 0; j <= t; j++) {
    const row = triangleIndex(t, j) * hiddenSize;
    for (let i = 0; i < hiddenSize; i++) {
      const v = values[row + i];
      totals[i] += v;
      if (v > peaks[i]) peaks[i] = v;
      if (v > max) max = v;
    }
  }
  const reach = new Int32Array(hiddenSize);
  for (let i = 0; i < hiddenSize; i++) {
    for (let j = 0; j <= t; j++) {
      if (peaks[i] > 0 && values[triangleIndex(t, j) * hiddenSize + i] >= 0.01 * peaks[i]) {
        reach[i] = t - j;
        break;
      }
    }
  }
  const order = Array.from({ length: hiddenSize }, (_, i) => i).sort(
    (a, b) => totals[b] - totals[a] || a - b,
  );
  return { order, totals, reach, max };
}

/** Fraction in [0, 1] of the colour ramp for value v (0 = background). */
export function colourPosition(v: number, max: number, logScale: boolean): number {
  if (!(v > 0) || !(max > 0)) return 0;
  if (!logScale) return Math.min(1, v / max);
  const decades = Math.log10(max / v);
  return Math.max(0, 1 - decades / LOG_DECADES);
}

export interface UnitsOptions {
  logScale: boolean;
  /** True when t is the default (largest loss) rather than a hovered source. */
  isDefault: boolean;
}

export class UnitsView {
  /** The section's content: status line, heatmap (canvas under an SVG overlay), top list. */
  readonly element: HTMLElement;
  readonly svg: SVGSVGElement;
  readonly canvas: HTMLCanvasElement;
  private readonly note: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly caption: HTMLElement;
  private readonly plot: HTMLElement;
  private readonly hoverLine: SVGTextElement;
  private drawn: {
    entry: UnitsEntry;
    t: number;
    order: number[];
    row: number;
    geometry: ColumnGeometry;
  } | null = null;

  constructor(private readonly theme: () => Theme) {
    this.element = html("div", { class: "rnnbow-units", "data-state": "hidden" });
    this.note = html("div", { class: "rnnbow-units-note", "aria-live": "polite" });
    this.plot = html("div", { class: "rnnbow-units-plot" });
    this.canvas = document.createElement("canvas");
    this.canvas.className = "rnnbow-units-canvas";
    this.svg = svg("svg", {
      class: "rnnbow-units-svg",
      role: "img",
      "aria-label": "gradient per hidden unit and step",
    });
    this.hoverLine = svg("text", { class: "rnnbow-units-hover" });
    this.plot.append(this.canvas, this.svg);
    this.list = html("ol", { class: "rnnbow-units-top" });
    this.caption = html("p", { class: "rnnbow-units-caption" });
    this.element.append(this.note, this.plot, this.caption, this.list);
    this.svg.addEventListener("mousemove", this.handleMove);
    this.svg.addEventListener("mouseleave", this.handleLeave);
  }

  destroy(): void {
    this.svg.removeEventListener("mousemove", this.handleMove);
    this.svg.removeEventListener("mouseleave", this.handleLeave);
  }

  /** No heatmap: only a status line (waiting for the kernel, not kept, ...). */
  showStatus(state: string, text: string): void {
    this.element.setAttribute("data-state", state);
    this.note.textContent = text;
    this.note.hidden = false;
    this.plot.hidden = true;
    this.list.hidden = true;
    this.caption.hidden = true;
    this.drawn = null;
  }

  render(entry: UnitsEntry, geometry: ColumnGeometry, t: number, options: UnitsOptions): void {
    const theme = this.theme();
    const values = entry.values;
    const H = entry.hiddenSize;
    if (!values || H < 1 || t < 0 || t >= geometry.n) {
      this.showStatus("absent", "No per-unit data to draw for this chunk.");
      return;
    }
    this.element.setAttribute("data-state", "ready");
    this.note.hidden = true;
    this.plot.hidden = false;
    this.list.hidden = false;
    this.caption.hidden = false;

    const profile = unitProfile(values, H, t);
    const shown = profile.order.slice(0, Math.min(H, MAX_ROWS));
    const row = Math.max(2, Math.min(14, Math.floor(320 / shown.length)));
    const plotHeight = shown.length * row;
    const height = TOP + plotHeight + AXIS + LEGEND;
    const width = geometry.width;
    this.drawn = { entry, t, order: shown, row, geometry };

    // Canvas: the cells.
    const ratio =
      typeof window !== "undefined" && window.devicePixelRatio > 0 ? window.devicePixelRatio : 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const context = this.canvas.getContext("2d");
    const ramp = interpolateLab(theme.background, theme.highlight);
    if (context) {
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.fillStyle = theme.background;
      context.fillRect(0, 0, width, height);
      const gap = geometry.colWidth >= 8 ? 1 : 0;
      for (let r = 0; r < shown.length; r++) {
        const i = shown[r];
        for (let j = 0; j <= t; j++) {
          const position = colourPosition(
            unitValue(values, H, t, j, i),
            profile.max,
            options.logScale,
          );
          if (position <= 0) continue;
          context.fillStyle = ramp(position);
          context.fillRect(columnX(geometry, j), TOP + r * row, geometry.colWidth - gap, row);
        }
      }
    }

    // SVG overlay: title, frame, unit labels, step axis, legend.
    const root = this.svg;
    resetSvg(root, width, height);
    root.setAttribute("data-source", String(t));
    root.setAttribute("data-record", String(entry.index));
    root.setAttribute("data-top-unit", String(shown[0]));
    const text = (
      x: number,
      y: number,
      content: string,
      attributes: Record<string, string | number | undefined> = {},
    ) =>
      root.appendChild(
        svg(
          "text",
          {
            x,
            y,
            "font-family": theme.fontFamily,
            "font-size": 12,
            fill: theme.muted,
            ...attributes,
          },
          content,
        ),
      );
    text(
      geometry.left,
      16,
      `${options.isDefault ? "Largest loss" : "Loss"} at step ${t}: its gradient on W_hh, ` +
        "row by row (one row per hidden unit, largest total on top)" +
        (options.logScale ? " (log colour scale)" : ""),
      {
        fill: theme.foreground,
        "font-size": 13,
        class: "rnnbow-units-title",
      },
    );
    const right = columnX(geometry, geometry.n);
    root.appendChild(
      svg("rect", {
        x: geometry.left,
        y: TOP,
        width: right - geometry.left,
        height: plotHeight,
        fill: "none",
        stroke: theme.border,
        "stroke-width": 1,
      }),
    );
    if (row < 10) {
      // No room for one label per row: name the axis instead (with labels it would overlap them).
      text(geometry.left - 6, TOP + 10, "units", { "text-anchor": "end" });
      text(geometry.left - 6, TOP + 24, "by total ↓", { "text-anchor": "end", "font-size": 10 });
    } else {
      for (let r = 0; r < Math.min(shown.length, 40); r++) {
        text(geometry.left - 6, TOP + r * row + row - 2, `#${shown[r]}`, {
          "text-anchor": "end",
          "font-size": Math.min(11, row),
          class: "rnnbow-units-label",
        });
      }
    }
    const base = TOP + plotHeight;
    const every = geometry.colWidth >= 28 ? 1 : geometry.colWidth >= 18 ? 2 : 5;
    for (let j = 0; j < geometry.n; j++) {
      if (j % every !== 0 && j !== t) continue;
      text(columnCenter(geometry, j), base + 15, String(j), {
        "text-anchor": "middle",
        fill: j === t ? theme.highlight : theme.muted,
        "font-weight": j === t ? "bold" : undefined,
      });
    }
    text(geometry.left - 6, base + 15, "step j", { "text-anchor": "end" });
    this.drawLegend(root, geometry, base + AXIS + 4, profile.max, options.logScale, ramp);
    this.hoverLine.setAttribute("x", String(right));
    this.hoverLine.setAttribute("y", "16");
    this.hoverLine.setAttribute("text-anchor", "end");
    this.hoverLine.setAttribute("font-family", theme.fontFamily);
    this.hoverLine.setAttribute("font-size", "12");
    this.hoverLine.setAttribute("fill", theme.foreground);
    this.hoverLine.textContent = "";
    root.appendChild(this.hoverLine);

    this.renderList(entry, t, profile, shown.length);
  }

  private drawLegend(
    root: SVGSVGElement,
    geometry: ColumnGeometry,
    y: number,
    max: number,
    logScale: boolean,
    ramp: (t: number) => string,
  ): void {
    const theme = this.theme();
    const width = 160;
    const id = `rnnbow-units-ramp-${Math.random().toString(36).slice(2, 8)}`;
    const defs = svg("defs");
    const gradient = svg("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 });
    for (const stop of [0, 0.25, 0.5, 0.75, 1])
      gradient.appendChild(svg("stop", { offset: stop, "stop-color": ramp(stop) }));
    defs.appendChild(gradient);
    root.appendChild(defs);
    const x = geometry.left;
    const legend = svg("g", { class: "rnnbow-units-legend" });
    legend.appendChild(
      svg("rect", { x, y, width, height: 10, fill: `url(#${id})`, stroke: theme.border }),
    );
    const low = logScale ? formatGradient(max / 10 ** LOG_DECADES) : "0";
    const label = (lx: number, anchor: string, content: string) =>
      legend.appendChild(
        svg(
          "text",
          {
            x: lx,
            y: y + 9,
            "text-anchor": anchor,
            "font-family": theme.fontFamily,
            "font-size": 11,
            fill: theme.muted,
          },
          content,
        ),
      );
    label(x - 6, "end", low);
    label(
      x + width + 6,
      "start",
      `${formatGradient(max)}  |row i of G[t, j]| = |g_i| · ‖h_{j−1}‖` +
        (logScale ? ", log scale" : ""),
    );
    root.appendChild(legend);
  }

  private renderList(entry: UnitsEntry, t: number, profile: UnitProfile, rows: number): void {
    clear(this.list);
    let sum = 0;
    for (const v of profile.totals) sum += v;
    const top = profile.order.slice(0, TOP_COUNT).filter((i) => profile.totals[i] > 0);
    this.list.setAttribute("data-source", String(t));
    this.caption.textContent = top.length
      ? `Top ${top.length} of ${entry.hiddenSize} units for the loss at step ${t} ` +
        "(share of the summed row norms, and how far back each still has ≥ 1% of its peak):"
      : `No unit receives gradient from the loss at step ${t}.`;
    if (rows < entry.hiddenSize)
      this.caption.textContent += ` The heatmap shows the ${rows} units with the largest totals.`;
    for (const i of top) {
      const share = sum > 0 ? (100 * profile.totals[i]) / sum : 0;
      const reach = profile.reach[i];
      const item = html(
        "li",
        { class: "rnnbow-units-item", "data-unit": i },
        `unit #${i}: ${share.toFixed(share >= 10 ? 0 : 1)}%, ` +
          `reaches ${reach} step${reach === 1 ? "" : "s"} back` +
          (reach > 0 ? ` (to step ${t - reach})` : ""),
      );
      this.list.appendChild(item);
    }
  }

  private readonly handleMove = (event: MouseEvent): void => {
    const drawn = this.drawn;
    if (!drawn?.entry.values) return;
    const box = this.svg.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    const j = columnAt(drawn.geometry, x);
    const r = Math.floor((y - TOP) / drawn.row);
    if (j < 0 || j > drawn.t || r < 0 || r >= drawn.order.length) {
      this.hoverLine.textContent = "";
      return;
    }
    const i = drawn.order[r];
    const value = unitValue(drawn.entry.values, drawn.entry.hiddenSize, drawn.t, j, i);
    const back = drawn.t - j;
    this.hoverLine.textContent = `unit #${i}, step ${j} (${back} back): ${formatGradient(value)}`;
  };

  private readonly handleLeave = (): void => {
    this.hoverLine.textContent = "";
  };
}
