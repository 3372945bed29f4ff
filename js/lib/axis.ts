// A minimal vertical SVG axis (ticks, labels, light grid lines) drawn with concrete colours.
import type { ScaleLinear, ScaleLogarithmic } from "d3-scale";
import { svg } from "./dom";
import type { Theme } from "./theme";

interface AxisOptions {
  x: number;
  /** Grid lines run from x to gridTo; no grid when undefined. */
  gridTo?: number;
  side: "left" | "right";
  title: string;
  titleX: number;
  format: (value: number) => string;
  ticks?: number;
}

type Scale = ScaleLinear<number, number> | ScaleLogarithmic<number, number>;

export function drawAxis(
  parent: SVGElement,
  scale: Scale,
  theme: Theme,
  options: AxisOptions,
): void {
  const group = svg("g", { class: "rnnbow-axis" });
  const [y0, y1] = scale.range();
  group.appendChild(
    svg("line", { x1: options.x, x2: options.x, y1: y0, y2: y1, stroke: theme.border }),
  );
  const direction = options.side === "left" ? -1 : 1;
  const ticks = scale.ticks(options.ticks ?? 4);
  const shown =
    ticks.length > 7 ? ticks.filter((_, i) => i % Math.ceil(ticks.length / 6) === 0) : ticks;
  for (const value of shown) {
    const y = scale(value);
    if (options.gridTo !== undefined) {
      group.appendChild(
        svg("line", {
          x1: options.x,
          x2: options.gridTo,
          y1: y,
          y2: y,
          stroke: theme.border,
          "stroke-opacity": 0.35,
        }),
      );
    }
    group.appendChild(
      svg("line", {
        x1: options.x,
        x2: options.x + 4 * direction,
        y1: y,
        y2: y,
        stroke: theme.border,
      }),
    );
    group.appendChild(
      svg(
        "text",
        {
          x: options.x + 7 * direction,
          y: y + 4,
          "text-anchor": options.side === "left" ? "end" : "start",
          "font-family": theme.fontFamily,
          "font-size": 12,
          fill: theme.muted,
        },
        options.format(value),
      ),
    );
  }
  const middle = (y0 + y1) / 2;
  group.appendChild(
    svg(
      "text",
      {
        x: options.titleX,
        y: middle,
        transform: `rotate(-90 ${options.titleX} ${middle})`,
        "text-anchor": "middle",
        "font-family": theme.fontFamily,
        "font-size": 13,
        fill: theme.foreground,
      },
      options.title,
    ),
  );
  parent.appendChild(group);
}
