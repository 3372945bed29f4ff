// Test support (not bundled): a mock anywidget model, synthetic record blocks, a canvas stub.
import { vi } from "vitest";
import { triangleIndex, triangleSize } from "../data/decode";
import type { Meta, Model, WidgetModel } from "../data/model";
import widget from "../widget";

const scratchBits = new Uint32Array(1);
const scratchFloat = new Float32Array(scratchBits.buffer);

// bfloat16 by the value (the views decode whole runs with decodeBf16): fixtures are rounded
// as the kernel rounds them.

/** The float32 value of one bfloat16 number stored as its upper 16 bits. */
export function bf16ToFloat(bits: number): number {
  scratchBits[0] = bits << 16;
  return scratchFloat[0];
}

/** Round a float32 to bfloat16 (round to nearest even), as the kernel does. */
export function floatToBf16(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return 0x7fc0; // NaN
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

/** A complete `_meta` for the fixtures (n = 6 over VOCAB), with `overrides`. */
export function testMeta(overrides: Partial<Meta> = {}): Meta {
  return {
    seq_length: 6,
    vocab: VOCAB,
    title: "test",
    hidden_size: 8,
    cell: "rnn",
    record_every: 1,
    corpus_length: 1000,
    ...overrides,
  };
}

/** A complete view state (every synced trait, as the kernel sends it), with `overrides`. */
export function testState(overrides: Partial<Model> = {}): Model {
  return {
    selected_batch: -1,
    horizon: 5,
    metric: "max",
    log_scale: false,
    global_scale: false,
    show_help: false,
    show_others: true,
    per_example: false,
    height: 0,
    details_budget_mb: 160,
    linked_scale: true,
    _link_group: "",
    _link_name: "",
    _meta: testMeta(),
    _record_count: 0,
    ...overrides,
  };
}

type Handler = (...args: never[]) => void;

/** An anywidget model as a kernel would drive it: typed traits, custom messages, spies. */
export class MockModel implements WidgetModel {
  values: Model;
  previousValues: Partial<Model> = {};
  handlers = new Map<string, Set<Handler>>();
  onCalls = 0;
  offCalls = 0;
  save_changes = vi.fn();
  send = vi.fn();
  widget_manager = {} as never;

  constructor(values: Partial<Model> = {}) {
    this.values = testState(values);
  }

  get<K extends keyof Model>(name: K): Model[K] {
    return this.values[name];
  }

  previous<K extends keyof Model>(name: K): Model[K] | undefined {
    return this.previousValues[name];
  }

  set<K extends keyof Model>(name: K, value: Model[K]): void {
    if (this.values[name] === value) return;
    this.previousValues[name] = this.values[name];
    this.values[name] = value;
    this.emit(`change:${name}`, this, value);
  }

  on(event: string, handler: Handler): void {
    this.onCalls++;
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    this.offCalls++;
    if (event && handler) this.handlers.get(event)?.delete(handler);
  }

  emit(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      (handler as (...args: unknown[]) => void)(...args);
    }
  }

  listenerCount(): number {
    let total = 0;
    for (const set of this.handlers.values()) total += set.size;
    return total;
  }

  /** Deliver a records block as the kernel's custom message would (buffers as DataView). */
  sendRecords(block: WireBlock): void {
    const { buffers, ...message } = block;
    this.emit(
      "msg:custom",
      message,
      buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)),
    );
  }
}

export const VOCAB = [
  " ",
  "\n",
  "\t",
  "a",
  "b",
  "c",
  "<",
  ">",
  "/",
  "s",
  "r",
  "i",
  "p",
  "t",
  "=",
  "(",
  ")",
  "1",
  "\u0007",
];

export interface WireBlock {
  type: "records";
  start: number;
  count: number;
  columns: { name: string; dtype: string; shape: number[] }[];
  buffers: Uint8Array[];
}

/**
 * Magnitude used by the fixture: the local value (t + 1) / 10, halving per step back, scaled by
 * record.
 */
