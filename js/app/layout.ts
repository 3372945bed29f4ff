// The frame around each view: a heading, SVG and PNG download buttons, and the reading guidance
// shown when "?" is on.
import { html, listen } from "../lib/dom";
import { downloadPng, downloadSvg } from "../lib/export-image";
import { HELP, type HelpTopic } from "./help";

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
