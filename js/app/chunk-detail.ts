// The detail of the shown chunk: views 2-4 (labels, stacked bars, gradient horizon) and the
// per-unit drilldown, on one column layout, all inspecting one source loss: the hovered one,
// else the largest loss with at least min(k, n/2) steps behind it (data/chunk.ts, defaultSource).
// Long chunks arrive as a band of the nearest sources; their whole triangle is asked for when
// one is shown (data/triangles.ts), and the views are drawn again when it arrives.
import { bandDepth, type Chunk, defaultSource, minStepsBehind, readChunk } from "../data/chunk";
import type { DetailRequests } from "../data/detail-requests";
import type { WidgetModel } from "../data/model";
import type { RecordStore } from "../data/store";
import { trianglesFor, type WholeTriangles } from "../data/triangles";
import { html, listen, svg } from "../lib/dom";
import { formatInteger, formatOrdinal } from "../lib/format";
import { frameScheduler } from "../lib/schedule";
import type { Theme } from "../lib/theme";
import { BarsView } from "../views/bars";
import {
  type ColumnGeometry,
  columnGeometry,
  coversView,
  pinGutter,
  scrollToColumn,
  visibleColumns,
} from "../views/columns";
import { type BandOnly, HorizonView } from "../views/horizon";
import { LabelsView } from "../views/labels";
import { ExampleGradient, type PerExample } from "./example-gradient";
import type { HelpTopic } from "./help";
import { tokenUnit } from "./info";
import { UnitsPanel } from "./units-panel";

/** Columns drawn on each side of those in view while long chunks scroll sideways. */
const COLUMN_MARGIN = 8;

/** How the views draw, read from the app at each drawing (the traits may have changed). */
export interface DetailSettings {
  /** Width available to the views, px (longer chunks make them scroll sideways). */
  width: number;
  /** The horizon k. */
  k: number;
  logScale: boolean;
  globalScale: boolean;
  /** The bars stack the sources beyond k as one grey segment. */
  showOthers: boolean;
  /** The records have the shown sequence's own magnitudes, and whether they are asked for. */
  perExample: PerExample;
  /** The scales are the largest over the linked runs. */
  linked: boolean;
  /** The source loss the reader points at (null: none, the default source is inspected). */
  hoveredSource: number | null;
}

/** What the detail asks of the app. */
export interface DetailHost {
  theme(): Theme;
  settings(): DetailSettings;
  /** Top of the bars' scale for record `index` (0: the chunk's own tallest bar). */
  barScale(index: number): number;
  /** Top of the horizon's scale for source t of record `index` (0: that source's own). */
  sourceScale(index: number, t: number): number;
  /** The reader points at source loss t in the labels or the bars (null: left them). */
  hoverSource(t: number | null): void;
  /** A view's frame (layout.ts), its help and listeners kept by the app. */
  section(
    view: HelpTopic,
    title: string,
    image: () => [SVGSVGElement, HTMLCanvasElement?],
  ): HTMLElement;
}

export class ChunkDetail {
  /** `.rnnbow-detail`: the views' sections. */
  readonly element: HTMLElement;
  /** Shown instead while the chunk is on its way from the kernel. */
  readonly missing: HTMLElement;
  private readonly labels: LabelsView;
  private readonly bars: BarsView;
  private readonly horizonView: HorizonView;
  private readonly unitsPanel: UnitsPanel;
  private readonly triangles: WholeTriangles;
  private readonly stopTriangles: () => void;
  /** The shown sequence's own magnitudes (example-gradient.ts), and its arrivals' listener. */
  private readonly example: ExampleGradient;
  private readonly stopExample: () => void;
  /** Each view's left gutter, kept in sight while the views scroll sideways. */
  private readonly pinned = new Map<SVGSVGElement, SVGSVGElement>();
  private shownChunk: Chunk | null = null;
  /** Why the shown long chunk has only its band (null: whole, or a short chunk). */
  private bandOnly: BandOnly | null = null;
  private lastShown: { store: RecordStore; vocab: string[] } | null = null;
  /** The chunk whose default source the views last scrolled into view. */
  private scrolledFor = -1;
  /** The views' visible width, px (0: not measured since the last forgetChunk). */
  private viewWidth = 0;
  /** The views' scroll offset, px, as last seen or set (reading it can force a layout). */
  private scrollX = 0;
  /** The columns drawn (long chunks: those in view and a margin); null before a chunk. */
  private geometry: ColumnGeometry | null = null;
  /** Scrolled beyond the columns drawn: draw the views again at the next frame. */
  private readonly redrawScrolled = frameScheduler(() => this.showAgain());
  /** Scroll the views to `scrollX` at the next frame (with the frame's own layout). */
  private readonly applyScroll = frameScheduler(() => {
    this.scrollPending = false;
    this.element.scrollLeft = this.scrollX;
  });
  /** A scroll to `scrollX` waits for the next frame: scroll events until then are stale. */
  private scrollPending = false;
  /** Draw every column of a long chunk (for a download). */
  private drawEveryColumn = false;
  private readonly stopScroll: () => void;

