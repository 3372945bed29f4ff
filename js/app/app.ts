// The widget's layout and wiring: toolbar, info line, the four views, keyboard, live updates.
import {
  BATCH_COLUMN,
  clampHorizon,
  EXAMPLE_COLUMN,
  type MagnitudeColumn,
  StackMaxCache,
  seqLength,
  stackDepth,
  stackedMax,
} from "../data/chunk";
import { divergedOf, divergedText, JUMP_FACTOR, JumpCache } from "../data/explode";
import { type Meta, type Model, previousValue, type WidgetModel } from "../data/model";
import { type ModelRecords, requestMissing } from "../data/sync";
import { html, listen } from "../lib/dom";
import { frameScheduler } from "../lib/schedule";
import { readTheme, type Theme } from "../lib/theme";
import { measureSince } from "../lib/timing";
import { OverviewView } from "../views/overview";
import { ChunkDetail, type DetailSettings } from "./chunk-detail";
import { hasExample, type PerExample } from "./example-gradient";
import type { HelpTopic } from "./help";
import { infoText, type ShownBecause } from "./info";
import { applyLayout, viewFrame, viewLayout } from "./layout";
import { LinkedRun } from "./linked-run";
import { Toolbar } from "./toolbar";

export const EMPTY_MESSAGE =
  "No recorded chunks yet: run trainer.train(...) or trainer.step() in the next cell";

/** Traits whose change redraws everything (selection, count and link group have their own). */
const REDRAW_ON = [
  "horizon",
  "metric",
  "log_scale",
  "global_scale",
  "show_others",
  "per_example",
  "show_help",
  "_meta",
  "linked_scale",
  "_link_name",
  "height",
] as const satisfies readonly (keyof Model)[];

export class RnnbowApp {
  private readonly root: HTMLElement;
  private readonly toolbar: Toolbar;
  private readonly empty: HTMLElement;
  private readonly main: HTMLElement;
  private readonly info: HTMLElement;
  private readonly overviewSection: HTMLElement;
  private readonly overview: OverviewView;
  private readonly detail: ChunkDetail;
  private readonly helpBlocks: HTMLElement[] = [];
  private readonly removers: (() => void)[] = [];
  private readonly redraw = frameScheduler(() => this.renderAll());
  private readonly stackMax = new StackMaxCache();
  /** This run in its compare group (RNNbow.compare). */
  private readonly linked: LinkedRun;
  private readonly jumps = new JumpCache();
  private readonly runName: HTMLElement;
  private theme: Theme;
  private hoveredRecord: number | null = null;
  private hoveredSource: number | null = null;
  private width = 0;
  /** Each view's width, px: the root's, or half of it in two columns (layout.ts). */
  private viewWidth = 0;

