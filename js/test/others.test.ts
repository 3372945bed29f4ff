// The stacked bars' grey "others" segment (show_others) and the gradient-horizon panel's
// default source, against the mock model.
import { describe, expect, it } from "vitest";
import type { Model } from "../data/model";
import * as fixture from "./helpers";
import { MockModel, makeBlock, nextFrame, showWidget, type WireBlock } from "./helpers";

const { bf16ToFloat, fixtureMagnitude, floatToBf16 } = fixture;

const N = 6;

function setup(count: number, values: Partial<Model> = {}, block = makeBlock(0, count, N)) {
  const model = new MockModel({ _record_count: count, ...values });
  return { model, el: showWidget(model, block).el };
}

const bars = (el: Element) => el.querySelector("[data-rnnbow-view=bars]")!;
const horizon = (el: Element) => el.querySelector("[data-rnnbow-view=horizon]")!;
const info = (el: Element) => el.querySelector(".rnnbow-info")!.textContent ?? "";
const others = (el: Element) => [...bars(el).querySelectorAll("rect.rnnbow-others")];

/** |G[t, j]| of the fixture as the browser holds it (bfloat16). */
const magnitude = (record: number, t: number, j: number) =>
  bf16ToFloat(floatToBf16(fixtureMagnitude(record, t, j)));

/** The fixture's bar at step j stacking the sources j .. j+depth-1. */
function barTotal(record: number, j: number, depth: number): number {
  let sum = 0;
  for (let t = j; t < Math.min(N, j + depth); t++) sum += magnitude(record, t, j);
  return sum;
}

/** Each bar's stacked value, summed from its segments' data-value, by step. */
function stackedValues(el: Element): number[] {
  const totals = new Array(N).fill(0);
  for (const rect of bars(el).querySelectorAll("rect.rnnbow-segment"))
    totals[Number(rect.getAttribute("data-step"))] += Number(rect.getAttribute("data-value"));
  return totals;
}

/** The top of the bars' y scale, read from the axis: its ticks' values and positions. */
function scaleTop(el: Element): number {
  const axis = bars(el).querySelector(".rnnbow-axis")!;
  const line = axis.querySelector("line")!;
  const bottom = Number(line.getAttribute("y1"));
  const top = Number(line.getAttribute("y2"));
  const ticks = [...axis.querySelectorAll("text")]
    .slice(0, -1) // the last text is the axis title
    .map((text) => ({ value: Number(text.textContent), y: Number(text.getAttribute("y")) - 4 }));
  const [a, b] = [ticks[0], ticks[ticks.length - 1]];
  const perUnit = (a.y - b.y) / (b.value - a.value);
  return (bottom - top) / perUnit;
}

describe("the grey others segment", () => {
  it("sits on top of the k coloured segments of each bar and sums the sources beyond k", () => {
    const { el } = setup(3, { horizon: 2 });
    const grey = others(el);
    // k = 2 of n = 6: bars j = 0..3 have sources beyond k.
    expect(grey.map((r) => r.getAttribute("data-step"))).toEqual(["0", "1", "2", "3"]);
    for (const rect of grey) {
      const j = Number(rect.getAttribute("data-step"));
      expect(rect.getAttribute("data-others")).toBe(`${j + 2}-5`);
      expect(rect.getAttribute("fill")).toBe("#a3a3a3");
      expect(rect.hasAttribute("data-source")).toBe(false);
      const coloured = [...bars(el).querySelectorAll(`rect[data-source][data-step='${j}']`)];
      expect(coloured).toHaveLength(2);
      const tops = coloured.map((r) => Number(r.getAttribute("y")));
      // SVG y grows downwards: the grey segment's top is above every coloured one, and its
      // bottom is the top of the last coloured one.
      expect(Number(rect.getAttribute("y"))).toBeLessThan(Math.min(...tops));
      const bottom = Number(rect.getAttribute("y")) + Number(rect.getAttribute("height"));
      expect(bottom).toBeCloseTo(Math.min(...tops), 6);
      const value = barTotal(2, j, N) - barTotal(2, j, 2);
      expect(Number(rect.getAttribute("data-value"))).toBeCloseTo(value, 5);
    }
  });

  it("says on hover which losses it sums", () => {
    const { el } = setup(3, { horizon: 2 });
    const [first, , , last] = others(el);
    expect(first.querySelector("title")!.textContent).toMatch(
      /^step 0: others, the sum from the 4 losses at 2\.\.5 \(2 to 5 later\), \|G\| = /,
    );
    expect(last.querySelector("title")!.textContent).toMatch(
      /^step 3: others, the sum from the loss at 5 \(2 later\), \|G\| = /,
    );
  });

  it("makes each bar the step's whole gradient, as the overview's max gradient sums it", () => {
    const { el } = setup(3, { horizon: 2 });
    const values = stackedValues(el);
    for (let j = 0; j < N; j++) expect(values[j]).toBeCloseTo(barTotal(2, j, N), 5);
  });

  it("is in the legend while it is shown", async () => {
    const { el, model } = setup(3, { horizon: 2 });
    const legend = () => bars(el).querySelector(".rnnbow-legend-others");
    expect(legend()!.textContent).toContain("all the losses 2 or more characters later");
    model.set("show_others", false);
    await nextFrame();
    expect(legend()).toBeNull();
  });

  it("is switched off and on by the toolbar, which writes show_others", async () => {
    const { el, model } = setup(3, { horizon: 2 });
    const toggle = el.querySelector(".rnnbow-others-toggle") as HTMLInputElement;
    expect(toggle.checked).toBe(true);
    toggle.click();
    expect(model.get("show_others")).toBe(false);
    expect(model.save_changes).toHaveBeenCalled();
    await nextFrame();
    expect(others(el)).toHaveLength(0);
    const values = stackedValues(el);
    for (let j = 0; j < N; j++) expect(values[j]).toBeCloseTo(barTotal(2, j, 2), 5);
    toggle.click();
    expect(model.get("show_others")).toBe(true);
    await nextFrame();
    expect(others(el)).toHaveLength(4);
  });

  it("follows show_others set by the kernel", async () => {
    const { el, model } = setup(3, { horizon: 2, show_others: false });
    expect(others(el)).toHaveLength(0);
    expect((el.querySelector(".rnnbow-others-toggle") as HTMLInputElement).checked).toBe(false);
    model.set("show_others", true);
    await nextFrame();
    expect(others(el)).toHaveLength(4);
  });

  it("draws no grey segment where k already reaches every later loss", () => {
    const { el } = setup(3, { horizon: N });
    expect(others(el)).toHaveLength(0);
  });

  it("is counted in the global scale: the tallest bar over every chunk, all losses", async () => {
    // Record 5 has the largest fixture factor (1 + 5 % 7); record 0 is shown.
    const { el, model } = setup(6, { horizon: 2, global_scale: true, selected_batch: 0 });
    const tallest = (depth: number) =>
      Math.max(...[...Array(N).keys()].map((j) => barTotal(5, j, depth)));
    expect(scaleTop(el)).toBeCloseTo(tallest(N), 4);
    model.set("show_others", false);
    await nextFrame();
    expect(scaleTop(el)).toBeCloseTo(tallest(2), 4);
  });
});

