// The per-unit drilldown's controller: the "units" toolbar toggle, the request for the shown
// record's units (data/units-data.ts), and the heatmap view (views/units.ts).
import type { WidgetModel } from "../data/model";
import { attachUnits, type UnitsCache, type UnitsEntry, unitsStatus } from "../data/units-data";
import { html, listen } from "../lib/dom";
import { formatOrdinal } from "../lib/format";
import type { Theme } from "../lib/theme";
import type { ColumnGeometry } from "../views/columns";
import { type UnitsOptions, UnitsView } from "../views/units";

/** The status line for a record without a heatmap. */
function statusText(
  state: "waiting" | "absent" | "static",
  entry: UnitsEntry | null,
  index: number,
  exported: number[],
): string {
  if (state === "waiting")
    return (
      `Per-unit data of chunk ${index}: waiting for the kernel ` +
      "(it answers when it is not busy training)…"
    );
  if (state === "static") {
    const held = exported.length ? `it holds chunk ${exported.join(", ")} only` : "it holds none";
    return (
      `Per-unit data of chunk ${index} is not in this exported page ` +
      `(${held}; select that chunk to see it).`
    );
  }
  if (!entry) return "";
  if (entry.reason === "thinned") {
    const near = entry.nearest.length
      ? ` Nearest chunks with it: ${entry.nearest.join(" and ")}.`
      : "";
    return (
      `The per-unit data of chunk ${index} was not kept: to stay within its memory budget the ` +
      `recording keeps every ${formatOrdinal(entry.stride)} chunk's (plus the newest).${near}`
    );
  }
  if (entry.reason === "bad_request")
    return `Per-unit data of chunk ${index} could not be read: ${entry.error ?? "bad request"}.`;
  return (
    "This recording holds no per-unit data (trained with units_budget_mb=0, saved without " +
    "it, or recorded by your own code or the PyTorch Recorder)."
  );
}

/**
 * The drilldown's controller: the "units" toolbar toggle, the request for the shown record's
 * units, and the view. Redraws itself when the kernel's answer arrives.
 */
export class UnitsPanel {
  readonly view: UnitsView;
  /** The toolbar control (a checkbox label), placed by the app. */
  readonly toggle: HTMLLabelElement;
  private readonly checkbox: HTMLInputElement;
  private readonly cache: UnitsCache;
  private readonly removers: (() => void)[] = [];
  private section: HTMLElement | null = null;
  private last: {
    index: number;
    geometry: ColumnGeometry;
    t: number;
    options: UnitsOptions;
  } | null = null;

  constructor(
    private readonly model: WidgetModel,
    theme: () => Theme,
  ) {
    this.view = new UnitsView(theme);
    this.cache = attachUnits(model);
    // A new display asks again for whatever an earlier one was still waiting for.
    this.cache.inFlight = null;
    this.cache.wanted = null;
    this.checkbox = html("input", { type: "checkbox", class: "rnnbow-units-toggle" });
    this.checkbox.checked = true;
    this.toggle = html("label", {
      class: "rnnbow-control",
      title: "per-unit drilldown: which hidden units carry the gradient of the loss shown",
    });
    this.toggle.append(this.checkbox, document.createTextNode(" units"));
    const onAnswer = () => this.redraw();
    this.cache.listeners.add(onAnswer);
    this.removers.push(
      () => this.cache.listeners.delete(onAnswer),
      listen(this.checkbox, "change", () => this.redraw()),
    );
  }

  /** The section the view lives in (hidden with the toggle). */
  attach(section: HTMLElement): void {
    this.section = section;
    section.appendChild(this.view.element);
  }

  update(index: number, geometry: ColumnGeometry, t: number, options: UnitsOptions): void {
    this.last = { index, geometry, t, options };
    this.redraw();
  }

  private redraw(): void {
    const last = this.last;
    if (this.section) this.section.hidden = !this.checkbox.checked || last === null;
    if (!last || !this.checkbox.checked) return;
    const status = unitsStatus(this.model, this.cache, last.index);
    if (status.state === "ready") {
      this.view.render(status.entry, last.geometry, last.t, last.options);
      return;
    }
    const exported = this.cache.isStatic
      ? [...this.cache.entries.values()].filter((e) => e.available).map((e) => e.index)
      : [];
    const entry = status.state === "absent" ? status.entry : null;
    this.view.showStatus(status.state, statusText(status.state, entry, last.index, exported));
  }

  destroy(): void {
    for (const remove of this.removers.splice(0)) remove();
    this.view.destroy();
  }
}