  constructor(
    private readonly model: WidgetModel,
    private readonly records: ModelRecords,
    host: HTMLElement,
  ) {
    const store = records.store;
    this.root = html("div", { class: "rnnbow-root", tabindex: 0, "data-selected": "-1" });
    this.theme = readTheme(host);
    this.toolbar = new Toolbar({
      setMetric: (metric) => this.save("metric", metric),
      setHorizon: (k) => this.save("horizon", k),
      setLogScale: (on) => this.save("log_scale", on),
      setGlobalScale: (on) => this.save("global_scale", on),
      setShowOthers: (on) => this.save("show_others", on),
      setPerExample: (on) => this.save("per_example", on),
      setShowHelp: (on) => this.save("show_help", on),
      setLinkedScale: (on) => {
        this.save("linked_scale", on);
        this.linked.broadcast((member) => member.linkSetLinkedScale(on));
      },
    });
    this.runName = html("div", { class: "rnnbow-run-name", role: "heading", "aria-level": 3 });
    this.runName.hidden = true;
    this.empty = html("div", { class: "rnnbow-empty" }, EMPTY_MESSAGE);
    this.main = html("div", { class: "rnnbow-main" });
    this.info = html("div", { class: "rnnbow-info", "aria-live": "polite" });

    this.overview = new OverviewView(store, () => this.theme, {
      onHover: (index) => this.previewRecord(index),
      onSelect: (index) => this.select(index),
      sharedScale: (column, lo, hi) =>
        this.linked.scaleOn() ? this.linked.overviewScaleOverRuns(column, lo, hi) : null,
    });
    this.overviewSection = this.section("overview", "Overview: every recorded chunk", () => [
      this.overview.overlay,
      this.overview.canvas,
    ]);
    this.overviewSection.append(this.info, this.overview.element);

    this.detail = new ChunkDetail(
      model,
      {
        theme: () => this.theme,
        settings: () => this.detailSettings(),
        barScale: (index) => this.barScale(index),
        sourceScale: (index, t) =>
          this.linked.scaleOn() ? this.linked.sourceMaxOverRuns(index, t) : 0,
        hoverSource: (t) => this.hoverSource(t),
        section: (view, title, image) => this.section(view, title, image),
      },
      records.details,
    );
    // The units drilldown's toggle sits in the toolbar before "?".
    this.toolbar.element.insertBefore(
      this.detail.unitsToggle,
      this.toolbar.element.querySelector(".rnnbow-help-toggle"),
    );
    this.main.append(this.overviewSection, this.detail.missing, this.detail.element);
    this.root.append(this.runName, this.toolbar.element, this.empty, this.main);
    host.appendChild(this.root);

    const onTrait = () => this.redraw.request();
    for (const name of REDRAW_ON) {
      model.on(`change:${name}`, onTrait);
      this.removers.push(() => model.off(`change:${name}`, onTrait));
    }
    const onSelected = () => this.renderSelection();
    model.on("change:selected_batch", onSelected);
    this.removers.push(() => model.off("change:selected_batch", onSelected));
    const onCount = (_: unknown, count: number) => this.countChanged(count);
    model.on("change:_record_count", onCount);
    this.removers.push(() => model.off("change:_record_count", onCount));
    this.removers.push(store.onChange(() => this.redraw.request()));
    // Linked runs: join the page-level group named by _link_group (and follow changes of it).
    this.linked = new LinkedRun(model, store, this.stackMax, this.root, {
      previewRecord: (index) => this.previewRecord(index, true),
      // Another run's source may lie beyond this run's chunk.
      hoverSource: (t) => {
        const chunk = this.detail.chunk;
        this.hoverSource(t !== null && chunk && t >= chunk.n ? null : t, true);
      },
      redraw: () => this.redraw.request(),
      horizonK: () => stackDepth(this.horizonK(), this.seqLength(), this.model.get("show_others")),
      barColumn: () => this.barColumn(),
    });
    this.linked.join();
    const onGroup = () => this.linked.join();
    model.on("change:_link_group", onGroup);
    this.removers.push(() => model.off("change:_link_group", onGroup));
    this.removers.push(
      store.onChange(() => this.linked.broadcast((member) => member.linkScaleChanged())),
    );
    this.removers.push(() => this.linked.leave());
    this.removers.push(listen(this.root, "keydown", (event) => this.handleKey(event)));

    if (typeof ResizeObserver === "function") {
      const observer = new ResizeObserver(() => {
        if (Math.abs(this.measureWidth() - this.width) >= 1) this.redraw.request();
      });
      observer.observe(this.root);
      this.removers.push(() => observer.disconnect());
    }
    if (typeof MutationObserver === "function" && document.body) {
      // JupyterLab switches light/dark by attributes on <body>: redraw with the new colours.
      const observer = new MutationObserver(() => this.redraw.request());
      observer.observe(document.body, {
        attributes: true,
        attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"],
      });
      this.removers.push(() => observer.disconnect());
    }
    this.removers.push(() => this.redraw.cancel());

    requestMissing(model, records, this.recordCount());
    this.renderAll();
  }

  destroy(): void {
    for (const remove of this.removers.splice(0)) remove();
    this.toolbar.destroy();
    this.overview.destroy();
    this.detail.destroy();
    this.root.remove();
  }

  // ----- state -------------------------------------------------------------------------------

  private get store() {
    return this.records.store;
  }

  private meta(): Meta {
    return this.model.get("_meta");
  }

  private recordCount(): number {
    return this.model.get("_record_count");
  }

  private selected(): number {
    return this.model.get("selected_batch");
  }

  /** Characters per chunk: the store's, or the recording's before any record arrived. */
  private seqLength(): number {
    return seqLength(this.store) || this.meta().seq_length;
  }

  /** The horizon k, at most the chunk length (at most K when the records carry a band). */
  private horizonK(): number {
    return clampHorizon(this.store, this.seqLength(), this.model.get("horizon"));
  }

  /** Whether the records have the shown sequence's own magnitudes, and the views ask for them. */
  private perExample(): PerExample {
    const has = hasExample(this.meta(), this.store);
    return { has, wanted: has && this.model.get("per_example") };
  }