describe("the info line's max gradient", () => {
  it("says it sums all losses, and gives the k stacked bars' tallest when others are off", async () => {
    const { el, model } = setup(3, { horizon: 2 });
    // makeBlock's max_gradient column of record 2 is 3.
    expect(info(el)).toContain("max gradient 3 (tallest bar, all losses) · loss ");
    model.set("show_others", false);
    await nextFrame();
    const stacked = Math.max(...[...Array(N).keys()].map((j) => barTotal(2, j, 2)));
    expect(info(el)).toContain(
      `max gradient 3 (tallest bar, all losses; with the 2 nearest only: ${Number(stacked.toPrecision(3))})`,
    );
  });
});

/** `block` with the per-step losses of every record replaced by `losses`. */
function withLosses(block: WireBlock, losses: number[]): WireBlock {
  const column = block.columns.findIndex((c) => c.name === "losses");
  const buffer = block.buffers[column];
  const bits = new Uint16Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 2);
  for (let i = 0; i < bits.length; i++) bits[i] = floatToBf16(losses[i % losses.length]);
  return block;
}

describe("the gradient horizon's first source", () => {
  // The largest losses at steps 0 and 1: a panel opening there would show one or two bars.
  const LOSSES = [9, 8, 0.5, 1, 3, 2];

  it("is the largest loss with at least min(k, n/2) steps behind it", () => {
    const { el } = setup(3, { horizon: 5 }, withLosses(makeBlock(0, 3, N), LOSSES));
    const panel = horizon(el);
    // min(5, 6/2) = 3 steps behind: the candidates are t = 3, 4, 5; the largest loss is at 4.
    expect(panel.querySelector("svg")!.getAttribute("data-source")).toBe("4");
    expect(panel.querySelectorAll(".rnnbow-horizon-bar")).toHaveLength(5);
    expect(panel.querySelector(".rnnbow-horizon-title")!.textContent).toMatch(
      /^Largest loss with ≥ 3 steps behind it, at step 4 /,
    );
    expect(panel.querySelector(".rnnbow-horizon-stats")!.textContent).toContain(
      "Shown first: the largest loss among the steps with at least 3 steps before them",
    );
  });

  it("depends on k, and a hovered loss replaces it until the pointer leaves", async () => {
    const { el, model } = setup(3, { horizon: 1 }, withLosses(makeBlock(0, 3, N), LOSSES));
    const source = () => horizon(el).querySelector("svg")!.getAttribute("data-source");
    expect(source()).toBe("1"); // min(1, 3) = 1 step behind: t >= 1, the largest loss is at 1
    const segment = bars(el).querySelector("rect[data-source='3'][data-step='3']")!;
    segment.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(source()).toBe("3");
    bars(el).querySelector("svg")!.dispatchEvent(new MouseEvent("mouseleave"));
    expect(source()).toBe("1");
    model.set("horizon", 4);
    await nextFrame();
    expect(source()).toBe("4"); // min(4, 3) = 3 steps behind
  });

  it("writes one step in the singular", () => {
    const { el } = setup(3, { horizon: 1 }, withLosses(makeBlock(0, 3, N), LOSSES));
    const panel = horizon(el);
    const stats = panel.querySelector(".rnnbow-horizon-stats")!.textContent ?? "";
    expect(stats).toContain("(geometric mean over 1 step).");
    expect(stats).toContain("all the way to the start of the chunk (1 step).");
    expect(stats).toContain("with at least 1 step before them");
    expect(stats).not.toMatch(/\b1 steps\b/);
    const titles = [...panel.querySelectorAll(".rnnbow-horizon-bar title")].map(
      (t) => t.textContent,
    );
    expect(titles[0]).toMatch(/^1 step back \(step 0\)/);
    expect(panel.querySelector(".rnnbow-horizon-title")!.textContent).toMatch(
      /^Largest loss with ≥ 1 step behind it, at step 1 /,
    );
  });
});