  constructor(
    model: WidgetModel,
    private readonly host: DetailHost,
    private readonly details: DetailRequests,
  ) {
    const theme = () => host.theme();
    this.labels = new LabelsView((t) => host.hoverSource(t));
    this.bars = new BarsView((t) => host.hoverSource(t), theme);
    this.horizonView = new HorizonView(theme);
    this.missing = html("div", { class: "rnnbow-missing" });
    const labelsSection = host.section(
      "labels",
      "What came next, and what the network guessed",
      () => this.imageOf(this.labels.svg),
    );
    labelsSection.appendChild(this.labels.svg);
    const barsSection = host.section(
      "bars",
      "Gradient at each step, split by the loss it comes from",
      () => this.imageOf(this.bars.svg),
    );
    barsSection.append(this.bars.svg, this.bars.legend);
    const horizonSection = host.section("horizon", "Gradient horizon of one loss", () =>
      this.imageOf(this.horizonView.svg),
    );
    horizonSection.append(this.horizonView.note, this.horizonView.svg, this.horizonView.stats);
    for (const view of [this.labels.svg, this.bars.svg, this.horizonView.svg])
      this.pinned.set(view, svg("svg"));
    this.triangles = trianglesFor(model).listen();
    this.stopTriangles = this.triangles.onArrival((index) => this.wholeArrived(index));
    this.example = new ExampleGradient(model);
    this.stopExample = this.example.onArrival((index) => this.exampleArrived(index));
    this.element = html("div", { class: "rnnbow-detail" });
    this.element.append(labelsSection, barsSection, horizonSection);
    this.stopScroll = listen(this.element, "scroll", () => this.scrolled());
    // Per-unit drilldown below the horizon; its toggle sits in the toolbar (see unitsToggle).
    this.unitsPanel = new UnitsPanel(model, theme);
    const unitsSection = host.section("units", "Which hidden units carry this gradient", () => [
      this.unitsPanel.view.svg,
      this.unitsPanel.view.canvas,
    ]);
    this.unitsPanel.attach(unitsSection);
    this.element.appendChild(unitsSection);
  }

  /** The chunk the views show (null: none). */
  get chunk(): Chunk | null {
    return this.shownChunk;
  }

  /** The units drilldown's toolbar control (the app places it). */
  get unitsToggle(): HTMLLabelElement {
    return this.unitsPanel.toggle;
  }

  /** The records or the layout changed: read the chunk and measure again at the next show(). */
  forgetChunk(): void {
    this.shownChunk = null;
    this.viewWidth = 0;
  }

  destroy(): void {
    this.stopTriangles();
    this.stopExample();
    this.stopScroll();
    this.redrawScrolled.cancel();
    this.applyScroll.cancel();
    this.scrollPending = false;
    this.labels.destroy();
    this.bars.destroy();
    this.unitsPanel.destroy();
  }

