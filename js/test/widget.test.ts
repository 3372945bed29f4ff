import { describe, expect, it } from "vitest";
import { EMPTY_MESSAGE } from "../app/app";
import type { Model } from "../data/model";
import widget from "../widget";
import { MockModel, makeBlock, nextFrame, testMeta } from "./helpers";

const N = 6;

function setup(count = 20, values: Partial<Model> = {}) {
  const model = new MockModel({ _record_count: count, ...values });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const stopInit = widget.initialize({ model: model }) as () => void;
  if (count > 0) model.sendRecords(makeBlock(0, count, N));
  const cleanup = widget.render({ model: model, el }) as () => void;
  return { model, el, cleanup, stopInit };
}

/** The request_records messages sent (the units view also sends request_units). */
function recordRequests(model: MockModel): unknown[] {
  return model.send.mock.calls
    .map(([message]) => message)
    .filter((message) => message.type === "request_records");
}

function view(el: Element, name: string): Element {
  const found = el.querySelector(`[data-rnnbow-view=${name}]`);
  if (!found) throw new Error(`no ${name} view`);
  return found;
}

function mouse(target: Element, type: string, clientX = 0, clientY = 50) {
  target.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX, clientY, button: 0 }));
}

/**
 * x (px) of the middle of the overview column that holds record i (jsdom width falls back to
 * 860).
 */
function overviewX(el: Element, i: number, count: number): number {
  const width = Number(el.querySelector(".rnnbow-overview-overlay")!.getAttribute("width"));
  const plot = width - 76 - 64;
  return 76 + ((i + 0.5) * plot) / count;
}

describe("rendering from records", () => {
  it("draws all four views for the latest record when nothing is selected", () => {
    const { el } = setup(20);
    expect(view(el, "overview").getAttribute("data-records")).toBe("20");
    expect(view(el, "labels").querySelectorAll("text.rnnbow-label-true")).toHaveLength(N);
    expect(view(el, "labels").querySelectorAll("text.rnnbow-label-predicted")).toHaveLength(N);
    // k = 5 sources per bar, fewer in the last four bars: 5 + 5 + 4 + 3 + 2 + 1
    expect(view(el, "bars").querySelectorAll("rect[data-source]")).toHaveLength(20);
    // the default horizon is the largest loss, the last step (t = 5): bars j = 0..5
    expect(view(el, "horizon").querySelector("svg")!.getAttribute("data-source")).toBe("5");
    expect(view(el, "horizon").querySelectorAll(".rnnbow-horizon-bar")).toHaveLength(6);
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(
      /^Latest chunk 19 of 20 · step 190 · characters 114\.\.120/,
    );
  });

  it("shows a friendly message instead of the views when there are no records", () => {
    const { el } = setup(0);
    const empty = el.querySelector(".rnnbow-empty") as HTMLElement;
    expect(empty.hidden).toBe(false);
    expect(empty.textContent).toBe(EMPTY_MESSAGE);
    expect((el.querySelector(".rnnbow-main") as HTMLElement).hidden).toBe(true);
  });

  it("marks wrong predictions with an underline as well as colour", () => {
    const { el } = setup(3);
    const predicted = [...view(el, "labels").querySelectorAll("text.rnnbow-label-predicted")];
    const wrong = predicted.filter((t) => t.getAttribute("data-correct") === "false");
    expect(wrong).toHaveLength(3); // odd positions are wrong in the fixture
    expect(view(el, "labels").querySelectorAll("line")).toHaveLength(3);
    expect(wrong[0].getAttribute("fill")).not.toBe(predicted[0].getAttribute("fill"));
  });

  it("stacks the step's own loss at the bottom in the darkest colour", () => {
    const { el } = setup(3, { horizon: 3 });
    const bar = [...view(el, "bars").querySelectorAll("rect[data-source][data-step='0']")];
    expect(bar.map((r) => r.getAttribute("data-source"))).toEqual(["0", "1", "2"]);
    const ys = bar.map((r) => Number(r.getAttribute("y")));
    expect(ys[0]).toBeGreaterThan(ys[1]);
    expect(ys[1]).toBeGreaterThan(ys[2]);
    const lightness = (rgb: string) =>
      rgb
        .match(/\d+/g)!
        .map(Number)
        .reduce((a, b) => a + b, 0);
    const fills = bar.map((r) => lightness(r.getAttribute("data-fill")!));
    expect(fills[0]).toBeLessThan(fills[1]);
    expect(fills[1]).toBeLessThan(fills[2]);
  });
});

