// The overview's axes: chunks in training order on x (steps named on hover), plain tick labels,
// the scale shared by compared runs, and double-click zooming out without selecting.

import { describe, expect, it } from "vitest";
import type { Model } from "../data/model";
import { axisGradientFormat } from "../lib/format";
import { DOUBLE_CLICK_MS } from "../views/overview";
import widget from "../widget";
import { MockModel, makeBlock, nextFrame, type WireBlock } from "./helpers";

const N = 6;

/** A copy of a block with one-value-per-record column `name` set to `value(record)`. */
function withColumn(block: WireBlock, name: string, value: (record: number) => number): WireBlock {
  const at = block.columns.findIndex((c) => c.name === name);
  const source = block.buffers[at];
  const bytes = source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
  const values =
    block.columns[at].dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
  for (let r = 0; r < block.count; r++) values[r] = value(block.start + r);
  const buffers = [...block.buffers];
  buffers[at] = new Uint8Array(bytes);
  return { ...block, buffers };
}

function mount(block: WireBlock, values: Partial<Model> = {}) {
  const model = new MockModel({ _record_count: block.count, ...values });
  const el = document.createElement("div");
  document.body.appendChild(el);
  widget.initialize({ model: model });
  model.sendRecords(block);
  widget.render({ model: model, el });
  return { model, el };
}

function mouse(target: Element, type: string, clientX = 0, detail = 1) {
  target.dispatchEvent(
    new MouseEvent(type, { bubbles: true, clientX, clientY: 50, button: 0, detail }),
  );
}

const overlay = (el: Element) => el.querySelector("svg.rnnbow-overview-overlay")!;
const info = (el: Element) => el.querySelector(".rnnbow-info")!.textContent ?? "";
const hoverLabel = (el: Element) => el.querySelector(".rnnbow-overview-hover-label")!;
const xTitle = (el: Element) => el.querySelector(".rnnbow-overview-x-title")!.textContent ?? "";

/** x (px) of the middle of column c of `columns` in the overview's plot. */
function columnX(el: Element, c: number, columns: number): number {
  const width = Number(overlay(el).getAttribute("width"));
  return 76 + ((c + 0.5) * (width - 76 - 64)) / columns;
}

/** The x axis's tick labels: [x, text, record] each. */
function ticks(el: Element): { x: number; text: string; record: number }[] {
  return [...el.querySelectorAll(".rnnbow-overview-ticks text")].map((text) => ({
    x: Number(text.getAttribute("x")),
    text: text.textContent ?? "",
    record: Number(text.getAttribute("data-record")),
  }));
}

/** The tick labels of the overview's value axis on `side` (its title left out). */
function valueTicks(el: Element, side: "left" | "right"): string[] {
  const axes = overlay(el).querySelectorAll(".rnnbow-axis");
  const texts = [...axes[side === "left" ? 0 : 1].querySelectorAll("text")];
  return texts.slice(0, -1).map((text) => text.textContent ?? "");
}

/** Steps as trainer.train(3000) with record_every=200, then five trainer.step() calls. */
const offSchedule = (record: number) => (record < 15 ? record * 200 : 3001 + (record - 15));

describe("the overview's x axis: recorded chunks in training order", () => {
  it("labels ticks by chunk, under the bar of that chunk, and names the step on hover", () => {
    const { el } = mount(withColumn(makeBlock(0, 20, N), "step", offSchedule));
    const labels = ticks(el);
    expect(labels.length).toBeGreaterThan(1);
    for (const tick of labels) {
      expect(tick.text).toBe(String(tick.record)); // a chunk index, never a step
      mouse(overlay(el), "mousemove", tick.x);
      expect(info(el)).toMatch(new RegExp(`^Previewing chunk ${tick.record} `));
    }
    expect(xTitle(el)).toBe("recorded chunk, in training order · steps 0–3,005");

    mouse(overlay(el), "mousemove", columnX(el, 16, 20));
    expect(hoverLabel(el).textContent).toBe("chunk 16 · step 3,002");
    expect(hoverLabel(el).getAttribute("visibility")).toBe("visible");
    expect(el.querySelector(".rnnbow-overview-ticks")!.getAttribute("visibility")).toBe("hidden");
    mouse(overlay(el), "mouseleave");
    expect(hoverLabel(el).getAttribute("visibility")).toBe("hidden");
    expect(el.querySelector(".rnnbow-overview-ticks")!.hasAttribute("visibility")).toBe(false);
  });

  it("with more chunks than pixels, a column names all its chunks and steps", () => {
    const count = 5000;
    const step = (record: number) => (record < 4000 ? record * 100 : 400_000 + record);
    const { el } = mount(withColumn(makeBlock(0, count, N), "step", step));
    const columns = Number(overlay(el).getAttribute("width")) - 76 - 64;
    expect(columns).toBeLessThan(count);
    for (const tick of ticks(el)) {
      mouse(overlay(el), "mousemove", tick.x);
      const [, a, b] = /^chunks ([\d,]+)–([\d,]+) · steps /.exec(hoverLabel(el).textContent!)!;
      const [first, last] = [a, b].map((v) => Number(v.replace(/,/g, "")));
      expect(tick.record).toBeGreaterThanOrEqual(first);
      expect(tick.record).toBeLessThanOrEqual(last);
      expect(hoverLabel(el).textContent).toContain(
        `steps ${step(first).toLocaleString("en-US")}–${step(last).toLocaleString("en-US")}`,
      );
      const shown = Number(/^Previewing chunk ([\d,]+) /.exec(info(el))![1].replace(/,/g, ""));
      expect(shown).toBeGreaterThanOrEqual(first);
      expect(shown).toBeLessThanOrEqual(last);
    }
  });
});

