// Colours resolved from the widget's CSS custom properties (which follow JupyterLab's theme
// variables, with fallbacks for a plain page). SVG and canvas get concrete colours, so an
// exported image looks the same as the screen.
import { interpolateLab } from "d3-interpolate";

export interface Theme {
  background: string;
  foreground: string;
  muted: string;
  border: string;
  bar: string;
  selected: string;
  highlight: string;
  highlightSoft: string;
  correct: string;
  wrong: string;
  lossLine: string;
  clipped: string;
  jump: string;
  labelShade: string;
  rampDark: string;
  rampLight: string;
  /** The stacked bars' "others" segment (the sources beyond k): a neutral grey. */
  others: string;
  fontFamily: string;
  monoFamily: string;
}

const DEFAULT_THEME: Theme = {
  background: "#ffffff",
  foreground: "#1b1b1b",
  muted: "#555555",
  border: "#b8b8b8",
  bar: "#6b7c8f",
  selected: "#e7298a",
  highlight: "#1f6fd1",
  highlightSoft: "#9cc2ee",
  correct: "#16803a",
  wrong: "#c62828",
  lossLine: "#e08600",
  clipped: "#d95f02",
  jump: "#8e0152",
  labelShade: "rgba(120, 120, 120, 0.28)",
  rampDark: "#7f2704",
  rampLight: "#fdd8b0",
  others: "#a3a3a3",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  monoFamily: "'DejaVu Sans Mono', Menlo, Consolas, monospace",
};

const PROPERTIES: Record<keyof Theme, string> = {
  background: "--rnnbow-bg",
  foreground: "--rnnbow-fg",
  muted: "--rnnbow-muted",
  border: "--rnnbow-border",
  bar: "--rnnbow-bar",
  selected: "--rnnbow-selected",
  highlight: "--rnnbow-highlight",
  highlightSoft: "--rnnbow-highlight-soft",
  correct: "--rnnbow-correct",
  wrong: "--rnnbow-wrong",
  lossLine: "--rnnbow-loss-line",
  clipped: "--rnnbow-clipped",
  jump: "--rnnbow-jump",
  labelShade: "--rnnbow-label-shade",
  rampDark: "--rnnbow-ramp-dark",
  rampLight: "--rnnbow-ramp-light",
  others: "--rnnbow-others",
  fontFamily: "--rnnbow-font",
  monoFamily: "--rnnbow-mono",
};

/** Read the theme from an element inside the widget root. */
export function readTheme(element: Element): Theme {
  const theme = { ...DEFAULT_THEME };
  if (typeof getComputedStyle !== "function") return theme;
  const style = getComputedStyle(element);
  for (const key of Object.keys(PROPERTIES) as (keyof Theme)[]) {
    const value = style.getPropertyValue(PROPERTIES[key]).trim();
    if (value && !value.startsWith("var(")) theme[key] = value;
  }
  return theme;
}

/**
 * Colour of the segment for source offset d = t - j (0 = the step's own loss, darkest) among k
 * stacked sources: a sequential ramp from dark to light.
 */
export function sourceColour(theme: Theme, offset: number, k: number): string {
  const position = k <= 1 ? 0 : offset / (k - 1);
  return interpolateLab(theme.rampDark, theme.rampLight)(position * 0.92);
}