describe("interaction", () => {
  it("hovering a segment shows its source in the horizon, highlights it, shades its labels", () => {
    const { el } = setup(5);
    const segment = view(el, "bars").querySelector("rect[data-source='3'][data-step='2']")!;
    mouse(segment, "mouseover");
    const horizon = view(el, "horizon");
    expect(horizon.querySelector("svg")!.getAttribute("data-source")).toBe("3");
    expect(horizon.querySelectorAll(".rnnbow-horizon-bar")).toHaveLength(4);
    const highlighted = [...view(el, "bars").querySelectorAll("rect[data-highlighted=true]")];
    expect(highlighted.map((r) => r.getAttribute("data-source"))).toEqual(["3", "3", "3", "3"]);
    expect(
      view(el, "labels").querySelector(".rnnbow-label-shade")!.getAttribute("data-source"),
    ).toBe("3");
    mouse(view(el, "bars").querySelector("svg")!, "mouseleave");
    expect(horizon.querySelector("svg")!.getAttribute("data-source")).toBe("5");
  });

  it("clicking a bar of the overview selects that chunk through the model", () => {
    const { el, model } = setup(20);
    const overlay = el.querySelector(".rnnbow-overview-overlay")!;
    const x = overviewX(el, 7, 20);
    mouse(overlay, "mousedown", x);
    mouse(overlay, "mouseup", x);
    expect(model.get("selected_batch")).toBe(7);
    expect(model.save_changes).toHaveBeenCalled();
    expect(el.querySelector(".rnnbow-root")!.getAttribute("data-selected")).toBe("7");
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Selected chunk 7 /);
  });

  it("hovering the overview previews a chunk without selecting it", () => {
    const { el, model } = setup(20);
    const overlay = el.querySelector(".rnnbow-overview-overlay")!;
    mouse(overlay, "mousemove", overviewX(el, 4, 20));
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Previewing chunk 4 /);
    expect(model.get("selected_batch")).toBe(-1);
    mouse(overlay, "mouseleave");
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Latest chunk 19 /);
  });

  it("dragging across the overview zooms into that range and a double-click resets it", () => {
    const { el, model } = setup(20);
    const overlay = el.querySelector(".rnnbow-overview-overlay")!;
    mouse(overlay, "mousedown", overviewX(el, 2, 20));
    mouse(overlay, "mousemove", overviewX(el, 6, 20));
    mouse(overlay, "mouseup", overviewX(el, 6, 20));
    expect(model.get("selected_batch")).toBe(-1);
    // zoomed to records 2..6: record 4 now sits in the middle of the plot
    mouse(overlay, "mousemove", overviewX(el, 2, 5));
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Previewing chunk 4 /);
    mouse(overlay, "dblclick");
    mouse(overlay, "mousemove", overviewX(el, 2, 20));
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Previewing chunk 2 /);
  });

  it("follows selected_batch changes made by the kernel", () => {
    const { el, model } = setup(20);
    model.set("selected_batch", 11);
    expect(el.querySelector(".rnnbow-root")!.getAttribute("data-selected")).toBe("11");
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(
      /^Selected chunk 11 of 20 · step 110 /,
    );
  });

  it("moves the selection with the arrow keys", () => {
    const { el, model } = setup(20, { selected_batch: 5 });
    const root = el.querySelector(".rnnbow-root")!;
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(model.get("selected_batch")).toBe(6);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(model.get("selected_batch")).toBe(4);
  });

  it("redraws the bars when the horizon k changes, and the toolbar writes k back", async () => {
    const { el, model } = setup(3);
    model.set("horizon", 2);
    await nextFrame();
    expect(view(el, "bars").querySelectorAll("rect[data-source]")).toHaveLength(11); // 2*5 + 1
    const number = el.querySelector(".rnnbow-horizon-number") as HTMLInputElement;
    expect(number.value).toBe("2");
    number.value = "4";
    number.dispatchEvent(new Event("change"));
    expect(model.get("horizon")).toBe(4);
  });

  it("shows the reading guidance when show_help is on", async () => {
    const { el, model } = setup(3);
    const help = [...el.querySelectorAll(".rnnbow-help")] as HTMLElement[];
    expect(help).toHaveLength(5); // four views and the per-unit drilldown
    expect(help.every((p) => p.hidden)).toBe(true);
    (el.querySelector(".rnnbow-help-toggle") as HTMLButtonElement).click();
    expect(model.get("show_help")).toBe(true);
    await nextFrame();
    expect(help.every((p) => !p.hidden)).toBe(true);
  });
});

