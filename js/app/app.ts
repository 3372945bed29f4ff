// The widget's layout and wiring: toolbar, info line, the four views, keyboard, live updates.
import {
  type Chunk,
  largestLossSource,
  magnitudeAt,
  readChunk,
  StackMaxCache,
  seqLength,
  stackedTotals,
  triangleOf,
} from "../data/chunk";
import { divergedOf, divergedText, JUMP_FACTOR, JumpCache } from "../data/explode";
import { type Meta, type Model, previousValue, type WidgetModel } from "../data/model";
import { type ModelRecords, requestMissing } from "../data/sync";
import { html, listen } from "../lib/dom";
import { frameScheduler } from "../lib/schedule";
import { readTheme, type Theme } from "../lib/theme";
import { measureSince } from "../lib/timing";
import { BarsView } from "../views/bars";
import { type ColumnGeometry, columnGeometry, scrollToColumn } from "../views/columns";
import { HorizonView } from "../views/horizon";
import { LabelsView } from "../views/labels";
import { OverviewView } from "../views/overview";
import type { HelpTopic } from "./help";
import { infoText, type ShownBecause } from "./info";
import { viewFrame } from "./layout";
import { joinGroup, type LinkHandle, type LinkMember, type Position, positionNote } from "./link";
import { Toolbar } from "./toolbar";
import { UnitsPanel } from "./units-panel";

export const EMPTY_MESSAGE =
  "No recorded chunks yet: run trainer.train(...) or trainer.step() in the next cell";

/** Traits whose change redraws everything (selection, count and link group have their own). */
const REDRAW_ON = [
  "horizon",
  "metric",
  "log_scale",
  "global_scale",
  "show_help",
  "_meta",
  "linked_scale",
  "_link_name",
] as const satisfies readonly (keyof Model)[];