  /** The views for record `index`, or the note that it (or its details) is still missing. */
  show(store: RecordStore, index: number, vocab: string[]): void {
    if (index < 0 || !store.has(index)) {
      this.showMissing(index >= 0 ? `Chunk ${index} is still on its way from the kernel…` : "");
      return;
    }
    const details = this.details.status(index);
    if (details !== "ready") {
      this.showMissing(detailsMissing(store, index, details === "static"));
      return;
    }
    this.element.hidden = false;
    this.missing.hidden = true;
    this.missing.style.minHeight = "";
    this.lastShown = { store, vocab };
    const whole = this.wholeTriangle(store, index);
    const partial = this.shownChunk?.magnitudes.beyond !== null;
    const settings = this.host.settings();
    if (!this.shownChunk || this.shownChunk.index !== index || (whole && partial))
      this.shownChunk = this.example.apply(store, readChunk(store, index, vocab, whole), settings);
    const chunk = this.shownChunk;
    const full = columnGeometry(settings.width, chunk.n);
    this.revealDefaultSource(chunk, full, settings);
    // Long chunks: only the columns in view and a margin (scrolling draws the others).
    const geometry = this.drawEveryColumn
      ? full
      : visibleColumns(full, this.scrollX, this.viewWidth, COLUMN_MARGIN);
    this.geometry = geometry;
    const { k, globalScale, showOthers, linked } = settings;
    this.labels.render(chunk, geometry, this.host.theme(), this.sourceShown(chunk, settings));
    this.bars.render(chunk, geometry, {
      k,
      globalScale,
      showOthers,
      scaleMax: this.host.barScale(index),
      linked,
      bandDepth: bandDepth(store),
      unit: tokenUnit(this.lastShown?.vocab),
    });
    this.pin(this.labels.svg, geometry, settings);
    this.pin(this.bars.svg, geometry, settings);
    this.drawSource(chunk, settings);
  }

  /** A note instead of the views, as tall as the views were (the page does not jump). */
  private showMissing(text: string): void {
    if (!this.element.hidden && this.shownChunk) {
      const height = this.element.offsetHeight;
      if (height > 0) this.missing.style.minHeight = `${height}px`;
    }
    this.shownChunk = null;
    this.element.hidden = true;
    this.missing.hidden = false;
    this.missing.textContent = text;
  }

  /**
   * What a download saves: the view with every column (long chunks draw only those in view; the
   * views are drawn that way again at the next frame, once the download has its copy).
   */
  private imageOf(view: SVGSVGElement): [SVGSVGElement] {
    const chunk = this.shownChunk;
    const geometry = this.geometry;
    if (chunk && geometry && (geometry.first > 0 || geometry.last < chunk.n)) {
      this.drawEveryColumn = true;
      this.showAgain();
      this.drawEveryColumn = false;
      this.redrawScrolled.request();
    }
    return [view];
  }

  /** Draw the shown chunk again (scrolled beyond the columns drawn). */
  private showAgain(): void {
    if (this.shownChunk && this.lastShown)
      this.show(this.lastShown.store, this.shownChunk.index, this.lastShown.vocab);
  }

  /** The views scrolled sideways: draw them again if columns in view are not drawn. */
  private scrolled(): void {
    if (this.scrollPending) return;
    this.scrollX = this.element.scrollLeft;
    const geometry = this.geometry;
    if (geometry && !coversView(geometry, this.scrollX, this.viewWidth))
      this.redrawScrolled.request();
  }

  /**
   * Record `index`'s whole triangle when its records carry a band and the triangle is here
   * (else null, asking the kernel for it, and noting why only the band is shown).
   */
  private wholeTriangle(store: RecordStore, index: number): Float32Array | null {
    this.bandOnly = null;
    if (bandDepth(store) === 0) return null;
    const status = this.triangles.status(index);
    if (status.state === "ready") return status.triangle;
    this.bandOnly =
      status.state === "static" ? { state: "static", pageHolds: this.triangles.held() } : status;
    return null;
  }

  /** A whole triangle arrived: draw the chunk again if it is the one shown with its band. */
  private wholeArrived(index: number): void {
    const chunk = this.shownChunk;
    if (!chunk || chunk.index !== index || chunk.magnitudes.beyond === null || !this.lastShown)
      return;
    this.show(this.lastShown.store, index, this.lastShown.vocab);
  }

