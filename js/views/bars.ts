// View 3: one stacked bar per time step j. Segments are the contributions of the source losses
// t = j .. j+k-1; the step's own loss (t = j) sits at the bottom in the darkest colour. With
// `showOthers`, one grey segment on top sums the sources beyond k (t = j+k .. n-1), so that a
// bar's height is the step's whole gradient and the tallest bar the overview's "max gradient".
// A batch's recording tells in the legend whose gradient the bars are: the batch's, or the
// shown sequence's own (chunk.gradientOf).
import { scaleLinear } from "d3-scale";
import {
  type Chunk,
  type ExampleMissing,
  magnitudeAt,
  othersAt,
  stackDepth,
  stackedTotals,
} from "../data/chunk";
import { drawAxis } from "../lib/axis";
import { clear, html, resetSvg, svg } from "../lib/dom";
import { axisGradientFormat } from "../lib/format";
import { sourceColour, type Theme } from "../lib/theme";
import { barWidth, type ColumnGeometry, columnX } from "./columns";

const TOP = 10;
const PLOT = 170;
const BARS_HEIGHT = TOP + PLOT + 8;

interface BarsOptions {
  k: number;
  /** Top of the y scale: the chunk's tallest bar, or the tallest over all chunks. */
  scaleMax: number;
  globalScale: boolean;
  /** Stack the sources beyond k as one grey segment on top. */
  showOthers: boolean;
  /** The scale is shared with linked runs (the largest over them). */
  linked?: boolean;
  /** K when the records carry the band of the K nearest sources (k is at most K), else 0. */
  bandDepth?: number;
  /** What a step reads, in the plural: "characters" (the default) or "tokens". */
  unit?: string;
}

/** Rectangles of the stacked bars, in SVG coordinates (pure; used by the view and tests). */
interface Segment {
  /** The source loss; for the "others" segment, the first of the sources it sums. */
  t: number;
  j: number;
  /** True for the grey segment summing the sources t .. n-1. */
  others: boolean;
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

function stackSegments(
  chunk: Chunk,
  geometry: ColumnGeometry,
  k: number,
  showOthers: boolean,
  scaleMax: number,
): Segment[] {
  const y = scaleLinear()
    .domain([0, scaleMax > 0 ? scaleMax : 1])
    .range([TOP + PLOT, TOP]);
  const width = barWidth(geometry);
  const segments: Segment[] = [];
  for (let j = geometry.first; j < geometry.last; j++) {
    let base = 0;
    const x = columnX(geometry, j) + (geometry.colWidth - width) / 2;
    const push = (t: number, others: boolean, value: number) => {
      const top = base + value;
      const height = Math.max(0, y(base) - y(top));
      segments.push({ t, j, others, value, x, y: y(top), width, height });
      base = top;
    };
    for (let t = j; t < Math.min(chunk.n, j + k); t++)
      push(t, false, magnitudeAt(chunk.magnitudes, t, j));
    if (showOthers && j + k < chunk.n) push(j + k, true, othersAt(chunk.magnitudes, k, j));
  }
  return segments;
}

/** The legend's first line, for a batch's recording: whose gradient the bars are. */
export function gradientOfText(chunk: Chunk): string {
  if (chunk.gradientOf === "example")
    return (
      "Gradient of this sequence's own losses (the one in the labels above), not the whole " +
      "batch's."
    );
  const batch = "Gradient of the whole batch (what the optimizer applies)";
  return chunk.exampleMissing
    ? `${batch}: ${missingText(chunk.index, chunk.exampleMissing)}`
    : `${batch}; 'gradient of' shows this sequence's own.`;
}

/** Why the shown sequence's own gradient, asked for, is not shown. */
function missingText(index: number, why: ExampleMissing): string {
  const own = `this sequence's own for chunk ${index}`;
  if (why.state === "waiting") return `${own} loads when the kernel is idle (not loaded yet).`;
  if (why.state === "failed") return `the kernel could not send ${own} (${why.error}).`;
  const held = why.pageHolds.length ? `only for chunk ${why.pageHolds.join(", ")}` : "for none";
  return `this page holds the sequence's own ${held}.`;
}

/** Hover text of the grey segment of step j, summing the losses at first .. last. */
function othersTitle(j: number, first: number, last: number, value: number): string {
  const sources =
    first === last
      ? `the loss at ${first} (${first - j} later)`
      : `the ${last - first + 1} losses at ${first}..${last} (${first - j} to ${last - j} later)`;
  return `step ${j}: others, the sum from ${sources}, |G| = ${value.toPrecision(3)}`;
}

export class BarsView {
  readonly svg: SVGSVGElement;
  readonly legend: HTMLElement;
  private bySource = new Map<number, SVGRectElement[]>();
  private highlighted: number | null = null;

  constructor(
    private readonly onHoverSource: (t: number | null) => void,
    private readonly theme: () => Theme,
  ) {
    this.svg = svg("svg", {
      class: "rnnbow-bars-svg",
      role: "img",
      "aria-label": "gradient per time step, stacked by source loss",
    });
    this.legend = html("div", { class: "rnnbow-legend" });
    this.svg.addEventListener("mouseover", this.handleOver);
    this.svg.addEventListener("mouseleave", this.handleLeave);
  }

