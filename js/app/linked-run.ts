// This run as a member of a compare group (RNNbow.compare, link.ts): it joins the group named by
// `_link_group`, tells the other runs what its reader hovers and selects, follows theirs, and
// answers their questions about its scale and corpus positions.
import {
  type MagnitudeColumn,
  magnitudesOf,
  StackMaxCache,
  seqLength,
  sourceMax,
  stackedMax,
} from "../data/chunk";
import type { WidgetModel } from "../data/model";
import type { RecordStore } from "../data/store";
import type { SharedScale } from "../views/overview";
import { joinGroup, type LinkHandle, type LinkMember, type Position, positionNote } from "./link";

/** What the other runs make this run's app do. */
export interface LinkedRunHost {
  /** Preview record `index` (null: none). */
  previewRecord(index: number | null): void;
  /** Inspect source loss t (null: the default one). */
  hoverSource(t: number | null): void;
  /** Redraw everything at the next frame. */
  redraw(): void;
  /** The horizon k this run's bars stack. */
  horizonK(): number;
  /**
   * The column of every record's magnitudes this run's bars show (the batch's, or the shown
   * sequence's own); null when only the shown record's are here: the run leaves the scales.
   */
  barColumn(): MagnitudeColumn | null;
}

export class LinkedRun implements LinkMember {
  private handle: LinkHandle | null = null;
  /** The tallest bar over every record at a k the other runs ask for (not this run's own). */
  private readonly otherStackMax = new StackMaxCache();

  constructor(
    private readonly model: WidgetModel,
    private readonly store: RecordStore,
    /** The app's tallest bar over every record at its own k. */
    private readonly stackMax: StackMaxCache,
    /** Carries the group's id as `data-link-group`. */
    private readonly root: HTMLElement,
    private readonly host: LinkedRunHost,
  ) {}

  /** Join the group `_link_group` names, leaving the one joined before. */
  join(): void {
    const group = this.model.get("_link_group");
    if (this.handle?.group === group) return;
    this.handle?.leave();
    this.handle = joinGroup(group, this);
    this.root.setAttribute("data-link-group", group);
  }

  leave(): void {
    this.handle?.leave();
    this.handle = null;
  }

  /** Tell every other run of the group. */
  broadcast(fn: (member: LinkMember) => void): void {
    this.handle?.broadcast(fn);
  }

  /** True when other runs are linked to this one. */
  hasOthers(): boolean {
    return this.handle !== null && this.handle.others().length > 0;
  }

  /** True when the bars and the horizon panel use the largest value over the linked runs. */
  scaleOn(): boolean {
    return this.hasOthers() && this.model.get("linked_scale");
  }

  /** The info line's note on whether the other runs show the same text at record `index`. */
  textNote(index: number): string {
    if (!this.handle) return "";
    return positionNote(
      this.position(index),
      this.handle.others().map((m) => ({ name: m.name(), position: m.position(index) })),
    );
  }

  /** The tallest stacked bar over the runs (see barMax). */
  barMaxOverRuns(index: number | null, k: number): number {
    return this.handle ? this.handle.maxOver((member) => member.barMax(index, k)) : 0;
  }

  /**
   * The tops of the overview's axes over the runs for records [lo, hi): the metric's
   * per-record column `column`, and the smoothed training loss (see columnMax).
   */
  overviewScaleOverRuns(column: string, lo: number, hi: number): SharedScale {
    const handle = this.handle;
    if (!handle) return { value: 0, loss: 0 };
    return {
      value: handle.maxOver((member) => member.columnMax(column, lo, hi)),
      loss: handle.maxOver((member) => member.columnMax("smooth_loss", lo, hi)),
    };
  }

  /** The largest |G[t, j]| over the runs (see sourceMax). */
  sourceMaxOverRuns(index: number, t: number): number {
    return this.handle ? this.handle.maxOver((member) => member.sourceMax(index, t)) : 0;
  }

  // ----- LinkMember: what the other runs call -------------------------------------------------

  name(): string {
    return this.model.get("_link_name") || this.model.get("_meta").title || "another run";
  }

  linkHoverRecord(index: number | null): void {
    this.host.previewRecord(index);
  }

  linkHoverSource(t: number | null): void {
    this.host.hoverSource(t);
  }

  linkSelect(index: number): void {
    const last = Math.max(this.store.length, this.model.get("_record_count")) - 1;
    const value = Math.max(-1, Math.min(index, last));
    if (value === this.model.get("selected_batch")) return;
    this.model.set("selected_batch", value);
    this.model.save_changes();
  }

  linkScaleChanged(): void {
    if (this.scaleOn()) this.host.redraw();
  }

  linkMembersChanged(): void {
    this.host.redraw();
  }

  linkSetLinkedScale(on: boolean): void {
    if (this.model.get("linked_scale") === on) return;
    this.model.set("linked_scale", on);
    this.model.save_changes();
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
    const column = this.host.barColumn();
    if (column === null) return 0;
    if (index === null) {
      const cache = k === this.host.horizonK() ? this.stackMax : this.otherStackMax;
      return cache.get(store, k, column);
    }
    return stackedMax(store, index, k, column)?.max ?? 0;
  }

  sourceMax(index: number, t: number): number {
    const store = this.store;
    const column = this.host.barColumn();
    if (column === null || !store.hasDetails(index) || t < 0 || t >= seqLength(store)) return 0;
    const m = magnitudesOf(store, index, column);
    return m ? sourceMax(m, t) : 0;
  }

  columnMax(column: string, lo: number, hi: number): number {
    const store = this.store;
    const values = store.column(column);
    const end = Math.min(hi, store.length);
    let max = 0;
    for (let i = Math.max(0, lo); i < end; i++)
      if (store.present[i] && values[i] > max && Number.isFinite(values[i])) max = values[i];
    return max;
  }
}