  /** The shown sequence's own triangle arrived: draw the chunk again if it waited for it. */
  private exampleArrived(index: number): void {
    if (this.shownChunk?.index !== index || !this.shownChunk.exampleMissing || !this.lastShown)
      return;
    this.shownChunk = null;
    this.show(this.lastShown.store, index, this.lastShown.vocab);
  }

  /** Keep a view's left gutter in sight while the views are wider than their room. */
  private pin(view: SVGSVGElement, geometry: ColumnGeometry, settings: DetailSettings): void {
    const pinned = this.pinned.get(view);
    if (pinned) pinGutter(view, pinned, geometry, settings.width);
  }

  /** The inspected source loss changed: redraw what depends on it. */
  showSource(): void {
    if (this.shownChunk) this.drawSource(this.shownChunk, this.host.settings());
  }

  private sourceShown(chunk: Chunk, settings: DetailSettings): number {
    return settings.hoveredSource ?? defaultSource(chunk.losses, settings.k);
  }

  /** The source-dependent parts: highlighted segments, shaded labels, the horizon panel. */
  private drawSource(chunk: Chunk, settings: DetailSettings): void {
    const t = this.sourceShown(chunk, settings);
    const isDefault = settings.hoveredSource === null;
    this.bars.highlight(t);
    this.labels.setShade(t);
    const geometry = this.geometry ?? columnGeometry(settings.width, chunk.n);
    this.horizonView.render(chunk, geometry, t, {
      k: settings.k,
      bandOnly: this.bandOnly,
      logScale: settings.logScale,
      isDefault,
      minSteps: minStepsBehind(settings.k, chunk.n),
      scaleMax: this.host.sourceScale(chunk.index, t),
      linked: settings.linked,
    });
    this.pin(this.horizonView.svg, geometry, settings);
    this.unitsPanel.update(chunk.index, geometry, t, {
      logScale: settings.logScale,
      isDefault,
    });
  }

  /**
   * When a new chunk is shown in views wider than the output (long chunks scroll sideways),
   * scroll so that its default source is in view: otherwise the horizon panel could describe a
   * loss the reader cannot see. The offset is set at the next frame; the views are drawn for it
   * now.
   */
  private revealDefaultSource(
    chunk: Chunk,
    geometry: ColumnGeometry,
    settings: DetailSettings,
  ): void {
    const detail = this.element;
    // Reading clientWidth after the views changed forces a layout (most of a hover's time):
    // measure once per forgetChunk (the app calls it on every resize), before drawing.
    if (this.viewWidth <= 0) this.viewWidth = detail.clientWidth;
    const view = this.viewWidth;
    // The sections span the scrolled width; their sticky text blocks one view (style.css).
    if (view > 0) detail.style.setProperty("--rnnbow-view-width", `${view - 8}px`);
    detail.style.setProperty("--rnnbow-content-width", `${geometry.width}px`);
    if (chunk.index === this.scrolledFor || settings.hoveredSource !== null) return;
    this.scrolledFor = chunk.index;
    if (view <= 0 || geometry.width <= view) return;
    const wanted = scrollToColumn(
      geometry,
      defaultSource(chunk.losses, settings.k),
      this.scrollX,
      view,
    );
    if (wanted === this.scrollX) return;
    this.scrollX = wanted;
    this.scrollPending = true;
    this.applyScroll.request();
  }
}

/** Why record `index`'s labels and gradients are not shown: the store's budget thinned them. */
function detailsMissing(store: RecordStore, index: number, isStatic: boolean): string {
  const { from, stride } = store.plan();
  const kept =
    `the newest ${formatInteger(store.length - from)} chunks` +
    (stride > 1 ? ` and every ${formatOrdinal(stride)} older one` : "");
  if (isStatic)
    return (
      `This page holds the labels and gradients of ${kept}; chunk ${formatInteger(index)} is ` +
      "not among them. Its summary is in the info line above."
    );
  return (
    `Chunk ${formatInteger(index)}'s labels and gradients are not loaded yet: to keep within ` +
    `its memory budget (details_budget_mb) the browser holds them for ${kept}. ` +
    "Asked the kernel for them; it answers when it is not busy training…"
  );
}
