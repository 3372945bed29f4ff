// View 2: true next tokens above, the network's predictions below, one column per step.
// Correct predictions green, wrong ones red and underlined (a cue that does not rely on colour).
import type { Chunk } from "../data/chunk";
import { resetSvg, svg } from "../lib/dom";
import { isStandIn, visibleGlyph } from "../lib/glyphs";
import type { Theme } from "../lib/theme";
import { type ColumnGeometry, columnAt, columnCenter, columnX, GUTTER_CLASS } from "./columns";

const ROW_TRUE = 22;
const ROW_PREDICTED = 50;
const LABELS_HEIGHT = 62;
const FONT_SIZE = 16;
/** Advance of one monospace glyph, in ems. */
const CHAR_WIDTH = 0.6;

export class LabelsView {
  readonly svg: SVGSVGElement;
  private shade: SVGRectElement | null = null;
  private geometry: ColumnGeometry | null = null;

  constructor(private readonly onHoverSource: (t: number | null) => void) {
    this.svg = svg("svg", {
      class: "rnnbow-labels-svg",
      role: "img",
      "aria-label": "true and predicted tokens",
    });
    this.svg.addEventListener("mousemove", this.handleMove);
    this.svg.addEventListener("mouseleave", this.handleLeave);
  }

  render(chunk: Chunk, geometry: ColumnGeometry, theme: Theme, shadeSource: number | null): void {
    this.geometry = geometry;
    const root = this.svg;
    resetSvg(root, geometry.width, LABELS_HEIGHT, theme.background);
    this.shade = svg("rect", {
      class: "rnnbow-label-shade",
      y: 2,
      height: LABELS_HEIGHT - 4,
      width: geometry.colWidth,
      rx: 3,
      fill: theme.labelShade,
      visibility: "hidden",
    });
    root.appendChild(this.shade);
    const rowName = (text: string, y: number) =>
      root.appendChild(
        svg(
          "text",
          {
            x: geometry.left - 10,
            y,
            "text-anchor": "end",
            "font-family": theme.fontFamily,
            "font-size": 13,
            fill: theme.muted,
            class: GUTTER_CLASS,
          },
          text,
        ),
      );
    rowName("true", ROW_TRUE);
    rowName("predicted", ROW_PREDICTED);

    // The glyphs' shared font and anchor set once, on their group (fewer attributes to write
    // per column: long chunks draw many).
    const glyphs = svg("g", {
      class: "rnnbow-label-glyphs",
      "text-anchor": "middle",
      "font-family": theme.monoFamily,
      "font-size": FONT_SIZE,
    });
    root.appendChild(glyphs);
    for (let p = geometry.first; p < geometry.last; p++) {
      const x = columnCenter(geometry, p);
      glyphs.appendChild(
        this.glyph(chunk.targets[p], x, ROW_TRUE, theme.foreground, geometry, "rnnbow-label-true"),
      );
      const ok = chunk.correct[p];
      const text = this.glyph(
        chunk.predictions[p],
        x,
        ROW_PREDICTED,
        ok ? theme.correct : theme.wrong,
        geometry,
        "rnnbow-label-predicted",
      );
      text.setAttribute("data-correct", ok ? "true" : "false");
      if (!ok) text.setAttribute("font-weight", "bold");
      glyphs.appendChild(text);
      if (!ok) {
        const half = Math.min(geometry.colWidth * 0.38, 8);
        glyphs.appendChild(
          svg("line", {
            x1: x - half,
            x2: x + half,
            y1: ROW_PREDICTED + 5,
            y2: ROW_PREDICTED + 5,
            stroke: theme.wrong,
            "stroke-width": 2,
          }),
        );
      }
    }
    this.setShade(shadeSource);
  }

  /** Shade the label pair of source t (the loss being inspected), or none. */
  setShade(t: number | null): void {
    if (!this.shade || !this.geometry) return;
    if (t === null || t < 0 || t >= this.geometry.n) {
      this.shade.setAttribute("visibility", "hidden");
      this.shade.removeAttribute("data-source");
      return;
    }
    this.shade.setAttribute("x", String(columnX(this.geometry, t)));
    this.shade.setAttribute("visibility", "visible");
    this.shade.setAttribute("data-source", String(t));
  }

  destroy(): void {
    this.svg.removeEventListener("mousemove", this.handleMove);
    this.svg.removeEventListener("mouseleave", this.handleLeave);
  }

  private glyph(
    symbol: string,
    x: number,
    y: number,
    colour: string,
    geometry: ColumnGeometry,
    cls: string,
  ): SVGTextElement {
    const shown = visibleGlyph(symbol);
    const text = svg("text", {
      class: cls,
      x,
      y,
      fill: colour,
      opacity: isStandIn(symbol) ? 0.8 : undefined,
    });
    const glyphs = [...shown];
    const fits = Math.max(1, Math.floor((geometry.colWidth - 2) / (FONT_SIZE * CHAR_WIDTH)));
    if (glyphs.length <= fits) {
      text.textContent = shown;
    } else if ([...symbol].length === 1) {
      // The escape of one character (\x0d) is a little wider than a column: squeeze it in.
      text.textContent = shown;
      text.setAttribute("textLength", String(geometry.colWidth - 2));
      text.setAttribute("lengthAdjust", "spacingAndGlyphs");
    } else {
      // A token longer than its column: its start and an ellipsis; the whole token on hover.
      text.textContent = `${glyphs.slice(0, Math.max(fits - 1, 0)).join("")}…`;
      text.appendChild(svg("title", {}, shown));
    }
    return text;
  }

  private handleMove = (event: MouseEvent) => {
    if (!this.geometry) return;
    const box = this.svg.getBoundingClientRect();
    const j = columnAt(this.geometry, event.clientX - box.left);
    this.onHoverSource(j >= 0 ? j : null);
  };

  private handleLeave = () => this.onHoverSource(null);
}
