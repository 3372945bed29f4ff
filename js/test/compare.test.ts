// Compared runs (RNNbow.compare): views with the same _link_group share hover, selection and scale.

import { describe, expect, it } from "vitest";
import { groupSize, positionNote } from "../app/link";
import type { Model } from "../data/model";
import widget from "../widget";
import {
  bf16ToFloat,
  floatToBf16,
  MockModel,
  makeBlock,
  nextFrame,
  type WireBlock,
} from "./helpers";

const N = 6;
const COUNT = 20;

/** A copy of a block with every magnitude multiplied by `factor`. */
function scaled(block: WireBlock, factor: number): WireBlock {
  const at = block.columns.findIndex((c) => c.name === "magnitudes");
  const source = block.buffers[at];
  const bits = new Uint16Array(
    source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength),
  );
  for (let i = 0; i < bits.length; i++) bits[i] = floatToBf16(bf16ToFloat(bits[i]) * factor);
  const buffers = [...block.buffers];
  buffers[at] = new Uint8Array(bits.buffer);
  return { ...block, buffers };
}

function mountRun(group: string, name: string, values: Partial<Model> = {}, factor = 1) {
  const model = new MockModel({
    _record_count: COUNT,
    _link_group: group,
    _link_name: name,
    linked_scale: true,
    ...values,
  });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const stopInit = widget.initialize({ model: model }) as () => void;
  const block = makeBlock(0, COUNT, N);
  model.sendRecords(factor === 1 ? block : scaled(block, factor));
  const cleanup = widget.render({ model: model, el }) as () => void;
  return { model, el, cleanup, stopInit };
}

function mouse(target: Element, type: string, clientX = 0, clientY = 50) {
  target.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX, clientY, button: 0 }));
}

function overviewX(el: Element, i: number, count: number): number {
  const width = Number(el.querySelector(".rnnbow-overview-overlay")!.getAttribute("width"));
  return 76 + ((i + 0.5) * (width - 76 - 64)) / count;
}

const info = (el: Element) => el.querySelector(".rnnbow-info")!;
const overlay = (el: Element) =>
  el.querySelector("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")!;
const horizonSource = (el: Element) =>
  el.querySelector("[data-rnnbow-view=horizon] svg")!.getAttribute("data-source");

/** Height of the tallest stacked bar in view 3 (sum of its segments), in px. */
function tallestBar(el: Element): number {
  const heights = new Map<string, number>();
  for (const rect of el.querySelectorAll("[data-rnnbow-view=bars] rect[data-source]")) {
    const j = rect.getAttribute("data-step")!;
    heights.set(j, (heights.get(j) ?? 0) + Number(rect.getAttribute("height")));
  }
  return Math.max(...heights.values());
}

