// Whose gradient views 3 and 4 show: the batch's (what the optimizer applies), or, when the
// recording has them and `per_example` asks for them, the shown sequence's own. Short chunks'
// records carry the sequence's own; for long chunks they are asked for one record at a time
// (data/triangles.ts, column "example_magnitudes"), and until they arrive the batch's are shown
// with a note saying why.
import {
  type Chunk,
  EXAMPLE_COLUMN,
  type ExampleMissing,
  magnitudesOf,
  wholeTriangle,
} from "../data/chunk";
import type { Meta, WidgetModel } from "../data/model";
import type { RecordStore } from "../data/store";
import { trianglesFor, type WholeTriangles } from "../data/triangles";

/** Whether the records have the shown sequence's own magnitudes, and whether they are asked for. */
export interface PerExample {
  has: boolean;
  wanted: boolean;
}

/** True when the records have the shown sequence's own magnitudes. */
export function hasExample(meta: Meta, store: RecordStore): boolean {
  return meta.per_example === true || store.width(EXAMPLE_COLUMN) > 0;
}

export class ExampleGradient {
  private readonly triangles: WholeTriangles;

  constructor(model: WidgetModel) {
    this.triangles = trianglesFor(model, EXAMPLE_COLUMN).listen();
  }

  /** Call `listener(index)` when record `index`'s own triangle arrives; returns the stopper. */
  onArrival(listener: (index: number) => void): () => void {
    return this.triangles.onArrival(listener);
  }

  /**
   * `chunk` (the batch's, as read from the store) as the views show it (the detail's settings
   * say what is wanted): with the sequence's own magnitudes when they are wanted and here, else
   * the batch's, saying why when they were wanted; unmarked when the recording has none.
   */
  apply(store: RecordStore, chunk: Chunk, { perExample }: { perExample: PerExample }): Chunk {
    const { has, wanted } = perExample;
    if (!has) return chunk;
    if (!wanted) return { ...chunk, gradientOf: "batch" };
    const held = magnitudesOf(store, chunk.index, EXAMPLE_COLUMN);
    if (held) return { ...chunk, magnitudes: held, gradientOf: "example" };
    const status = this.triangles.status(chunk.index);
    if (status.state === "ready")
      return {
        ...chunk,
        magnitudes: wholeTriangle(status.triangle, chunk.n),
        gradientOf: "example",
      };
    const missing: ExampleMissing =
      status.state === "static" ? { state: "static", pageHolds: this.triangles.held() } : status;
    return { ...chunk, gradientOf: "batch", exampleMissing: missing };
  }
}
