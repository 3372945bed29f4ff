// Records live in one store per model (shared by every display of that model). `records` custom
// messages are written into it even before a view exists; views ask the kernel for what is missing.

import type { Bytes, ColumnSpec } from "./decode";
import type { WidgetModel } from "./model";
import { RecordStore } from "./store";

export interface ModelRecords {
  store: RecordStore;
  /** `start` of the last request_records sent, to avoid asking twice for the same gap. */
  lastRequestedStart: number;
  detach: (() => void) | null;
}

const perModel = new WeakMap<object, ModelRecords>();

function recordsFor(model: WidgetModel): ModelRecords {
  let records = perModel.get(model);
  if (!records) {
    records = { store: new RecordStore(), lastRequestedStart: -1, detach: null };
    perModel.set(model, records);
  }
  return records;
}

interface RecordsMessage {
  type: "records";
  start: number;
  count: number;
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
    records.store.writeWire(message.start, message.count, message.columns, buffers);
  };
  // Knowing the kernel's count before the blocks arrive lets the store size itself exactly.
  const reserve = () => records.store.reserve(model.get("_record_count"));
  reserve();
  model.on("msg:custom", handler);
  model.on("change:_record_count", reserve);
  records.detach = () => {
    model.off("msg:custom", handler);
    model.off("change:_record_count", reserve);
    records.detach = null;
  };
  return records;
}

/**
 * Ask the kernel for the records from the first gap on, unless that exact request is already
 * out. `expected` is the count the store should hold by now.
 */
export function requestMissing(
  model: WidgetModel,
  records: ModelRecords,
  expected: number,
): boolean {
  const have = records.store.have;
  if (have >= expected || records.lastRequestedStart === have) return false;
  records.lastRequestedStart = have;
  model.send({ type: "request_records", start: have });
  return true;
}