describe("linked runs", () => {
  it("hover on one run's overview previews that chunk in the other, not in another group", () => {
    const a = mountRun("g-hover", "vanilla");
    const b = mountRun("g-hover", "LSTM");
    const c = mountRun("g-elsewhere", "other");
    mouse(overlay(a.el), "mousemove", overviewX(a.el, 4, COUNT));
    expect(info(a.el).getAttribute("data-shown")).toBe("4");
    expect(info(b.el).getAttribute("data-shown")).toBe("4");
    expect(info(b.el).textContent).toMatch(/^Previewing chunk 4 /);
    expect(b.el.querySelector(".rnnbow-overview-hover")!.getAttribute("visibility")).toBe(
      "visible",
    );
    expect(info(c.el).textContent).toMatch(/^Latest chunk 19 /);
    mouse(overlay(a.el), "mouseleave");
    expect(info(b.el).textContent).toMatch(/^Latest chunk 19 /);
    for (const run of [a, b, c]) run.cleanup();
  });

  it("hover on a bar segment shows the same source loss in the other run's horizon panel", () => {
    const a = mountRun("g-source", "vanilla");
    const b = mountRun("g-source", "LSTM");
    const c = mountRun("g-source-other", "other");
    expect(horizonSource(b.el)).toBe("5"); // default: the largest loss
    const segment = a.el.querySelector(
      "[data-rnnbow-view=bars] rect[data-source='2'][data-step='1']",
    )!;
    mouse(segment, "mouseover");
    expect(horizonSource(a.el)).toBe("2");
    expect(horizonSource(b.el)).toBe("2");
    expect(
      b.el.querySelectorAll("[data-rnnbow-view=bars] rect[data-highlighted=true][data-source='2']")
        .length,
    ).toBeGreaterThan(0);
    expect(horizonSource(c.el)).toBe("5");
    for (const run of [a, b, c]) run.cleanup();
  });

  it("a click selects the chunk in every run of the group and saves each model", () => {
    const a = mountRun("g-select", "vanilla");
    const b = mountRun("g-select", "LSTM");
    const c = mountRun("g-select-other", "other");
    const x = overviewX(a.el, 7, COUNT);
    mouse(overlay(a.el), "mousedown", x);
    mouse(overlay(a.el), "mouseup", x);
    expect(a.model.get("selected_batch")).toBe(7);
    expect(b.model.get("selected_batch")).toBe(7);
    expect(b.model.save_changes).toHaveBeenCalled();
    expect(b.el.querySelector(".rnnbow-root")!.getAttribute("data-selected")).toBe("7");
    expect(c.model.get("selected_batch")).toBe(-1);
    expect(c.model.save_changes).not.toHaveBeenCalled();
    // A selection set from Python on one model is not echoed by the views (Python relays it).
    b.model.save_changes.mockClear();
    a.model.set("selected_batch", 3);
    expect(b.model.get("selected_batch")).toBe(7);
    expect(b.model.save_changes).not.toHaveBeenCalled();
    for (const run of [a, b, c]) run.cleanup();
  });

  it("says when the runs' chunks cover the same text; shows the name heading", async () => {
    const a = mountRun("g-text", "vanilla");
    const b = mountRun("g-text", "LSTM");
    await nextFrame(); // the first run redraws when the second joins
    expect(info(a.el).textContent).toContain("same text (step and characters) as in LSTM");
    expect(info(b.el).textContent).toContain("same text (step and characters) as in vanilla");
    const heading = a.el.querySelector(".rnnbow-run-name") as HTMLElement;
    expect(heading.hidden).toBe(false);
    expect(heading.textContent).toBe("vanilla");
    expect((a.el.querySelector(".rnnbow-linked-scale")!.parentElement as HTMLElement).hidden).toBe(
      false,
    );
    a.cleanup();
    b.cleanup();
  });

  it("positionNote names the runs whose chunk covers other text", () => {
    const own = { step: 10, offset: 60, n: 6 };
    expect(positionNote(own, [{ name: "B", position: { step: 10, offset: 60, n: 6 } }])).toBe(
      "same text (step and characters) as in B",
    );
    expect(positionNote(own, [{ name: "B", position: { step: 10, offset: 66, n: 6 } }])).toBe(
      "B shows other text here (step 10, characters 66..72)",
    );
    expect(positionNote(own, [{ name: "B", position: null }])).toBe("B has no chunk here");
    expect(positionNote(null, [{ name: "B", position: own }])).toBe("");
  });

  it("with linked scale on, bars and horizon use the largest value over the runs", async () => {
    const a = mountRun("g-scale", "small", { selected_batch: 2 });
    const b = mountRun("g-scale", "large", { selected_batch: 2 }, 10);
    await nextFrame();
    const linkedA = tallestBar(a.el);
    const linkedB = tallestBar(b.el);
    expect(linkedA / linkedB).toBeCloseTo(0.1, 1);
    const horizonA = Math.max(
      ...[...a.el.querySelectorAll(".rnnbow-horizon-bar")].map((r) =>
        Number(r.getAttribute("height")),
      ),
    );
    const horizonB = Math.max(
      ...[...b.el.querySelectorAll(".rnnbow-horizon-bar")].map((r) =>
        Number(r.getAttribute("height")),
      ),
    );
    expect(horizonA / horizonB).toBeCloseTo(0.1, 1);
    expect(a.el.querySelector("[data-rnnbow-view=bars]")!.textContent).toContain(
      "gradient (all runs)",
    );

    // Unticking the box in one run turns the shared scale off in both.
    const box = a.el.querySelector(".rnnbow-linked-scale") as HTMLInputElement;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(a.model.get("linked_scale")).toBe(false);
    expect(b.model.get("linked_scale")).toBe(false);
    await nextFrame();
    expect(tallestBar(a.el)).toBeCloseTo(tallestBar(b.el), 0);
    a.cleanup();
    b.cleanup();
  });

  it("cleanup leaves the group and removes every listener; the other run keeps working", () => {
    const a = mountRun("g-cleanup", "vanilla");
    const b = mountRun("g-cleanup", "LSTM");
    expect(groupSize("g-cleanup")).toBe(2);
    a.cleanup();
    a.stopInit();
    expect(groupSize("g-cleanup")).toBe(1);
    expect(a.model.listenerCount()).toBe(0);
    mouse(overlay(b.el), "mousemove", overviewX(b.el, 3, COUNT));
    expect(info(b.el).textContent).toMatch(/^Previewing chunk 3 /);
    expect(info(b.el).textContent).not.toContain("same text");
    b.cleanup();
    b.stopInit();
    expect(groupSize("g-cleanup")).toBe(0);
    expect(b.model.listenerCount()).toBe(0);
  });

  it("a view without a group joins none", () => {
    const solo = mountRun("", "");
    expect(groupSize("")).toBe(0);
    expect((solo.el.querySelector(".rnnbow-run-name") as HTMLElement).hidden).toBe(true);
    expect(
      (solo.el.querySelector(".rnnbow-linked-scale")!.parentElement as HTMLElement).hidden,
    ).toBe(true);
    solo.cleanup();
  });
});
