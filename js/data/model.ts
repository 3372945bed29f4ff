// The widget's synced traits (rnnbow_widget/widget.py), typed once for the whole front end:
// the anywidget model (AnyModel<Model>), the standalone page's PageModel and the tests' mock
// all read and write these names with these types.
import type { AnyModel } from "@anywidget/types";

/** What the overview's bars show (the `metric` trait). */
export type Metric = "max" | "mean" | "horizon" | "reach";

/** `_meta.diverged`: where training diverged (the trainer's TrainingDivergedError). */
export interface Diverged {
  step: number;
  quantity: string;
  message: string;
}

/** The `_meta` trait: chunk length, vocabulary and run description (payload.meta_of). */
export interface Meta {
  seq_length: number;
  vocab: string[];
  title: string;
  hidden_size: number;
  cell: string;
  record_every: number;
  corpus_length: number;
  diverged?: Diverged;
  /** Shards of a followed run directory that could not be read (rundir.RunReader.problems). */
  problems?: string[];
  /** Bytes of one record's details on the wire (labels, losses, magnitudes or band). */
  detail_bytes?: number;
  /** The records have per-example magnitudes (the shown sequence's own: example_magnitudes). */
  per_example?: boolean;
}

export interface Model {
  /** Record index of the selected chunk; -1 = none. */
  selected_batch: number;
  /** k: how many source losses are stacked in each bar. */
  horizon: number;
  metric: Metric;
  log_scale: boolean;
  global_scale: boolean;
  show_help: boolean;
  /** Stack the sources beyond the k nearest as one grey "others" segment on each bar. */
  show_others: boolean;
  /** Views 3 and 4 show the shown sequence's own gradient, not the batch's (when recorded). */
  per_example: boolean;
  /** Bound the widget to this many pixels; 0 = the views' natural height. */
  height: number;
  /** MiB of record details the browser keeps (data/budget.ts); summaries are always kept. */
  details_budget_mb: number;
  /** With compared runs: one magnitude scale over all of them. */
  linked_scale: boolean;
  /** Views with the same non-empty group link hover, selection and scale (RNNbow.compare). */
  _link_group: string;
  _link_name: string;
  _meta: Meta;
  /** Records the kernel holds (the store may still be waiting for some). */
  _record_count: number;
}

export type WidgetModel = AnyModel<Model>;

/**
 * The value a trait had before its latest change, where the model keeps it (Backbone's
 * `previous`, which Jupyter's widget models and the standalone PageModel have); null or
 * undefined when unknown.
 */
export function previousValue<K extends keyof Model>(
  model: WidgetModel,
  name: K,
): Model[K] | null | undefined {
  return (model as { previous?: (name: K) => Model[K] | null | undefined }).previous?.(name);
}

const SYNCED: Record<keyof Model, true> = {
  selected_batch: true,
  horizon: true,
  metric: true,
  log_scale: true,
  global_scale: true,
  show_help: true,
  show_others: true,
  per_example: true,
  height: true,
  details_budget_mb: true,
  linked_scale: true,
  _link_group: true,
  _link_name: true,
  _meta: true,
  _record_count: true,
};

/** Every synced trait: together, the complete view state (the widget's defaults live in Python). */
export const TRAITS = Object.keys(SYNCED) as (keyof Model)[];

/**
 * `state` as a Model, when it has every trait (the standalone page is mounted with the complete
 * state; a missing key is an error, not a default).
 */
export function completeState(state: unknown): Model {
  if (typeof state !== "object" || state === null) {
    throw new Error(`rnnbow: the state must be an object with ${TRAITS.join(", ")}`);
  }
  const missing = TRAITS.filter((name) => !(name in state));
  if (missing.length > 0) {
    throw new Error(`rnnbow: the state lacks ${missing.join(", ")} (pass every synced trait)`);
  }
  const values = state as Model;
  return Object.fromEntries(TRAITS.map((name) => [name, values[name]])) as unknown as Model;
}
