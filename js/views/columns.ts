// Shared horizontal layout of the chunk views (labels, stacked bars, gradient horizon): one
// column per time step, so a label sits exactly above its bar and its horizon bar.

export interface ColumnGeometry {
  n: number;
  /** Left gutter for the axis and row names, in px. */
  left: number;
  colWidth: number;
  /** Total width of each view's SVG, in px. */
  width: number;
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
  return { n, left: GUTTER, colWidth, width: GUTTER + colWidth * n + RIGHT };
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