export class RnnbowApp implements LinkMember {
  private readonly root: HTMLElement;
  private readonly toolbar: Toolbar;
  private readonly empty: HTMLElement;
  private readonly main: HTMLElement;
  private readonly info: HTMLElement;
  private readonly overviewSection: HTMLElement;
  private readonly overview: OverviewView;
  private readonly detail: HTMLElement;
  private readonly missing: HTMLElement;
  private readonly labels: LabelsView;
  private readonly bars: BarsView;
  private readonly horizonView: HorizonView;
  private readonly unitsPanel: UnitsPanel;
  private readonly helpBlocks: HTMLElement[] = [];
  private readonly removers: (() => void)[] = [];
  private readonly redraw = frameScheduler(() => this.renderAll());
  private readonly stackMax = new StackMaxCache();
  // Comparison (RNNbow.compare): the link group, a scale cache for other runs' k, jump ratios.
  private link: LinkHandle | null = null;
  private readonly linkStackMax = new StackMaxCache();
  private readonly jumps = new JumpCache();
  private readonly runName: HTMLElement;
  private theme: Theme;
  private hoveredRecord: number | null = null;
  private hoveredSource: number | null = null;
  private chunk: Chunk | null = null;
  /** The chunk whose default source the detail views last scrolled into view. */
  private scrolledFor = -1;
  private width = 0;

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
      setShowHelp: (on) => this.save("show_help", on),
      setLinkedScale: (on) => {
        this.save("linked_scale", on);
        this.link?.broadcast((member) => member.linkSetLinkedScale(on));
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
    });
    this.overviewSection = this.section("overview", "Overview: every recorded chunk", () => [
      this.overview.overlay,
      this.overview.canvas,
    ]);
    this.overviewSection.append(this.info, this.overview.element);

    this.labels = new LabelsView((t) => this.hoverSource(t));
    this.bars = new BarsView(
      (t) => this.hoverSource(t),
      () => this.theme,
    );
    this.horizonView = new HorizonView(() => this.theme);
    this.missing = html("div", { class: "rnnbow-missing" });
    const labelsSection = this.section(
      "labels",
      "What came next, and what the network guessed",
      () => [this.labels.svg],
    );
    labelsSection.appendChild(this.labels.svg);
    const barsSection = this.section(
      "bars",
      "Gradient at each step, split by the loss it comes from",
      () => [this.bars.svg],
    );
    barsSection.append(this.bars.svg, this.bars.legend);
    const horizonSection = this.section("horizon", "Gradient horizon of one loss", () => [
      this.horizonView.svg,
    ]);
    horizonSection.append(this.horizonView.svg, this.horizonView.stats);
    this.detail = html("div", { class: "rnnbow-detail" });
    this.detail.append(labelsSection, barsSection, horizonSection);
    // Per-unit drilldown below the horizon; its toggle sits in the toolbar before "?".
    this.unitsPanel = new UnitsPanel(model, () => this.theme);
    const unitsSection = this.section("units", "Which hidden units carry this gradient", () => [
      this.unitsPanel.view.svg,
      this.unitsPanel.view.canvas,
    ]);
    this.unitsPanel.attach(unitsSection);
    this.detail.appendChild(unitsSection);
    this.toolbar.element.insertBefore(
      this.unitsPanel.toggle,
      this.toolbar.element.querySelector(".rnnbow-help-toggle"),
    );
    this.main.append(this.overviewSection, this.missing, this.detail);
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
    this.joinLink();
    const onGroup = () => this.joinLink();
    model.on("change:_link_group", onGroup);
    this.removers.push(() => model.off("change:_link_group", onGroup));
    this.removers.push(
      store.onChange(() => this.link?.broadcast((member) => member.linkScaleChanged())),
    );
    this.removers.push(() => {
      this.link?.leave();
      this.link = null;
    });
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
    this.labels.destroy();
    this.bars.destroy();
    this.unitsPanel.destroy();
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

  /** The horizon k, at most the chunk length. */
  private horizonK(): number {
    return Math.max(1, Math.min(this.seqLength(), this.model.get("horizon")));
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
    this.link?.broadcast((member) => member.linkSelect(index));
  }

  // ----- linked runs (link.ts) ---------------------------------------------------------------

  private joinLink(): void {
    const group = this.model.get("_link_group");
    if (this.link?.group === group) return;
    this.link?.leave();
    this.link = joinGroup(group, this);
    this.root.setAttribute("data-link-group", group);
  }

  /** True when the bars and the horizon panel use the largest value over the linked runs. */
  private linkedScaleOn(): boolean {
    return this.link !== null && this.link.others().length > 0 && this.model.get("linked_scale");
  }

  name(): string {
    return this.model.get("_link_name") || this.meta().title || "another run";
  }

  linkHoverRecord(index: number | null): void {
    this.previewRecord(index, true);
  }

  linkHoverSource(t: number | null): void {
    this.hoverSource(t !== null && this.chunk && t >= this.chunk.n ? null : t, true);
  }

  linkSelect(index: number): void {
    const last = Math.max(this.store.length, this.recordCount()) - 1;
    const value = Math.max(-1, Math.min(index, last));
    if (value === this.selected()) return;
    this.model.set("selected_batch", value);
    this.model.save_changes();
  }

  linkScaleChanged(): void {
    if (this.linkedScaleOn()) this.redraw.request();
  }

  linkMembersChanged(): void {
    this.redraw.request();
  }

  linkSetLinkedScale(on: boolean): void {
    if (this.model.get("linked_scale") !== on) this.save("linked_scale", on);
  }

  position(index: number): Position | null {
    const store = this.store;
    return store.has(index)
      ? {
          step: store.value("step", index),
          offset: store.value("offset", index),
          n: seqLength(store),
        }
      : null;
  }

  barMax(index: number | null, k: number): number {
    const store = this.store;
    if (index === null)
      return (k === this.horizonK() ? this.stackMax : this.linkStackMax).get(store, k);
    if (!store.has(index)) return 0;
    return Math.max(0, ...stackedTotals(triangleOf(store, index), seqLength(store), k));
  }

  sourceMax(index: number, t: number): number {
    const store = this.store;
    if (!store.has(index) || t < 0 || t >= seqLength(store)) return 0;
    const triangle = triangleOf(store, index);
    let max = 0;
    for (let j = 0; j <= t; j++) max = Math.max(max, magnitudeAt(triangle, t, j));
    return max;
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
    if (!fromLink) this.link?.broadcast((member) => member.linkHoverRecord(index));
    const started = performance.now();
    this.hoveredRecord = index;
    this.hoveredSource = null;
    this.renderDetail();
    this.overview.update(this.overviewState());
    measureSince("rnnbow:hover-record", started);
  }

  private hoverSource(t: number | null, fromLink = false): void {
    if (t === this.hoveredSource) return;
    if (!fromLink) this.link?.broadcast((member) => member.linkHoverSource(t));
    const started = performance.now();
    this.hoveredSource = t;
    this.renderSource();
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

  private measureWidth(): number {
    const width = this.root.clientWidth || this.root.getBoundingClientRect().width;
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
    const store = this.store;
    const meta = this.meta();
    const showHelp = this.model.get("show_help");
    this.toolbar.update({
      metric: this.model.get("metric"),
      horizon: this.horizonK(),
      n: this.seqLength(),
      logScale: this.model.get("log_scale"),
      globalScale: this.model.get("global_scale"),
      showHelp,
      title: meta.title ? `RNNbow · ${meta.title}` : "RNNbow",
      linkedScale:
        this.link && this.link.others().length > 0 ? this.model.get("linked_scale") : null,
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
    this.overview.draw(this.width - 2, this.overviewState());
    this.chunk = null;
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
      linkNote: this.link
        ? positionNote(
            this.position(index),
            this.link.others().map((m) => ({ name: m.name(), position: m.position(index) })),
          )
        : "",
      diverged: diverged ? divergedText(diverged) : "",
    };
    this.info.textContent =
      index >= 0
        ? infoText(store, index, because, Math.max(store.length, this.recordCount()), extras)
        : extras.diverged;
    this.info.setAttribute("data-shown", String(index));
    if (index < 0 || !store.has(index)) {
      this.chunk = null;
      this.detail.hidden = true;
      this.missing.hidden = false;
      this.missing.textContent =
        index >= 0 ? `Chunk ${index} is still on its way from the kernel…` : "";
      return;
    }
    this.detail.hidden = false;
    this.missing.hidden = true;
    if (!this.chunk || this.chunk.index !== index)
      this.chunk = readChunk(store, index, this.meta().vocab);
    const geometry = columnGeometry(this.width - 2, this.chunk.n);
    const k = this.horizonK();
    const globalScale = this.model.get("global_scale");
    this.labels.render(this.chunk, geometry, this.theme, this.sourceShown());
    const linked = this.linkedScaleOn();
    let scaleMax = globalScale ? this.stackMax.get(store, k) : 0;
    if (linked && this.link)
      scaleMax = this.link.maxOver((member) => member.barMax(globalScale ? null : index, k));
    this.bars.render(this.chunk, geometry, { k, globalScale, scaleMax, linked });
    this.renderSource();
    this.revealDefaultSource(geometry);
  }

  /**
   * When a new chunk is shown in views wider than the output (long chunks scroll sideways),
   * scroll so that its default source, the largest loss, is in view: otherwise the horizon
   * panel could describe a loss the reader cannot see.
   */
  private revealDefaultSource(geometry: ColumnGeometry): void {
    const view = this.detail.clientWidth;
    // The sections span the scrolled width; their sticky text blocks one view (style.css).
    if (view > 0) this.detail.style.setProperty("--rnnbow-view-width", `${view - 8}px`);
    this.detail.style.setProperty("--rnnbow-content-width", `${geometry.width}px`);
    const chunk = this.chunk;
    if (!chunk || chunk.index === this.scrolledFor || this.hoveredSource !== null) return;
    this.scrolledFor = chunk.index;
    if (view <= 0 || geometry.width <= view) return;
    this.detail.scrollLeft = scrollToColumn(
      geometry,
      largestLossSource(chunk.losses),
      this.detail.scrollLeft,
      view,
    );
  }

  private sourceShown(): number {
    if (!this.chunk) return -1;
    return this.hoveredSource ?? largestLossSource(this.chunk.losses);
  }

  /** The source-dependent parts: highlighted segments, shaded labels, the horizon panel. */
  private renderSource(): void {
    const chunk = this.chunk;
    if (!chunk) return;
    const t = this.sourceShown();
    this.bars.highlight(t);
    this.labels.setShade(t);
    this.horizonView.render(chunk, columnGeometry(this.width - 2, chunk.n), t, {
      k: this.horizonK(),
      logScale: this.model.get("log_scale"),
      isDefault: this.hoveredSource === null,
      scaleMax:
        this.linkedScaleOn() && this.link
          ? this.link.maxOver((member) => member.sourceMax(chunk.index, t))
          : 0,
      linked: this.linkedScaleOn(),
    });
    this.unitsPanel.update(chunk.index, columnGeometry(this.width - 2, chunk.n), t, {
      logScale: this.model.get("log_scale"),
      isDefault: this.hoveredSource === null,
    });
  }

  /** A view's frame (layout.ts); its help block follows "?" and its listeners the app. */
  private section(
    view: HelpTopic,
    title: string,
    image: () => [SVGSVGElement, HTMLCanvasElement?],
  ): HTMLElement {
    const fileName = () => `rnnbow-${view}${this.chunk ? `-chunk${this.chunk.index}` : ""}`;
    const frame = viewFrame(view, title, image, fileName);
    this.helpBlocks.push(frame.help);
    this.removers.push(frame.remove);
    return frame.section;
  }
}