describe("record details beyond the browser's budget", () => {
  // 100 records' details at n = 6 (78 bytes each): the newest 50, every 64th older one
  const budget = { details_budget_mb: (100 * 78) / 2 ** 20, _meta: testMeta({ detail_bytes: 78 }) };

  it("asks the kernel for the thinned history, then for a record shown without details", async () => {
    const { model, el } = setup(0, { _record_count: 2000, ...budget });
    expect(recordRequests(model)).toEqual([
      { type: "request_records", start: 0, detail_from: 1950, detail_stride: 64 },
    ]);
    model.sendRecords(makeBlock(0, 2000, N)); // the store keeps what its plan keeps
    model.set("selected_batch", 100);
    await nextFrame();
    const missing = el.querySelector(".rnnbow-missing") as HTMLElement;
    expect(missing.hidden).toBe(false);
    expect(missing.textContent).toMatch(
      /^Chunk 100's labels and gradients are not loaded yet: .* the newest 50 chunks and every 64th older one\. Asked the kernel/,
    );
    // the overview and the info line still have the record's summary
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(
      /^Selected chunk 100 of 2,000 · step 1,000/,
    );
    expect(recordRequests(model).slice(-1)[0]).toEqual({
      type: "request_records",
      start: 100,
      stop: 101,
    });
    model.sendRecords(makeBlock(100, 1, N)); // the kernel's answer
    await nextFrame();
    expect(missing.hidden).toBe(true);
    expect(view(el, "labels").querySelectorAll("text.rnnbow-label-true")).toHaveLength(N);
  });

  it("sends one request at a time, then the latest wish", async () => {
    const { model } = setup(0, { _record_count: 2000, ...budget });
    model.sendRecords(makeBlock(0, 2000, N));
    for (const index of [101, 102, 103]) {
      model.set("selected_batch", index);
      await nextFrame();
    }
    const asked = () => recordRequests(model).filter((m) => (m as { stop?: number }).stop);
    expect(asked()).toEqual([{ type: "request_records", start: 101, stop: 102 }]);
    model.sendRecords(makeBlock(101, 1, N));
    expect(asked().slice(-1)[0]).toEqual({ type: "request_records", start: 103, stop: 104 });
  });
});

describe("records arriving", () => {
  it("keeps records sent before any view and asks the kernel only for what is missing", () => {
    const model = new MockModel({ _record_count: 30 });
    widget.initialize({ model: model });
    model.sendRecords(makeBlock(0, 10, N));
    const el = document.createElement("div");
    widget.render({ model: model, el });
    expect(view(el, "overview").getAttribute("data-records")).toBe("10");
    expect(recordRequests(model)).toHaveLength(1);
    // everything from the first gap on; every record's details, as they fit the budget
    expect(model.send).toHaveBeenCalledWith({
      type: "request_records",
      start: 10,
      detail_from: 0,
      detail_stride: 1,
    });
  });

  it("asks for nothing when the store already holds every record", () => {
    const { model } = setup(20);
    expect(recordRequests(model)).toEqual([]);
  });

  it("appends live records, redraws, and keeps showing the latest one", async () => {
    const { el, model } = setup(5);
    model.set("_record_count", 8);
    model.sendRecords(makeBlock(5, 3, N));
    await nextFrame();
    expect(view(el, "overview").getAttribute("data-records")).toBe("8");
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Latest chunk 7 of 8/);
    // records up to the previous count were all there: no request for the new ones
    expect(recordRequests(model)).toEqual([]);
  });

  it("keeps the selection when new records arrive", async () => {
    const { el, model } = setup(5, { selected_batch: 2 });
    model.sendRecords(makeBlock(5, 3, N));
    await nextFrame();
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Selected chunk 2 /);
  });

  it("shares one store between two displays of the same model", () => {
    const { model } = setup(12);
    const second = document.createElement("div");
    widget.render({ model: model, el: second });
    expect(view(second, "overview").getAttribute("data-records")).toBe("12");
    expect(recordRequests(model)).toEqual([]);
  });
});

