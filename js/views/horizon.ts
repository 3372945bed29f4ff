// View 4: the gradient horizon of one source loss t: |G[t, j]| for j = t, t-1, ..., 0, drawn
// under the columns of view 3, with the decay put into numbers. For a long chunk whose whole
// triangle has not arrived, the steps the band holds (t-K+1 .. t), and a note saying so.
import { scaleLinear, scaleLog } from "d3-scale";
import { type Chunk, decayOf, holds, magnitudeAt } from "../data/chunk";
import { drawAxis } from "../lib/axis";
import { clear, html, resetSvg, svg } from "../lib/dom";
import { axisGradientFormat, formatGradient } from "../lib/format";
import { visibleGlyph } from "../lib/glyphs";
import type { Theme } from "../lib/theme";
import {
  barWidth,
  type ColumnGeometry,
  columnCenter,
  columnX,
  GUTTER_CLASS,
  PINNED_TITLE_CLASS,
  stepLabels,
} from "./columns";

const TOP = 26;
const PLOT = 120;
const AXIS = 30;
const HORIZON_HEIGHT = TOP + PLOT + AXIS;

/** "1 step", "3 steps". */
export function steps(count: number): string {
  return `${count} step${count === 1 ? "" : "s"}`;
}

/** Average advance of one character of the 13 px title, in pixels (a generous estimate). */
const TITLE_CHAR_WIDTH = 7;

/** What the panel's title calls its source. */
function sourceName(t: number, options: HorizonOptions): string {
  if (!options.isDefault) return `Loss at step ${t}`;
  const behind = options.minSteps ?? 0;
  return behind > 0
    ? `Largest loss with ≥ ${steps(behind)} behind it, at step ${t}`
    : `Largest loss, at step ${t}`;
}

/** Why the panel shows only the band of a long chunk (null: the whole row is here). */
export type BandOnly =
  | { state: "waiting" }
  | { state: "static"; pageHolds: number[] }
  | { state: "failed"; error: string };

/** The note above the panel while it shows only the nearest steps of a loss. */
export function bandNote(depth: number, index: number, why: BandOnly): string {
  const shown = `Showing the ${steps(depth)} nearest to each loss`;
  if (why.state === "waiting")
    return `${shown}; the rest of chunk ${index} loads when the kernel is idle (not loaded yet).`;
  if (why.state === "failed") return `${shown}: the kernel could not send the rest (${why.error}).`;
  const held = why.pageHolds.length
    ? `the whole matrix only for chunk ${why.pageHolds.join(", ")}`
    : "no whole matrix";
  return `${shown}: this page holds only those for chunk ${index} (${held}).`;
}

interface HorizonOptions {
  k: number;
  /** Why only the band is shown (long chunks before their whole triangle arrived), or null. */
  bandOnly?: BandOnly | null;
  logScale: boolean;
  /** True when t is the default source (chunk.ts, defaultSource) rather than a hovered one. */
  isDefault: boolean;
  /** Steps the default source needs behind it (chunk.ts, minStepsBehind). */
  minSteps?: number;
  /** Top of the y scale when it is shared with linked runs (0: this source's own largest value). */
  scaleMax?: number;
  linked?: boolean;
}

export class HorizonView {
  readonly svg: SVGSVGElement;
  readonly stats: HTMLElement;
  /** Says when only the nearest steps are shown (hidden otherwise). */
  readonly note: HTMLElement;

  constructor(private readonly theme: () => Theme) {
    this.svg = svg("svg", {
      class: "rnnbow-horizon-svg",
      role: "img",
      "aria-label": "gradient horizon of one loss",
    });
    this.stats = html("div", { class: "rnnbow-horizon-stats" });
    // Styled here (the stats' look, sticky at the left while the views scroll sideways).
    this.note = html("div", { class: "rnnbow-horizon-note", role: "status" });
    this.note.style.cssText =
      "position: sticky; left: 4px; box-sizing: border-box; margin: 2px 4px 2px 76px; " +
      "max-width: var(--rnnbow-view-width, 100%); font-size: 13px; font-style: italic; " +
      "color: var(--rnnbow-muted);";
    this.note.hidden = true;
  }

