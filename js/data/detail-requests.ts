// Details of records the store does not keep (budget.ts), asked for one record at a time
// (`request_records` with `stop = start + 1`) and answered by an ordinary `records` block. The
// kernel reads browser messages only when it is not busy, so one request is out at a time and
// the latest wish is sent when the pending answer arrives (as data/triangles.ts does).
import type { WidgetModel } from "./model";
import type { RecordStore } from "./store";

/** Record details: here, asked for (the kernel answers when idle), or not in a static page. */
export type DetailStatus = "ready" | "waiting" | "static";

export class DetailRequests {
  /** No kernel behind the model (exported page): what was delivered is all there is. */
  isStatic = false;
  private pending: number | null = null;
  private next: number | null = null;

  constructor(
    private readonly model: WidgetModel,
    private readonly store: RecordStore,
  ) {
    store.onChange((start, count, stride) => {
      const pending = this.pending;
      if (pending === null || !store.hasDetails(pending)) return;
      if (pending < start || (pending - start) % stride !== 0) return;
      if ((pending - start) / stride >= count) return;
      this.pending = null;
      const wish = this.next;
      this.next = null;
      if (wish !== null) this.status(wish);
    });
  }

  /**
   * Whether record `index`'s details are here; if not, keep them when they come and ask the
   * kernel (at most one request out: a newer wish waits for the pending answer).
   */
  status(index: number): DetailStatus {
    if (this.store.hasDetails(index)) return "ready";
    if (this.isStatic) return "static";
    this.store.details.want(index);
    if (this.pending === null) {
      this.pending = index;
      this.model.send({ type: "request_records", start: index, stop: index + 1 });
    } else if (this.pending !== index) this.next = index;
    return "waiting";
  }
}
