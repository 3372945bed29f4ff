// Per-unit drilldown data: asked for one record at a time (`request_units`), answered by one
// binary `units` message, cached per model (a few records). Only one request is out at a time:
// while the kernel trains it reads no messages, so the view says "waiting for the kernel" and
// the latest wish is sent once the pending answer arrives.

import { type Bytes, decodeBf16, decodeColumn } from "./decode";
import type { WidgetModel } from "./model";

/** Records whose units are kept in the browser (about 130 KB each at n = 25, H = 100). */
export const UNITS_CACHE_SIZE = 8;

type UnitsReason = "" | "not_recorded" | "thinned" | "bad_request";

export interface UnitsEntry {
  index: number;
  available: boolean;
  reason: UnitsReason;
  /** Kept records next to this one (when thinned). */
  nearest: number[];
  /** The kernel keeps every stride-th record's units. */
  stride: number;
  hiddenSize: number;
  /** Packed triangle x H, row t(t+1)/2 + j, decoded from bfloat16; null when not available. */
  values: Float32Array | null;
  error?: string;
}

export interface UnitsCache {
  entries: Map<number, UnitsEntry>;
  inFlight: number | null;
  wanted: number | null;
  /** No kernel behind the model (exported page): what was delivered is all there is. */
  isStatic: boolean;
  listeners: Set<() => void>;
  detach: (() => void) | null;
}

type UnitsStatus =
  | { state: "ready"; entry: UnitsEntry }
  | { state: "absent"; entry: UnitsEntry }
  | { state: "waiting" }
  | { state: "static" };

interface UnitsMessage {
  type: "units";
  index: number;
  available: boolean;
  reason: UnitsReason;
  nearest?: number[];
  stride?: number;
  hidden_size?: number;
  shape?: number[];
  error?: string;
}

const perModel = new WeakMap<object, UnitsCache>();

export function unitsFor(model: WidgetModel): UnitsCache {
  let cache = perModel.get(model);
  if (!cache) {
    cache = {
      entries: new Map(),
      inFlight: null,
      wanted: null,
      isStatic: false,
      listeners: new Set(),
      detach: null,
    };
    perModel.set(model, cache);
  }
  return cache;
}

function isUnitsMessage(message: unknown): message is UnitsMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "units"
  );
}

/** Decode one `units` message into an entry (throws on a buffer of the wrong size). */
function decodeUnits(message: UnitsMessage, buffers: Bytes[]): UnitsEntry {
  const shape = message.shape ?? [0, 0];
  let values: Float32Array | null = null;
  if (message.available && buffers.length > 0) {
    const bits = decodeColumn(
      { name: "units", dtype: "bfloat16", shape },
      buffers[0],
    ) as Uint16Array;
    values = decodeBf16(bits);
  }
  return {
    index: message.index,
    available: values !== null,
    reason: message.reason ?? "",
    nearest: message.nearest ?? [],
    stride: message.stride ?? 0,
    hiddenSize: message.hidden_size ?? shape[1] ?? 0,
    values,
    error: message.error,
  };
}

function remember(cache: UnitsCache, entry: UnitsEntry): void {
  cache.entries.delete(entry.index);
  cache.entries.set(entry.index, entry);
  while (cache.entries.size > UNITS_CACHE_SIZE)
    cache.entries.delete(cache.entries.keys().next().value as number);
}

function send(model: WidgetModel, cache: UnitsCache, index: number): void {
  cache.inFlight = index;
  model.send({ type: "request_units", index });
}

/** Listen for `units` answers on the model, once per model. */
export function attachUnits(model: WidgetModel): UnitsCache {
  const cache = unitsFor(model);
  if (cache.detach) return cache;
  const handler = (message: unknown, buffers: Bytes[] = []) => {
    if (!isUnitsMessage(message)) return;
    let entry: UnitsEntry;
    try {
      entry = decodeUnits(message, buffers);
    } catch (error) {
      entry = {
        index: message.index,
        available: false,
        reason: "bad_request",
        nearest: [],
        stride: 0,
        hiddenSize: 0,
        values: null,
        error: String(error),
      };
    }
    remember(cache, entry);
    if (cache.inFlight === message.index || message.index < 0) cache.inFlight = null;
    const wanted = cache.wanted;
    cache.wanted = null;
    if (wanted !== null && cache.inFlight === null && !cache.entries.has(wanted) && !cache.isStatic)
      send(model, cache, wanted);
    for (const listener of [...cache.listeners]) listener();
  };
  model.on("msg:custom", handler);
  cache.detach = () => {
    model.off("msg:custom", handler);
    cache.detach = null;
  };
  return cache;
}

/**
 * What the view can show for record `index` now. Asks the kernel when the record is not cached
 * (at most one request out: a newer wish waits for the pending answer).
 */
export function unitsStatus(model: WidgetModel, cache: UnitsCache, index: number): UnitsStatus {
  const entry = cache.entries.get(index);
  if (entry) {
    remember(cache, entry);
    return entry.available ? { state: "ready", entry } : { state: "absent", entry };
  }
  if (cache.isStatic) return { state: "static" };
  if (cache.inFlight === null) send(model, cache, index);
  else if (cache.inFlight !== index) cache.wanted = index;
  return { state: "waiting" };
}