  render(chunk: Chunk, geometry: ColumnGeometry, t: number, options: HorizonOptions): void {
    const theme = this.theme();
    const root = this.svg;
    resetSvg(root, geometry.width, HORIZON_HEIGHT, theme.background);
    root.setAttribute("data-source", String(t));
    const m = chunk.magnitudes;
    const partial = m.beyond !== null;
    root.setAttribute("data-magnitudes", partial ? "band" : "whole");
    const bandOnly = partial ? (options.bandOnly ?? null) : null;
    this.note.hidden = bandOnly === null;
    this.note.setAttribute("data-state", bandOnly?.state ?? "");
    this.note.textContent = bandOnly ? bandNote(m.depth, chunk.index, bandOnly) : "";

    const values: number[] = [];
    for (let j = 0; j <= t; j++) values.push(magnitudeAt(m, t, j));
    const max = Math.max(...values, 0, options.scaleMax ?? 0);
    const positive = values.filter((v) => v > 0);
    const floor = positive.length ? Math.min(...positive) : 1e-12;
    const y = options.logScale
      ? scaleLog()
          .domain([Math.min(floor, max / 10 || 1e-12), max > 0 ? max : 1])
          .range([TOP + PLOT, TOP])
          .clamp(true)
      : scaleLinear()
          .domain([0, max > 0 ? max : 1])
          .range([TOP + PLOT, TOP]);

    const glyph = visibleGlyph(chunk.targets[t]);
    const whose =
      chunk.gradientOf === "example"
        ? " · this sequence's own"
        : chunk.gradientOf === "batch"
          ? " · whole batch"
          : "";
    const suffix =
      whose + (options.logScale ? " (log scale)" : "") + (options.linked ? " · shared scale" : "");
    const full = `${sourceName(t, options)} (true "${glyph}"): how its gradient flows back${suffix}`;
    // A narrow view (two columns, a small output area) keeps the title's facts, without its
    // explanation, and gives the whole title on hover.
    const fits = full.length * TITLE_CHAR_WIDTH <= geometry.width - geometry.left;
    const heading = svg(
      "text",
      {
        x: geometry.left,
        y: 16,
        "font-family": theme.fontFamily,
        "font-size": 13,
        fill: theme.foreground,
        class: `rnnbow-horizon-title ${PINNED_TITLE_CLASS}`,
      },
      fits ? full : `${sourceName(t, options)} (true "${glyph}")${suffix}`,
    );
    if (!fits) heading.appendChild(svg("title", {}, full));
    root.appendChild(heading);
    drawAxis(root, y as never, theme, {
      x: geometry.left - 4,
      gridTo: geometry.width - 8,
      side: "left",
      title: "|G[t, j]|",
      titleX: 14,
      format: options.logScale ? (v) => formatGradient(v) : axisGradientFormat(max),
      ticks: options.logScale ? 3 : 4,
    });

    const width = barWidth(geometry);
    const first = Math.max(0, t - m.depth + 1);
    if (first > 0) this.drawNotHeld(root, geometry, theme, first, bandOnly);
    const bars = svg("g", { class: "rnnbow-horizon-bars" });
    // The columns drawn (long chunks: those in view and a margin).
    for (let j = Math.max(first, geometry.first); j <= Math.min(t, geometry.last - 1); j++) {
      const value = values[j];
      const inWindow = t - j < options.k;
      const top = value > 0 ? y(value) : TOP + PLOT;
      const rect = svg("rect", {
        class: "rnnbow-horizon-bar",
        x: columnX(geometry, j) + (geometry.colWidth - width) / 2,
        y: top,
        width,
        height: Math.max(value > 0 ? 1 : 0, TOP + PLOT - top),
        fill: inWindow ? theme.highlight : theme.highlightSoft,
        "data-step": j,
        "data-source": t,
      });
      const title = svg("title");
      title.textContent = `${steps(t - j)} back (step ${j}): |G| = ${formatGradient(value)}`;
      rect.appendChild(title);
      bars.appendChild(rect);
    }
    root.appendChild(bars);
    this.drawStepAxis(root, geometry, theme, t);
    if (!holds(m, t, 0)) root.setAttribute("data-first-step", String(first));
    else root.removeAttribute("data-first-step");
    this.renderStats(chunk, t, values, options);
  }