export function fixtureMagnitude(record: number, t: number, j: number): number {
  return ((t + 1) / 10) * 0.5 ** (t - j) * (1 + (record % 7));
}

/**
 * The shown sequence's own magnitude in the fixture (a batch's recording): unlike the batch's,
 * it grows with the step j and decays by 0.8 per step back.
 */
export function exampleMagnitude(record: number, t: number, j: number): number {
  return ((j + 1) / 10) * 0.8 ** (t - j) * (1 + (record % 5));
}

/** A packed triangle of `magnitude` for one record, as bfloat16 bits. */
function packedBits(
  record: number,
  n: number,
  magnitude: (record: number, t: number, j: number) => number,
): Uint16Array {
  const bits = new Uint16Array(triangleSize(n));
  for (let t = 0; t < n; t++)
    for (let j = 0; j <= t; j++) bits[triangleIndex(t, j)] = floatToBf16(magnitude(record, t, j));
  return bits;
}

/**
 * A records block of `count` records from `start`, n steps each; targets spell `text` if given;
 * with `example`, the shown sequence's own magnitudes too (exampleMagnitude).
 */
export function makeBlock(
  start: number,
  count: number,
  n = 6,
  text?: string,
  options: {
    clipped?: boolean;
    trainerFieldsMissing?: boolean;
    example?: boolean;
    stride?: number;
  } = {},
): WireBlock {
  const tri = triangleSize(n);
  const f32 = (length: number) => new Float32Array(length);
  const step = new Int32Array(count);
  const offset = new Int32Array(count);
  const loss = f32(count);
  const smooth = f32(count);
  const maxGradient = f32(count);
  const meanGradient = f32(count);
  const gradNorm = f32(count);
  const horizon = f32(count);
  const reach = f32(count);
  const clipped = new Uint8Array(count);
  const targets = new Uint16Array(count * n);
  const predictions = new Uint16Array(count * n);
  const losses = new Uint16Array(count * n);
  const magnitudes = new Uint16Array(count * tri);
  for (let r = 0; r < count; r++) {
    const record = start + r * (options.stride ?? 1);
    step[r] = record * 10;
    offset[r] = options.trainerFieldsMissing ? -1 : record * n;
    loss[r] = 3 - record * 0.001;
    smooth[r] = 3 - record * 0.0005;
    maxGradient[r] = 1 + (record % 7);
    meanGradient[r] = 0.5 + (record % 3);
    gradNorm[r] = options.trainerFieldsMissing ? Number.NaN : 5 + record;
    horizon[r] = 1.5;
    reach[r] = 3;
    clipped[r] = options.clipped && record % 2 === 0 ? 1 : 0;
    for (let p = 0; p < n; p++) {
      const symbol = text ? VOCAB.indexOf(text[p % text.length]) : (record + p) % VOCAB.length;
      targets[r * n + p] = symbol < 0 ? 3 : symbol;
      predictions[r * n + p] =
        p % 2 === 0 ? targets[r * n + p] : (targets[r * n + p] + 1) % VOCAB.length;
      // The loss grows with p, so the largest-loss source is the last step.
      losses[r * n + p] = floatToBf16(0.5 + p);
      for (let j = 0; j <= p; j++)
        magnitudes[r * tri + triangleIndex(p, j)] = floatToBf16(fixtureMagnitude(record, p, j));
    }
  }
  const columns: [string, string, number[], ArrayBufferView][] = [
    ["step", "int32", [count], step],
    ["offset", "int32", [count], offset],
    ["loss", "float32", [count], loss],
    ["smooth_loss", "float32", [count], smooth],
    ["max_gradient", "float32", [count], maxGradient],
    ["mean_gradient", "float32", [count], meanGradient],
    ["grad_norm", "float32", [count], gradNorm],
    ["clipped", "uint8", [count], clipped],
    ["effective_horizon", "float32", [count], horizon],
    ["reach", "float32", [count], reach],
    ["targets", "uint16", [count, n], targets],
    ["predictions", "uint16", [count, n], predictions],
    ["losses", "bfloat16", [count, n], losses],
    ["magnitudes", "bfloat16", [count, tri], magnitudes],
  ];
  if (options.example) {
    const own = new Uint16Array(count * tri);
    for (let r = 0; r < count; r++) own.set(packedBits(start + r, n, exampleMagnitude), r * tri);
    columns.push(["example_magnitudes", "bfloat16", [count, tri], own]);
  }
  return {
    type: "records",
    start,
    count,
    columns: columns.map(([name, dtype, shape]) => ({ name, dtype, shape })),
    buffers: columns.map(
      ([, , , data]) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    ),
  };
}

