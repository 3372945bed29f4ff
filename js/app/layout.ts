// The frame around each view (a heading, SVG and PNG download buttons, and the reading guidance
// shown when "?" is on), and how the views are laid out in a bounded height (the `height` trait).
import { html, listen } from "../lib/dom";
import { downloadPng, downloadSvg } from "../lib/export-image";
import { columnGeometry } from "../views/columns";
import { HELP, type HelpTopic } from "./help";

/** Space between the two columns of the compact layout, px (style.css, .rnnbow-two-columns). */
export const COLUMN_GAP = 12;

export interface ViewLayout {
  /**
   * Two columns: the overview above the gradient horizon on the left, the labels above the
   * stacked bars on the right.
   */
  twoColumns: boolean;
  /** The width each view has, px. */
  viewWidth: number;
}

/**
 * The views' layout in a root `width` px wide (inside its padding) for chunks of `n` steps.
 * Unbounded (`height` 0) the views are stacked, each as wide as the root. Bounded, they go
 * in two columns when a chunk's columns fit in half the width (so no view scrolls sideways);
 * otherwise they stay stacked and the root scrolls.
 */
export function viewLayout(width: number, height: number, n: number): ViewLayout {
  const half = Math.floor((width - COLUMN_GAP) / 2);
  // The app draws each view 2 px narrower than its room.
  const twoColumns = height > 0 && columnGeometry(half - 2, n).width <= half - 2;
  return { twoColumns, viewWidth: twoColumns ? half : width };
}

/** Bound `root` to `height` px (0: the views' natural height) and lay its views out. */
export function applyLayout(root: HTMLElement, height: number, layout: ViewLayout): void {
  const bounded = height > 0;
  root.style.maxHeight = bounded ? `${height}px` : "";
  root.classList.toggle("rnnbow-bounded", bounded);
  root.classList.toggle("rnnbow-two-columns", layout.twoColumns);
}

export interface ViewFrame {
  /** `section.rnnbow-view[data-rnnbow-view=<view>]`, the view's content goes after the help. */
  section: HTMLElement;
  /** The reading guidance (hidden until "?" is pressed). */
  help: HTMLElement;
  /** Removes the download buttons' listeners. */
  remove: () => void;
}

/**
 * A view's frame. `image` gives what a download saves (the view's SVG, and the canvas drawn
 * under it when there is one); `fileName` the download's name without extension.
 */
export function viewFrame(
  view: HelpTopic,
  title: string,
  image: () => [SVGSVGElement, HTMLCanvasElement?],
  fileName: () => string,
): ViewFrame {
  const section = html("section", {
    class: `rnnbow-view rnnbow-view-${view}`,
    "data-rnnbow-view": view,
  });
  const header = html("div", { class: "rnnbow-view-header" });
  header.appendChild(html("span", { class: "rnnbow-view-title" }, title));
  const removers: (() => void)[] = [];
  for (const kind of ["SVG", "PNG"] as const) {
    const button = html(
      "button",
      { type: "button", class: "rnnbow-download", title: `download this view as ${kind}` },
      kind,
    );
    removers.push(
      listen(button, "click", () => {
        const [svgElement, canvas] = image();
        if (kind === "SVG") downloadSvg(svgElement, fileName(), canvas);
        else void downloadPng(svgElement, fileName(), canvas);
      }),
    );
    header.appendChild(button);
  }
  section.appendChild(header);
  const help = html("p", { class: "rnnbow-help" }, HELP[view]);
  help.hidden = true;
  section.appendChild(help);
  const remove = () => {
    for (const stop of removers.splice(0)) stop();
  };
  return { section, help, remove };
}
