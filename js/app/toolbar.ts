// The control bar: overview metric, horizon k, the bars' grey "others", whose gradient the bars
// show (a batch's recordings), log scale, global scale, reading guidance.

import { METRICS } from "../data/metrics";
import type { Metric } from "../data/model";
import { html, listen } from "../lib/dom";

interface ToolbarValues {
  metric: Metric;
  horizon: number;
  n: number;
  logScale: boolean;
  globalScale: boolean;
  showOthers: boolean;
  /** The bars show the shown sequence's own gradient; null: none recorded (control hidden). */
  perExample: boolean | null;
  showHelp: boolean;
  title: string;
  /** null when the view is not linked to other runs (the checkbox is hidden). */
  linkedScale?: boolean | null;
}

interface ToolbarActions {
  setMetric: (metric: Metric) => void;
  setHorizon: (k: number) => void;
  setLogScale: (on: boolean) => void;
  setGlobalScale: (on: boolean) => void;
  setShowOthers: (on: boolean) => void;
  setPerExample: (on: boolean) => void;
  setShowHelp: (on: boolean) => void;
  setLinkedScale?: (on: boolean) => void;
}

export class Toolbar {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly metric: HTMLSelectElement;
  private readonly horizonRange: HTMLInputElement;
  private readonly horizonNumber: HTMLInputElement;
  private readonly log: HTMLInputElement;
  private readonly global: HTMLInputElement;
  private readonly others: HTMLInputElement;
  private readonly gradientOf: HTMLSelectElement;
  private readonly gradientOfLabel: HTMLElement;
  private readonly help: HTMLButtonElement;
  private readonly linked: HTMLInputElement;
  private readonly linkedLabel: HTMLElement;
  private readonly removers: (() => void)[] = [];

  constructor(actions: ToolbarActions) {
    this.element = html("div", {
      class: "rnnbow-toolbar",
      role: "toolbar",
      "aria-label": "RNNbow controls",
    });
    this.title = html("span", { class: "rnnbow-title" });

    this.metric = html("select", { class: "rnnbow-metric", "aria-label": "overview bar height" });
    for (const [value, { option }] of Object.entries(METRICS))
      this.metric.appendChild(html("option", { value }, option));
    const metricLabel = html("label", { class: "rnnbow-control" }, "bars: ");
    metricLabel.appendChild(this.metric);

    this.horizonRange = html("input", {
      class: "rnnbow-horizon-range",
      type: "range",
      min: 1,
      step: 1,
      "aria-label": "sources per bar (k)",
    });
    this.horizonNumber = html("input", {
      class: "rnnbow-horizon-number",
      type: "number",
      min: 1,
      step: 1,
      "aria-label": "sources per bar (k), number",
    });
    const horizonLabel = html(
      "label",
      { class: "rnnbow-control", title: "how many later losses are stacked in each bar" },
      "losses per bar k: ",
    );
    horizonLabel.append(this.horizonRange, this.horizonNumber);

    this.others = html("input", { type: "checkbox", class: "rnnbow-others-toggle" });
    const othersLabel = html("label", {
      class: "rnnbow-control",
      title:
        "stack the losses beyond k as one grey segment on each bar: a bar is then the step's " +
        "whole gradient, and the tallest one the overview's max gradient",
    });
    othersLabel.append(this.others, document.createTextNode(" + others (grey)"));

    this.gradientOf = html("select", {
      class: "rnnbow-gradient-of",
      "aria-label": "whose gradient the bars show",
    });
    this.gradientOf.append(
      html("option", { value: "batch" }, "the whole batch"),
      html("option", { value: "example" }, "this sequence"),
    );
    this.gradientOfLabel = html(
      "label",
      {
        class: "rnnbow-control",
        title:
          "the bars and the horizon below: the gradient of the whole batch (what the optimizer " +
          "applies), or of the shown sequence's own losses only",
      },
      "gradient of: ",
    );
    this.gradientOfLabel.appendChild(this.gradientOf);
    this.gradientOfLabel.hidden = true;

    this.log = html("input", { type: "checkbox", class: "rnnbow-log" });
    const logLabel = html("label", {
      class: "rnnbow-control",
      title: "log scale in the gradient horizon",
    });
    logLabel.append(this.log, document.createTextNode(" log scale"));

    this.global = html("input", { type: "checkbox", class: "rnnbow-global" });
    const globalLabel = html("label", {
      class: "rnnbow-control",
      title: "one bar scale for all chunks instead of per chunk",
    });
    globalLabel.append(this.global, document.createTextNode(" same scale for all chunks"));

    this.linked = html("input", { type: "checkbox", class: "rnnbow-linked-scale" });
    this.linkedLabel = html("label", {
      class: "rnnbow-control",
      title: "one magnitude scale for all compared runs (largest value over the runs)",
    });
    this.linkedLabel.append(this.linked, document.createTextNode(" same scale as the other runs"));
    this.linkedLabel.hidden = true;

    this.help = html(
      "button",
      {
        type: "button",
        class: "rnnbow-help-toggle",
        "aria-pressed": "false",
        title: "how to read these charts",
      },
      "?",
    );

    this.element.append(
      this.title,
      metricLabel,
      horizonLabel,
      othersLabel,
      this.gradientOfLabel,
      logLabel,
      globalLabel,
      this.linkedLabel,
      this.help,
    );

    const horizonFrom = (input: HTMLInputElement) => () => {
      const k = Math.round(Number(input.value));
      if (Number.isFinite(k) && k >= 1) actions.setHorizon(Math.min(k, Number(input.max) || k));
    };
    this.removers.push(
      listen(this.metric, "change", () => actions.setMetric(this.metric.value as Metric)),
      listen(this.horizonRange, "input", horizonFrom(this.horizonRange)),
      listen(this.horizonNumber, "change", horizonFrom(this.horizonNumber)),
      listen(this.log, "change", () => actions.setLogScale(this.log.checked)),
      listen(this.global, "change", () => actions.setGlobalScale(this.global.checked)),
      listen(this.others, "change", () => actions.setShowOthers(this.others.checked)),
      listen(this.gradientOf, "change", () =>
        actions.setPerExample(this.gradientOf.value === "example"),
      ),
      listen(this.linked, "change", () => actions.setLinkedScale?.(this.linked.checked)),
      listen(this.help, "click", () =>
        actions.setShowHelp(this.help.getAttribute("aria-pressed") !== "true"),
      ),
    );
  }

  update(values: ToolbarValues): void {
    this.title.textContent = values.title;
    this.metric.value = values.metric;
    const max = String(Math.max(1, values.n));
    this.horizonRange.max = max;
    this.horizonNumber.max = max;
    this.horizonRange.value = String(values.horizon);
    this.horizonNumber.value = String(values.horizon);
    this.log.checked = values.logScale;
    this.global.checked = values.globalScale;
    this.others.checked = values.showOthers;
    this.gradientOfLabel.hidden = values.perExample === null;
    this.gradientOf.value = values.perExample ? "example" : "batch";
    this.help.setAttribute("aria-pressed", values.showHelp ? "true" : "false");
    this.linkedLabel.hidden = values.linkedScale === null || values.linkedScale === undefined;
    this.linked.checked = Boolean(values.linkedScale);
  }

  destroy(): void {
    for (const remove of this.removers) remove();
  }
}