  render(chunk: Chunk, geometry: ColumnGeometry, options: BarsOptions): void {
    const theme = this.theme();
    const root = this.svg;
    resetSvg(root, geometry.width, BARS_HEIGHT, theme.background);
    this.bySource.clear();

    const { k, showOthers } = options;
    root.setAttribute("data-gradient-of", chunk.gradientOf ?? "");
    const depth = stackDepth(k, chunk.n, showOthers);
    const scaleMax =
      options.scaleMax > 0
        ? options.scaleMax
        : Math.max(1e-30, ...stackedTotals(chunk.magnitudes, depth));
    const y = scaleLinear()
      .domain([0, scaleMax])
      .range([TOP + PLOT, TOP]);
    // The scale's extent: this chunk, or the largest over all chunks and/or all linked runs.
    const scope = [options.globalScale ? "all chunks" : "", options.linked ? "all runs" : ""];
    const over = scope.filter(Boolean).join(", ");
    drawAxis(root, y, theme, {
      x: geometry.left - 4,
      gridTo: geometry.width - 8,
      side: "left",
      title: over ? `gradient (${over})` : "gradient",
      titleX: 14,
      format: axisGradientFormat(scaleMax),
    });

    const bars = svg("g", { class: "rnnbow-bars" });
    for (const segment of stackSegments(chunk, geometry, k, showOthers, scaleMax)) {
      const { t, j, others, value } = segment;
      const fill = others ? theme.others : sourceColour(theme, t - j, k);
      const rect = svg("rect", {
        class: others ? "rnnbow-segment rnnbow-others" : "rnnbow-segment",
        x: segment.x,
        y: segment.y,
        width: segment.width,
        height: segment.height,
        fill,
        "data-fill": fill,
        // The grey segment has no one source: hovering it leaves the inspected loss as it is.
        "data-source": others ? undefined : t,
        "data-others": others ? `${t}-${chunk.n - 1}` : undefined,
        "data-step": j,
        "data-value": value,
      });
      const title = svg("title");
      title.textContent = others
        ? othersTitle(j, t, chunk.n - 1, value)
        : `step ${j}: from the loss at ${t} (${t - j} later), |G| = ${value.toPrecision(3)}`;
      rect.appendChild(title);
      bars.appendChild(rect);
      if (others) continue;
      const list = this.bySource.get(t);
      if (list) list.push(rect);
      else this.bySource.set(t, [rect]);
    }
    root.appendChild(bars);
    this.renderLegend(theme, k, showOthers, options.bandDepth ?? 0, options.unit ?? "characters");
    if (chunk.gradientOf !== null) {
      const line = html("div", { class: "rnnbow-legend-gradient-of" }, gradientOfText(chunk));
      line.setAttribute("data-gradient-of", chunk.gradientOf);
      this.legend.prepend(line);
    }
    const previous = this.highlighted;
    this.highlighted = null;
    this.highlight(previous);
  }

  /** Paint every segment of source loss t in the highlight colour (the previous one restored). */
  highlight(t: number | null): void {
    if (t === this.highlighted) return;
    const theme = this.theme();
    if (this.highlighted !== null) {
      for (const rect of this.bySource.get(this.highlighted) ?? []) {
        rect.setAttribute("fill", rect.getAttribute("data-fill") ?? "");
        rect.removeAttribute("data-highlighted");
      }
    }
    this.highlighted = t;
    if (t === null) return;
    for (const rect of this.bySource.get(t) ?? []) {
      rect.setAttribute("fill", theme.highlight);
      rect.setAttribute("data-highlighted", "true");
    }
  }

  destroy(): void {
    this.svg.removeEventListener("mouseover", this.handleOver);
    this.svg.removeEventListener("mouseleave", this.handleLeave);
  }

  private renderLegend(
    theme: Theme,
    k: number,
    showOthers: boolean,
    band: number,
    units: string,
  ): void {
    const unit = units.replace(/s$/, "");
    clear(this.legend);
    this.legend.appendChild(
      html("span", { class: "rnnbow-legend-title" }, "Segment = whose loss it comes from:"),
    );
    const describe = (d: number) =>
      d === 0
        ? `0 = this ${unit}'s own loss`
        : d === 1
          ? `1 = the next ${unit}'s loss`
          : `${d} = the loss ${d} ${units} later`;
    const shown = k <= 6 ? [...Array(k).keys()] : [0, 1, k - 1];
    shown.forEach((d, i) => {
      if (k > 6 && i === 2)
        this.legend.appendChild(html("span", { class: "rnnbow-legend-gap" }, "…"));
      const item = html("span", { class: "rnnbow-legend-item" });
      const swatch = html("span", { class: "rnnbow-swatch" });
      swatch.style.background = sourceColour(theme, d, k);
      item.append(swatch, html("span", {}, describe(d)));
      this.legend.appendChild(item);
    });
    if (showOthers) {
      const item = html("span", { class: "rnnbow-legend-item rnnbow-legend-others" });
      const swatch = html("span", { class: "rnnbow-swatch" });
      swatch.style.background = theme.others;
      const text = `grey = all the losses ${k} or more ${units} later, summed`;
      item.append(swatch, html("span", {}, text));
      this.legend.appendChild(item);
    }
    const item = html("span", { class: "rnnbow-legend-item" });
    const swatch = html("span", { class: "rnnbow-swatch" });
    swatch.style.background = theme.highlight;
    item.append(swatch, html("span", {}, "the loss shown in the horizon below"));
    this.legend.appendChild(item);
    if (band > 0) {
      const text =
        `k is at most ${band} for chunks this long: the browser holds the ${band} nearest ` +
        "losses of each step one by one" +
        (showOthers ? ", and the grey segment sums the rest exactly." : ".");
      this.legend.appendChild(
        html("span", { class: "rnnbow-legend-item rnnbow-legend-band" }, text),
      );
    }
  }

  private handleOver = (event: MouseEvent) => {
    const target = event.target as Element | null;
    const segment = target?.closest?.("[data-source]");
    if (segment) this.onHoverSource(Number(segment.getAttribute("data-source")));
  };

  private handleLeave = () => this.onHoverSource(null);
}