describe("tick labels are plain numbers", () => {
  it("formats values by the axis's top", () => {
    expect([0, 20, 100, 140].map(axisGradientFormat(140))).toEqual(["0", "20", "100", "140"]);
    expect([0, 20_000, 40_000].map(axisGradientFormat(45_000))).toEqual(["0", "20,000", "40,000"]);
    expect([0.001, 0.0025].map(axisGradientFormat(0.003))).toEqual(["0.001", "0.0025"]);
    expect([0, 500_000, 1_500_000].map(axisGradientFormat(2e6))).toEqual(["0", "0.5M", "1.5M"]);
    expect([0, 2e-6].map(axisGradientFormat(3e-6))).toEqual(["0", "2e-6"]);
  });

  it("draws the overview's value axis without exponents", () => {
    const { el } = mount(withColumn(makeBlock(0, 20, N), "max_gradient", (r) => 20 * (1 + r)));
    const labels = valueTicks(el, "left");
    expect(labels).toContain("100");
    expect(labels.join(" ")).not.toMatch(/e[+-]?\d/);
  });
});

describe("compared runs share the overview's scale", () => {
  /** Two linked runs: the second's gradients `factor` and its losses twice the first's. */
  function mountPair(group: string, factor: number) {
    const runs = [1, factor].map((f, i) => {
      let block = withColumn(makeBlock(0, 20, N), "max_gradient", (r) => f * (1 + (r % 7)));
      block = withColumn(block, "smooth_loss", () => (i + 1) * 1.5);
      return mount(block, { _link_group: group, _link_name: `run ${i}`, linked_scale: true });
    });
    return runs;
  }

  it("gives both overviews one value axis and one loss axis while linked_scale is on", async () => {
    const [a, b] = mountPair("g-overview-scale", 20);
    await nextFrame(); // the first run redraws when the second joins
    expect(valueTicks(a.el, "left")).toEqual(valueTicks(b.el, "left"));
    expect(valueTicks(a.el, "left")).toContain("100");
    expect(valueTicks(a.el, "right")).toEqual(valueTicks(b.el, "right"));
    expect(overlay(a.el).querySelector(".rnnbow-axis text:last-child")!.textContent).toBe(
      "max gradient (all runs)",
    );

    for (const run of [a, b]) run.model.set("linked_scale", false);
    await nextFrame();
    expect(valueTicks(a.el, "left")).not.toContain("100");
    expect(valueTicks(b.el, "left")).toContain("100");
    expect(valueTicks(a.el, "right")).not.toEqual(valueTicks(b.el, "right"));
  });
});

describe("double-click zooms out without changing the selection", () => {
  /** Zoom into records 2..6 of 20 by dragging. */
  function zoomed() {
    const run = mount(makeBlock(0, 20, N));
    mouse(overlay(run.el), "mousedown", columnX(run.el, 2, 20));
    mouse(overlay(run.el), "mousemove", columnX(run.el, 6, 20));
    mouse(overlay(run.el), "mouseup", columnX(run.el, 6, 20));
    expect(xTitle(run.el)).toMatch(/^recorded chunks 2–6 .*double-click to show all/);
    return run;
  }

  /** A real double-click: two mousedown/mouseup/click rounds (detail 1, 2), then dblclick. */
  function doubleClick(target: Element, x: number) {
    for (const detail of [1, 2]) {
      for (const type of ["mousedown", "mouseup", "click"]) mouse(target, type, x, detail);
    }
    mouse(target, "dblclick", x, 2);
  }

  it("keeps the selection and shows every chunk again", async () => {
    const { el, model } = zoomed();
    model.set("selected_batch", 11);
    doubleClick(overlay(el), columnX(el, 1, 5));
    await new Promise((resolve) => setTimeout(resolve, DOUBLE_CLICK_MS + 100));
    expect(model.get("selected_batch")).toBe(11);
    expect(xTitle(el)).toMatch(/^recorded chunk, in training order/);
  });

  it("still selects on a single click while zoomed", async () => {
    const { el, model } = zoomed();
    const x = columnX(el, 1, 5);
    for (const type of ["mousedown", "mouseup", "click"]) mouse(overlay(el), type, x);
    await new Promise((resolve) => setTimeout(resolve, DOUBLE_CLICK_MS + 100));
    expect(model.get("selected_batch")).toBe(3);
  });
});