describe("safety and isolation", () => {
  it("renders HTML-looking corpus text as text and creates no script or img elements", () => {
    const model = new MockModel({
      _record_count: 1,
      _meta: testMeta({
        seq_length: 6,
        vocab: ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "a"],
      }),
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    widget.initialize({ model: model });
    const block = makeBlock(0, 1, N);
    block.buffers[10] = new Uint8Array(Uint16Array.from([0, 1, 2, 0, 1, 2]).buffer); // targets
    block.buffers[11] = new Uint8Array(Uint16Array.from([1, 0, 2, 1, 0, 2]).buffer); // predictions
    model.sendRecords(block);
    widget.render({ model: model, el });
    const texts = [...view(el, "labels").querySelectorAll("text.rnnbow-label-true")];
    // long tokens are drawn shortened, and kept whole (as text) for the hover
    expect(texts[0].querySelector("title")?.textContent).toBe("<script>alert(1)</script>");
    expect(texts[1].querySelector("title")?.textContent).toBe("<img␣src=x␣onerror=alert(1)>"); // whitespace shown
    expect(el.querySelectorAll("script, img")).toHaveLength(0);
    expect(el.innerHTML).not.toContain("<img src");
  });

  it("cleanup removes every listener it added to the model", () => {
    const { model, cleanup, stopInit, el } = setup(5);
    // initialize's msg:custom (records, units, whole triangles of the batch and of the shown
    // sequence), change:_record_count, change:details_budget_mb and change:_meta (the store's
    // budget)
    const afterInit = 7;
    expect(model.listenerCount()).toBeGreaterThan(afterInit);
    cleanup();
    expect(model.listenerCount()).toBe(afterInit);
    expect(el.querySelector(".rnnbow-root")).toBeNull();
    stopInit();
    expect(model.listenerCount()).toBe(0);
    expect(model.offCalls).toBe(model.onCalls);
  });

  it("cleanup removes its DOM listeners (a detached view ignores events)", () => {
    const { el, cleanup, model } = setup(5);
    const overlay = el.querySelector(".rnnbow-overview-overlay")!;
    const root = el.querySelector(".rnnbow-root")!;
    const x = overviewX(el, 2, 5);
    cleanup();
    mouse(overlay, "mousedown", x);
    mouse(overlay, "mouseup", x);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(model.save_changes).not.toHaveBeenCalled();
  });

  it("two widgets on one page work independently", () => {
    const a = setup(10);
    const b = setup(10);
    const overlay = a.el.querySelector(".rnnbow-overview-overlay")!;
    mouse(overlay, "mousedown", overviewX(a.el, 3, 10));
    mouse(overlay, "mouseup", overviewX(a.el, 3, 10));
    expect(a.model.get("selected_batch")).toBe(3);
    expect(b.model.get("selected_batch")).toBe(-1);
    expect(b.el.querySelector(".rnnbow-root")!.getAttribute("data-selected")).toBe("-1");
    mouse(view(b.el, "bars").querySelector("rect[data-source='2']")!, "mouseover");
    expect(view(b.el, "horizon").querySelector("svg")!.getAttribute("data-source")).toBe("2");
    expect(view(a.el, "horizon").querySelector("svg")!.getAttribute("data-source")).toBe("5");
  });
});