  /**
   * The column whose magnitudes every record's bars stack, for scales over records and runs:
   * the sequence's own when shown and the records carry them (short chunks), else the batch's;
   * null when they are shown but only the shown record's are here (long chunks).
   */
  private barColumn(): MagnitudeColumn | null {
    if (!this.perExample().wanted) return BATCH_COLUMN;
    return this.store.width(EXAMPLE_COLUMN) > 0 ? EXAMPLE_COLUMN : null;
  }

  /**
   * The record views 2-4 show, and why: the hovered one, else the selected one, else the
   * latest.
   */
  private shown(): { index: number; because: ShownBecause } {
    if (this.hoveredRecord !== null && this.store.has(this.hoveredRecord))
      return { index: this.hoveredRecord, because: "hovered" };
    const selected = this.selected();
    if (selected >= 0 && selected < Math.max(this.store.length, this.recordCount()))
      return { index: selected, because: "selected" };
    let last = this.store.length - 1;
    while (last >= 0 && !this.store.has(last)) last--;
    return { index: last, because: "latest" };
  }

  private save<K extends keyof Model>(name: K, value: Model[K]): void {
    this.model.set(name, value);
    this.model.save_changes();
  }

  private select(index: number): void {
    this.save("selected_batch", index);
    this.linked.broadcast((member) => member.linkSelect(index));
  }

  // ----- events ------------------------------------------------------------------------------

  private countChanged(count: number): void {
    // Records up to the previous count should already be here; a gap below it will not be
    // filled by the kernel's pushes of new records, so ask for it.
    const previous = previousValue(this.model, "_record_count");
    const expected = typeof previous === "number" ? Math.min(previous, count) : count;
    requestMissing(this.model, this.records, expected);
    this.redraw.request();
  }

  private previewRecord(index: number | null, fromLink = false): void {
    if (index === this.hoveredRecord) return;
    if (!fromLink) this.linked.broadcast((member) => member.linkHoverRecord(index));
    const started = performance.now();
    this.hoveredRecord = index;
    this.hoveredSource = null;
    this.renderDetail();
    this.overview.update(this.overviewState());
    measureSince("rnnbow:hover-record", started);
  }

  private hoverSource(t: number | null, fromLink = false): void {
    if (t === this.hoveredSource) return;
    if (!fromLink) this.linked.broadcast((member) => member.linkHoverSource(t));
    const started = performance.now();
    this.hoveredSource = t;
    this.detail.showSource();
    measureSince("rnnbow:hover-source", started);
  }

  private handleKey(event: KeyboardEvent): void {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (
      (event.target as HTMLElement | null)?.tagName === "INPUT" ||
      (event.target as HTMLElement | null)?.tagName === "SELECT"
    )
      return;
    const length = this.store.length;
    if (length === 0) return;
    event.preventDefault();
    const current = this.selected() >= 0 ? this.selected() : this.shown().index;
    const next = Math.max(0, Math.min(length - 1, current + (event.key === "ArrowLeft" ? -1 : 1)));
    this.hoveredRecord = null;
    if (next !== this.selected()) this.select(next);
  }

  // ----- drawing -----------------------------------------------------------------------------

  /** The root's width inside its padding, px (the views drawn wider would scroll sideways). */
  private measureWidth(): number {
    const style = getComputedStyle(this.root);
    const padding = Number.parseFloat(style.paddingLeft) + Number.parseFloat(style.paddingRight);
    const width =
      (this.root.clientWidth || this.root.getBoundingClientRect().width) - (padding || 0);
    return width > 0 ? width : 860;
  }

  private overviewState() {
    return {
      metric: this.model.get("metric"),
      selected: this.selected(),
      hovered: this.hoveredRecord,
    };
  }

