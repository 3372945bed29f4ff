// Shared horizontal layout of the chunk views (labels, stacked bars, gradient horizon): one
// column per time step, so a label sits exactly above its bar and its horizon bar; for long
// chunks, thinned step numbers and the gutters kept in sight while the views scroll sideways.
import { svg } from "../lib/dom";

export interface ColumnGeometry {
  n: number;
  /** Left gutter for the axis and row names, in px. */
  left: number;
  colWidth: number;
  /** Total width of each view's SVG, in px. */
  width: number;
  /**
   * The columns drawn, [first, last): all of them, or, while long chunks scroll sideways, those
   * in view and a margin on each side (visibleColumns).
   */
  first: number;
  last: number;
}

const GUTTER = 76;
const RIGHT = 16;
/** Narrowest column that still fits a 13px monospace glyph. */
export const MIN_COLUMN = 15;
const MAX_COLUMN = 64;

/**
 * Columns filling `available` px; when n columns would get narrower than MIN_COLUMN the views
 * grow wider than the output and scroll sideways together.
 */
export function columnGeometry(available: number, n: number): ColumnGeometry {
  const room = Math.max(0, available - GUTTER - RIGHT);
  const colWidth = Math.min(MAX_COLUMN, Math.max(MIN_COLUMN, n > 0 ? room / n : MIN_COLUMN));
  return { n, left: GUTTER, colWidth, width: GUTTER + colWidth * n + RIGHT, first: 0, last: n };
}

/**
 * The geometry drawing only the columns in a view `viewWidth` px wide scrolled to `scrollLeft`,
 * and `margin` columns on each side (all of them when the view is not measured).
 */
export function visibleColumns(
  geometry: ColumnGeometry,
  scrollLeft: number,
  viewWidth: number,
  margin: number,
): ColumnGeometry {
  if (viewWidth <= 0 || geometry.width <= viewWidth)
    return { ...geometry, first: 0, last: geometry.n };
  const first = Math.floor((scrollLeft - geometry.left) / geometry.colWidth) - margin;
  const last = Math.ceil((scrollLeft + viewWidth - geometry.left) / geometry.colWidth) + margin;
  return { ...geometry, first: Math.max(0, first), last: Math.min(geometry.n, last) };
}

/** True when the columns in view at `scrollLeft` are all drawn in `geometry`. */
export function coversView(
  geometry: ColumnGeometry,
  scrollLeft: number,
  viewWidth: number,
): boolean {
  const inView = visibleColumns(geometry, scrollLeft, viewWidth, 0);
  return inView.first >= geometry.first && inView.last <= geometry.last;
}

/** Left edge of column j. */
export function columnX(geometry: ColumnGeometry, j: number): number {
  return geometry.left + j * geometry.colWidth;
}

/** Centre of column j. */
export function columnCenter(geometry: ColumnGeometry, j: number): number {
  return geometry.left + (j + 0.5) * geometry.colWidth;
}

/** Width of a bar inside a column (a small gap on each side when there is room). */
export function barWidth(geometry: ColumnGeometry): number {
  const gap = geometry.colWidth >= 10 ? Math.min(6, geometry.colWidth * 0.18) : 0;
  return geometry.colWidth - gap;
}

/** Which column an x position (px, in SVG coordinates) falls in, or -1. */
export function columnAt(geometry: ColumnGeometry, x: number): number {
  const j = Math.floor((x - geometry.left) / geometry.colWidth);
  return j >= 0 && j < geometry.n ? j : -1;
}

/**
 * The horizontal scroll offset that brings column j into a view `viewWidth` px wide, with
 * some of the steps before it (where its gradient flows back to) on its left; `scrollLeft`
 * unchanged when column j is already in full view.
 */
export function scrollToColumn(
  geometry: ColumnGeometry,
  j: number,
  scrollLeft: number,
  viewWidth: number,
): number {
  const maxScroll = Math.max(0, geometry.width - viewWidth);
  const left = columnX(geometry, j);
  const right = left + geometry.colWidth;
  if (left >= scrollLeft + geometry.left && right <= scrollLeft + viewWidth) return scrollLeft;
  const wanted = right - viewWidth * 0.75; // the source three quarters across, its past before it
  return Math.min(maxScroll, Math.max(0, Math.round(wanted)));
}

