// Records live in one store per model (shared by every display of that model). `records` custom
// messages are written into it even before a view exists; views ask the kernel for what is missing.

import type { Bytes, ColumnSpec } from "./decode";
import { DetailRequests } from "./detail-requests";
import type { WidgetModel } from "./model";
import { RecordStore } from "./store";

export interface ModelRecords {
  store: RecordStore;
  /** Details of records beyond the store's budget, asked for one at a time. */
  details: DetailRequests;
  /** `start` of the last request_records sent, to avoid asking twice for the same gap. */
  lastRequestedStart: number;
  detach: (() => void) | null;
}

const perModel = new WeakMap<object, ModelRecords>();

function recordsFor(model: WidgetModel): ModelRecords {
  let records = perModel.get(model);
  if (!records) {
    const store = new RecordStore();
    const details = new DetailRequests(model, store);
    records = { store, details, lastRequestedStart: -1, detach: null };
    perModel.set(model, records);
  }
  return records;
}

interface RecordsMessage {
  type: "records";
  start: number;
  count: number;
  /** Records start, start + stride, ...: the kernel's thinned history (default 1). */
  stride?: number;
  columns: ColumnSpec[];
}

function isRecordsMessage(message: unknown): message is RecordsMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "records"
  );
}

/** Listen for `records` messages (and the record count) on the model, once per model. */
export function attachMessages(model: WidgetModel): ModelRecords {
  const records = recordsFor(model);
  if (records.detach) return records;
  const handler = (message: unknown, buffers: Bytes[] = []) => {
    if (!isRecordsMessage(message)) return;
    const { start, count, columns, stride } = message;
    records.store.writeWire(start, count, columns, buffers, stride ?? 1);
  };
  // Knowing the kernel's count before the blocks arrive lets the store size itself exactly.
  const reserve = () => records.store.reserve(model.get("_record_count"));
  const budget = () =>
    records.store.setBudget(model.get("details_budget_mb"), model.get("_meta")?.detail_bytes ?? 0);
  budget();
  reserve();
  model.on("msg:custom", handler);
  model.on("change:_record_count", reserve);
  model.on("change:details_budget_mb", budget);
  model.on("change:_meta", budget);
  records.detach = () => {
    model.off("msg:custom", handler);
    model.off("change:_record_count", reserve);
    model.off("change:details_budget_mb", budget);
    model.off("change:_meta", budget);
    records.detach = null;
  };
  return records;
}

/**
 * Ask the kernel for the records from the first gap on, unless that exact request is already
 * out. `expected` is the count the store should hold by now. The kernel sends every record's
 * summary numbers, and details only for the records the store's keep plan keeps (budget.ts).
 */
export function requestMissing(
  model: WidgetModel,
  records: ModelRecords,
  expected: number,
): boolean {
  const store = records.store;
  const have = store.have;
  if (have >= expected || records.lastRequestedStart === have) return false;
  records.lastRequestedStart = have;
  const plan = store.plan(Math.max(expected, model.get("_record_count")));
  model.send({
    type: "request_records",
    start: have,
    detail_from: plan.from,
    detail_stride: plan.stride,
  });
  return true;
}
