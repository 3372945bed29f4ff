// IIFE entry for pages without Jupyter:
// window.RNNbowStandalone.mount(element, state, blocks, units, magnitudes). `state` holds every synced
// trait (data/model.ts TRAITS; the kernel side passes the widget's values, its defaults
// included). The page needs this one script: the stylesheet is injected from the bundle.

import { keepPlan } from "./data/budget";
import { EXAMPLE_COLUMN } from "./data/chunk";
import { type Bytes, base64ToBytes, type ColumnSpec } from "./data/decode";
import { completeState } from "./data/model";
import { PageModel } from "./data/page-model";
import { attachMessages } from "./data/sync";
import { trianglesFor } from "./data/triangles";
import { unitsFor } from "./data/units-data";
import css from "./style.css";
import widget from "./widget";

export interface StandaloneColumn extends ColumnSpec {
  /** The column's little-endian bytes, base64-encoded (exported HTML) ... */
  data_b64?: string;
  /** ... or already as bytes (tests, benchmarks). */
  data?: Bytes;
}

export interface StandaloneBlock {
  start: number;
  count: number;
  /** Records start, start + stride, ... (default 1). */
  stride?: number;
  columns: StandaloneColumn[];
}

function injectStyle(doc: Document): void {
  if (doc.querySelector("style[data-rnnbow-style]")) return;
  const style = doc.createElement("style");
  style.setAttribute("data-rnnbow-style", "");
  style.textContent = css;
  doc.head.appendChild(style);
}

function deliver(model: PageModel, block: StandaloneBlock): void {
  const columns = block.columns.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
  const buffers = block.columns.map(
    (column) => column.data ?? base64ToBytes(column.data_b64 ?? ""),
  );
  model.emit(
    "msg:custom",
    { type: "records", start: block.start, count: block.count, stride: block.stride, columns },
    buffers,
  );
}

/**
 * A `units` or `magnitudes` answer as the export embeds it (rnnbow_widget.payload.answer_to_json).
 */
export interface StandaloneUnits {
  type: "units" | "magnitudes";
  index: number;
  data_b64?: string;
  data?: Bytes;
  [key: string]: unknown;
}

export function mount(
  element: HTMLElement,
  state: unknown,
  blocks: StandaloneBlock[] = [],
  units: StandaloneUnits[] = [],
  magnitudes: StandaloneUnits[] = [],
) {
  const model = new PageModel(completeState(state));
  injectStyle(element.ownerDocument);
  const stopMessages = widget.initialize({ model });
  // The page carries the selected record's details even when the keep plan thins it out.
  const selected = model.get("selected_batch");
  if (selected >= 0) attachMessages(model).store.details.want(selected);
  for (const block of blocks) deliver(model, block);
  // No kernel on a static page: the record details embedded here are all there is, and so are
  // the per-unit data.
  attachMessages(model).details.isStatic = true;
  unitsFor(model).isStatic = true;
  // Likewise the whole triangles of long chunks (the page embeds the selected record's), the
  // batch's and the shown sequence's own.
  trianglesFor(model).listen().isStatic = true;
  trianglesFor(model, EXAMPLE_COLUMN).listen().isStatic = true;
  for (const { data, data_b64, ...message } of [...units, ...magnitudes]) {
    const buffers = data ? [data] : data_b64 ? [base64ToBytes(data_b64)] : [];
    model.emit("msg:custom", message, buffers);
  }
  const cleanup = widget.render({ model, el: element });
  return {
    model,
    /** Append or overwrite records, as a kernel's `records` message would. */
    addBlock(block: StandaloneBlock) {
      deliver(model, block);
    },
    destroy() {
      cleanup();
      stopMessages();
    },
  };
}

declare global {
  interface Window {
    RNNbowStandalone: { mount: typeof mount; keepPlan: typeof keepPlan };
  }
}

// keepPlan: which records' details a page keeps (benchmarks send what a kernel would).
window.RNNbowStandalone = { mount, keepPlan };