  /** Everything: toolbar, help, overview (re-binned), the chunk views. */
  private renderAll(): void {
    const started = performance.now();
    this.redraw.cancel();
    this.theme = readTheme(this.root);
    this.width = this.measureWidth();
    const height = this.model.get("height");
    const layout = viewLayout(this.width, height, this.seqLength());
    applyLayout(this.root, height, layout);
    this.viewWidth = layout.viewWidth;
    const store = this.store;
    const meta = this.meta();
    const showHelp = this.model.get("show_help");
    this.toolbar.update({
      metric: this.model.get("metric"),
      horizon: this.horizonK(),
      n: clampHorizon(this.store, this.seqLength(), this.seqLength()), // the slider's largest k
      logScale: this.model.get("log_scale"),
      globalScale: this.model.get("global_scale"),
      showOthers: this.model.get("show_others"),
      perExample: this.perExample().has ? this.model.get("per_example") : null,
      showHelp,
      title: meta.title ? `RNNbow · ${meta.title}` : "RNNbow",
      linkedScale: this.linked.hasOthers() ? this.model.get("linked_scale") : null,
    });
    const runName = this.model.get("_link_name");
    this.runName.textContent = runName;
    this.runName.hidden = runName === "";
    for (const block of this.helpBlocks) block.hidden = !showHelp;
    this.overviewSection.setAttribute("data-records", String(store.have));
    const hasRecords = store.length > 0;
    this.empty.hidden = hasRecords;
    this.main.hidden = !hasRecords;
    if (!hasRecords) {
      this.root.setAttribute("data-selected", String(this.selected()));
      return;
    }
    this.overview.setMarkers(this.jumps.flags(store), divergedOf(meta));
    this.overview.draw(this.viewWidth - 2, this.overviewState());
    this.detail.forgetChunk();
    this.renderDetail();
    measureSince("rnnbow:render-all", started);
  }

  private renderSelection(): void {
    this.root.setAttribute("data-selected", String(this.selected()));
    this.hoveredRecord = null;
    this.hoveredSource = null;
    this.overview.update(this.overviewState());
    this.renderDetail();
  }

  /** Info line and views 2-4 for the shown record. */
  private renderDetail(): void {
    const store = this.store;
    this.root.setAttribute("data-selected", String(this.selected()));
    const { index, because } = this.shown();
    const diverged = divergedOf(this.meta());
    const extras = {
      jumpRatio: this.jumps.ratio(store, index),
      jumpFactor: JUMP_FACTOR,
      linkNote: this.linked.textNote(index),
      diverged: diverged ? divergedText(diverged) : "",
      stacked: this.model.get("show_others") ? null : this.stackedMax(index),
      meta: this.meta(),
      exampleShown: this.perExample().wanted,
    };
    this.info.textContent =
      index >= 0
        ? infoText(store, index, because, Math.max(store.length, this.recordCount()), extras)
        : extras.diverged;
    this.info.setAttribute("data-shown", String(index));
    this.detail.show(store, index, this.meta().vocab);
  }

  /** The tallest bar of record `index` stacking the k nearest sources, as the bars show it. */
  private stackedMax(index: number): { k: number; max: number } | null {
    const column = this.barColumn();
    return column ? stackedMax(this.store, index, this.horizonK(), column) : null;
  }

  private detailSettings(): DetailSettings {
    return {
      width: this.viewWidth - 2,
      k: this.horizonK(),
      logScale: this.model.get("log_scale"),
      // Over all chunks only where the browser holds every chunk's magnitudes shown.
      globalScale: this.model.get("global_scale") && this.barColumn() !== null,
      showOthers: this.model.get("show_others"),
      perExample: this.perExample(),
      linked: this.linked.scaleOn(),
      hoveredSource: this.hoveredSource,
    };
  }

  /**
   * Top of the bars' scale: the largest over all chunks and/or all linked runs, or 0 (the
   * chunk's own tallest bar; also when the bars show a sequence's own magnitudes that only the
   * shown record has here).
   */
  private barScale(index: number): number {
    const column = this.barColumn();
    if (column === null) return 0;
    const k = stackDepth(this.horizonK(), this.seqLength(), this.model.get("show_others"));
    const globalScale = this.model.get("global_scale");
    if (this.linked.scaleOn()) return this.linked.barMaxOverRuns(globalScale ? null : index, k);
    return globalScale ? this.stackMax.get(this.store, k, column) : 0;
  }

  /** A view's frame (layout.ts); its help block follows "?" and its listeners the app. */
  private section(
    view: HelpTopic,
    title: string,
    image: () => [SVGSVGElement, HTMLCanvasElement?],
  ): HTMLElement {
    const fileName = () => {
      const chunk = this.detail.chunk;
      return `rnnbow-${view}${chunk ? `-chunk${chunk.index}` : ""}`;
    };
    const frame = viewFrame(view, title, image, fileName);
    this.helpBlocks.push(frame.help);
    this.removers.push(frame.remove);
    return frame.section;
  }
}