/** Width of a step number drawn at 12 px (digits of about 7 px, and a little room). */
function stepLabelWidth(j: number): number {
  return String(j).length * 7 + 6;
}

/**
 * Every how many steps a number fits under the columns without overlapping its neighbours
 * (1, 2, 5, 10, 20, ...), for the widest number of the chunk.
 */
export function stepLabelEvery(geometry: ColumnGeometry): number {
  const needed = stepLabelWidth(Math.max(0, geometry.n - 1));
  for (const every of [1, 2, 5, 10, 20, 50, 100, 200, 500])
    if (every * geometry.colWidth >= needed) return every;
  return 1000;
}

/**
 * The step numbers to draw under the columns drawn: every `stepLabelEvery` steps, and `marked`
 * (the inspected source, drawn bold) with the regular numbers it would overlap left out.
 */
export function stepLabels(geometry: ColumnGeometry, marked: number | null): number[] {
  const every = stepLabelEvery(geometry);
  const shown: number[] = [];
  for (let j = geometry.first; j < geometry.last; j++) {
    if (j === marked) shown.push(j);
    else if (j % every !== 0) continue;
    else if (marked === null || marked < 0 || marked >= geometry.n) shown.push(j);
    else {
      const room = (stepLabelWidth(j) + stepLabelWidth(marked)) / 2;
      if (Math.abs(j - marked) * geometry.colWidth >= room) shown.push(j);
    }
  }
  return shown;
}

/** Marks what a view draws in its left gutter (axis, row names), for pinGutter. */
export const GUTTER_CLASS = "rnnbow-gutter";
/** Marks a view's title line drawn above its plot, kept in sight by pinGutter too. */
export const PINNED_TITLE_CLASS = "rnnbow-pinned-title";

/**
 * While the views are wider than `visible` px and scroll sideways, keep a view's left gutter
 * (its y axis, `.rnnbow-axis`, and elements of GUTTER_CLASS) and its title line (elements of
 * PINNED_TITLE_CLASS) in sight: `pinned`, an SVG laid over the view and sticky at the left edge
 * of the scrolled area, holds copies of them on the view's background. It lets the pointer
 * through to the view except over the gutter. Removed when the views fit.
 */
export function pinGutter(
  view: SVGSVGElement,
  pinned: SVGSVGElement,
  geometry: ColumnGeometry,
  visible: number,
): void {
  while (pinned.firstChild) pinned.removeChild(pinned.firstChild);
  if (geometry.width <= visible) {
    pinned.remove();
    return;
  }
  const height = view.getAttribute("height") ?? "0";
  const width = Math.max(geometry.left, Math.floor(visible));
  pinned.setAttribute("width", String(width));
  pinned.setAttribute("height", height);
  pinned.setAttribute("viewBox", `0 0 ${width} ${height}`);
  pinned.setAttribute("class", "rnnbow-pinned-gutter");
  pinned.setAttribute("aria-hidden", "true");
  pinned.style.cssText = `position: sticky; left: 0; z-index: 1; margin-top: -${height}px; pointer-events: none;`;
  const fill = view.firstElementChild?.getAttribute("fill") ?? "none";
  const cover = (w: number, h: number) =>
    pinned.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill }));
  cover(geometry.left, Number(height)).setAttribute("pointer-events", "all");
  // Copies without their classes, so that a query for the view's own parts finds those only.
  const copy = (element: Element) => {
    const clone = element.cloneNode(true) as Element;
    clone.removeAttribute("class");
    pinned.appendChild(clone);
  };
  for (const element of view.querySelectorAll(`:scope > .rnnbow-axis, .${GUTTER_CLASS}`))
    copy(element);
  for (const element of view.querySelectorAll(`.${PINNED_TITLE_CLASS}`)) {
    cover(width, Number(element.getAttribute("y") ?? 0) + 6);
    copy(element);
  }
  if (pinned.previousElementSibling !== view) view.after(pinned);
}
