// Whole magnitude triangles of long chunks, whose records carry only the band of the nearest
// sources: asked for one record at a time (`request_magnitudes`), answered by one binary
// `magnitudes` message, and kept per model and column (the last few): the batch's `magnitudes`,
// or the shown sequence's own `example_magnitudes`, which long chunks' records do not carry at
// all. The kernel reads browser messages only between cells, so while it trains the answer
// waits: one request is out at a time, and the latest wish is sent when the pending answer
// arrives.
import { type Bytes, decodeBf16, decodeColumn } from "./decode";
import type { WidgetModel } from "./model";

/** Whole triangles kept in the browser (256 KB each as float32 at n = 256, 1 MB at n = 512). */
export const TRIANGLE_CACHE_SIZE = 8;

export type TriangleStatus =
  | { state: "ready"; triangle: Float32Array }
  | { state: "waiting" }
  | { state: "static" }
  | { state: "failed"; error: string };

/** The kernel's answer: `{type: "magnitudes", column, index, available, shape, error?}` + 1 buffer. */
interface Answer {
  type: "magnitudes";
  /** The column whose triangle it holds ("magnitudes" when absent). */
  column?: string;
  index: number;
  available: boolean;
  shape?: number[];
  error?: string;
}

/** An answer's triangle, decoded, or the reason there is none. */
function decodeAnswer(answer: Answer, buffers: Bytes[]): Float32Array | string {
  if (!answer.available || buffers.length === 0) return answer.error ?? "not available";
  try {
    const spec = { name: "magnitudes", dtype: "bfloat16", shape: answer.shape ?? [0] };
    return decodeBf16(decodeColumn(spec, buffers[0]) as Uint16Array);
  } catch (error) {
    return String(error);
  }
}

/** One model's whole triangles of one column: the cache, the request out, who waits. */
export class WholeTriangles {
  /** No kernel behind the model (exported page): what was delivered is all there is. */
  isStatic = false;
  /** Record index -> its packed triangle (decoded) or the kernel's error; oldest use first. */
  private readonly kept = new Map<number, Float32Array | string>();
  private pending: number | null = null;
  private next: number | null = null;
  private readonly arrivals = new Set<(index: number) => void>();
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly model: WidgetModel,
    /** The column asked for: "magnitudes" (the batch's) or "example_magnitudes". */
    readonly column = "magnitudes",
  ) {}

  /** Listen for the kernel's answers (once; the widget's initialize does it). */
  listen(): this {
    if (this.stopListening) return this;
    const onMessage = (message: unknown, buffers: Bytes[] = []) => {
      const answer = message as Partial<Answer> | null;
      if (answer?.type === "magnitudes" && (answer.column ?? "magnitudes") === this.column)
        this.receive(answer as Answer, buffers);
    };
    this.model.on("msg:custom", onMessage);
    this.stopListening = () => this.model.off("msg:custom", onMessage);
    return this;
  }

  /** Stop listening for answers. */
  detach(): void {
    this.stopListening?.();
    this.stopListening = null;
  }

  /** Call `listener(index)` when an answer arrives; returns the function that stops it. */
  onArrival(listener: (index: number) => void): () => void {
    this.arrivals.add(listener);
    return () => this.arrivals.delete(listener);
  }

  /**
   * Record `index`'s whole triangle if it is here; else ask the kernel (at most one request
   * out: a newer wish waits for the pending answer) and say it is waiting, or, on a page
   * without a kernel, that the page does not hold it.
   */
  status(index: number): TriangleStatus {
    const entry = this.kept.get(index);
    if (entry !== undefined) {
      this.keep(index, entry);
      if (typeof entry === "string") return { state: "failed", error: entry };
      return { state: "ready", triangle: entry };
    }
    if (this.isStatic) return { state: "static" };
    if (this.pending === null) this.ask(index);
    else if (this.pending !== index) this.next = index;
    return { state: "waiting" };
  }

  /** The records whose whole triangle is here, in order (a page: the ones it embeds). */
  held(): number[] {
    const indices = [...this.kept].filter(([, entry]) => typeof entry !== "string");
    return indices.map(([index]) => index).sort((a, b) => a - b);
  }

  /** The records kept, oldest use first (for tests). */
  keptIndices(): number[] {
    return [...this.kept.keys()];
  }

  private receive(answer: Answer, buffers: Bytes[]): void {
    if (answer.index >= 0) this.keep(answer.index, decodeAnswer(answer, buffers));
    if (this.pending === answer.index || answer.index < 0) this.pending = null;
    const wish = this.next;
    this.next = null;
    if (wish !== null && this.pending === null && !this.kept.has(wish) && !this.isStatic)
      this.ask(wish);
    for (const listener of [...this.arrivals]) listener(answer.index);
  }

  /** Keep `index` as the most recently used, dropping the least recently used beyond the size. */
  private keep(index: number, entry: Float32Array | string): void {
    this.kept.delete(index);
    this.kept.set(index, entry);
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= TRIANGLE_CACHE_SIZE) break;
      this.kept.delete(oldest);
    }
  }

  private ask(index: number): void {
    this.pending = index;
    const column = this.column === "magnitudes" ? {} : { column: this.column };
    this.model.send({ type: "request_magnitudes", index, ...column });
  }
}

const perModel = new WeakMap<object, Map<string, WholeTriangles>>();

/** The model's whole triangles of `column` (one per model and column, shared by its displays). */
export function trianglesFor(model: WidgetModel, column = "magnitudes"): WholeTriangles {
  let columns = perModel.get(model);
  if (!columns) {
    columns = new Map();
    perModel.set(model, columns);
  }
  let triangles = columns.get(column);
  if (!triangles) {
    triangles = new WholeTriangles(model, column);
    columns.set(column, triangles);
  }
  return triangles;
}