/**
 * The fixture's records with `band` and `beyond` columns instead of `magnitudes` (long chunks;
 * the band tests use K = 4 at n = 12, a small K read from the band's shape as any other).
 */
export function bandBlock(start: number, count: number, n = 12, k = 4): WireBlock {
  const block = makeBlock(start, count, n);
  const at = block.columns.findIndex((column) => column.name === "magnitudes");
  const band = new Uint16Array(count * n * k);
  const beyond = new Float32Array(count * n);
  for (let r = 0; r < count; r++)
    for (let j = 0; j < n; j++) {
      for (let d = 0; d < k && j + d < n; d++)
        band[(r * n + j) * k + d] = floatToBf16(fixtureMagnitude(start + r, j + d, j));
      for (let t = j + k; t < n; t++) beyond[r * n + j] += fixtureMagnitude(start + r, t, j);
    }
  const columns = [...block.columns];
  const buffers = [...block.buffers];
  columns.splice(at, 1, { name: "band", dtype: "bfloat16", shape: [count, n, k] });
  columns.push({ name: "beyond", dtype: "float32", shape: [count, n] });
  buffers.splice(at, 1, new Uint8Array(band.buffer));
  buffers.push(new Uint8Array(beyond.buffer));
  return { ...block, columns, buffers };
}

/**
 * The kernel's answer to request_magnitudes: record `index`'s whole packed triangle, the batch's
 * (fixtureMagnitude) or, with `column` "example_magnitudes", the shown sequence's own.
 */
export function wholeAnswer(index: number, n = 12, column = "magnitudes") {
  const magnitude = column === "magnitudes" ? fixtureMagnitude : exampleMagnitude;
  const bits = packedBits(index, n, magnitude);
  const content = { type: "magnitudes", column, index, available: true, seq_length: n };
  return { content: { ...content, dtype: "bfloat16", shape: [bits.length] }, buffer: bits };
}

/**
 * The widget as a kernel shows it: initialized on `model`, sent `block`, then rendered in a new
 * element of the document; `cleanup` is what render returned.
 */
export function showWidget(model: MockModel, block: WireBlock) {
  const el = document.createElement("div");
  document.body.appendChild(el);
  widget.initialize({ model });
  model.sendRecords(block);
  const cleanup = widget.render({ model, el }) as () => void;
  return { el, cleanup };
}

/** jsdom has no canvas: give it a 2d context whose drawing calls do nothing (but are counted). */
export function stubCanvas(): {
  fillRect: ReturnType<typeof vi.fn>;
  fill: ReturnType<typeof vi.fn>;
} {
  const context = {
    fillRect: vi.fn(),
    setTransform: vi.fn(),
    beginPath: vi.fn(),
    moveTo: vi.fn(),
    lineTo: vi.fn(),
    stroke: vi.fn(),
    fill: vi.fn(),
    closePath: vi.fn(),
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
  };
  HTMLCanvasElement.prototype.getContext = vi.fn(() => context) as never;
  HTMLCanvasElement.prototype.toDataURL = vi.fn(() => "data:image/png;base64,");
  return context;
}

/** Wait for coalesced redraws (animation frame or its timeout fallback). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 40));
}