  /** The steps 0 .. first-1 a band does not hold: a shaded span that says so. */
  private drawNotHeld(
    root: SVGElement,
    geometry: ColumnGeometry,
    theme: Theme,
    first: number,
    bandOnly: BandOnly | null,
  ): void {
    const x = columnX(geometry, 0);
    const width = columnX(geometry, first) - x;
    root.appendChild(
      svg("rect", {
        class: "rnnbow-horizon-not-held",
        x,
        y: TOP,
        width,
        height: PLOT,
        fill: theme.muted,
        "fill-opacity": 0.08,
      }),
    );
    const text =
      bandOnly?.state === "waiting" ? "not loaded yet" : bandOnly ? "not in this page" : "";
    if (!text || width < 90) return;
    root.appendChild(
      svg(
        "text",
        {
          x: x + width - 8,
          y: TOP + PLOT / 2,
          "text-anchor": "end",
          "font-family": theme.fontFamily,
          "font-size": 12,
          fill: theme.muted,
          class: "rnnbow-horizon-not-held-text",
        },
        `← ${text}`,
      ),
    );
  }

  private drawStepAxis(root: SVGElement, geometry: ColumnGeometry, theme: Theme, t: number): void {
    const base = TOP + PLOT;
    root.appendChild(
      svg("line", {
        x1: geometry.left,
        x2: geometry.width - 8,
        y1: base,
        y2: base,
        stroke: theme.border,
      }),
    );
    // Thinned so that no two numbers overlap, the bold source's neighbours left out around it.
    for (const j of stepLabels(geometry, t)) {
      root.appendChild(
        svg(
          "text",
          {
            x: columnCenter(geometry, j),
            y: base + 16,
            "text-anchor": "middle",
            "font-family": theme.fontFamily,
            "font-size": 12,
            fill: j === t ? theme.highlight : theme.muted,
            "font-weight": j === t ? "bold" : undefined,
          },
          String(j),
        ),
      );
    }
    root.appendChild(
      svg(
        "text",
        {
          x: geometry.left - 10,
          y: base + 16,
          "text-anchor": "end",
          "font-family": theme.fontFamily,
          "font-size": 12,
          fill: theme.muted,
          class: GUTTER_CLASS,
        },
        "step j",
      ),
    );
  }

  private renderStats(chunk: Chunk, t: number, values: number[], options: HorizonOptions): void {
    clear(this.stats);
    const decay = decayOf(chunk.magnitudes, t);
    const parts: string[] = [];
    const loss = chunk.losses[t].toFixed(2);
    const local = formatGradient(values[t] ?? 0);
    parts.push(`Source: the loss at step ${t} (L = ${loss}), local gradient ${local}.`);
    if (decay.ratioPerStep === null) {
      parts.push("It is the first step of the chunk, so there is no earlier step for it to reach.");
    } else {
      const { ratioPerStep, available, stepsAbove1Percent: above, complete } = decay;
      const over = complete ? steps(available) : `the ${steps(available)} shown`;
      parts.push(
        `Each step back keeps ×${ratioPerStep.toPrecision(2)} of the gradient ` +
          `(geometric mean over ${over}).`,
      );
      parts.push(
        above < available
          ? `It stays above 1% of its local value for ${steps(above)} back.`
          : complete
            ? "It stays above 1% of its local value all the way to the start of the chunk " +
              `(${steps(available)}).`
            : `It stays above 1% of its local value over all the ${steps(available)} shown.`,
      );
    }
    if (options.isDefault) {
      const behind = options.minSteps ?? 0;
      if (behind > 0)
        parts.push(
          `Shown first: the largest loss among the steps with at least ${steps(behind)} ` +
            "before them, so that its decay can be seen.",
        );
      parts.push("Hover a segment above to inspect another loss.");
    }
    this.stats.textContent = parts.join(" ");
  }
}
