// A minimal in-page stand-in for an anywidget model (get / set / on / off / save_changes / send),
// fed from saved trait values. Used by the standalone page and the exported HTML.
import type { Model, WidgetModel } from "./model";

/** Any listener (anywidget types them per event); emit() passes what the event carries. */
type Handler = (...args: never[]) => void;

export class PageModel implements WidgetModel {
  private readonly values: Model;
  private readonly previousValues: Partial<Model> = {};
  private readonly handlers = new Map<string, Set<Handler>>();
  /** Messages the views sent to the (absent) kernel. */
  readonly sent: unknown[] = [];
  // Part of AnyModel; there is no widget manager on a static page.
  readonly widget_manager = {
    get_model: () => Promise.reject(new Error("no widget manager on a static page")),
  };

  constructor(state: Model) {
    this.values = { ...state };
  }

  get<K extends keyof Model>(name: K): Model[K] {
    return this.values[name];
  }

  previous<K extends keyof Model>(name: K): Model[K] | undefined {
    return this.previousValues[name];
  }

  set<K extends keyof Model>(name: K, value: Model[K]): void {
    const old = this.values[name];
    if (old === value) return;
    this.previousValues[name] = old;
    this.values[name] = value;
    this.emit(`change:${name}`, this, value);
  }

  on(event: string, handler: Handler): void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    if (!event) {
      this.handlers.clear();
      return;
    }
    if (!handler) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(handler);
  }

  save_changes(): void {
    // Nothing to sync with: the values live in this page only.
  }

  send(content: unknown): void {
    this.sent.push(content);
  }

  /** Deliver a custom message as the kernel would. */
  emit(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      (handler as (...args: unknown[]) => void)(...args);
    }
  }
}
