// Whose gradient the stacked bars and the gradient horizon show (`per_example`): the whole
// batch's, or the shown sequence's own, for a batch's recording; against the mock model.
import { describe, expect, it } from "vitest";
import type { Model } from "../data/model";
import { formatGradient } from "../lib/format";
import { mount } from "../standalone";
import * as fixture from "./helpers";
import { MockModel, nextFrame, testMeta, testState, type WireBlock } from "./helpers";

const { bandBlock, exampleMagnitude, fixtureMagnitude, makeBlock, showWidget } = fixture;
const { bf16ToFloat, floatToBf16, wholeAnswer } = fixture;

const N = 6;
const PER_EXAMPLE = testMeta({ per_example: true });

function setup(block: WireBlock, values: Partial<Model> = {}) {
  const model = new MockModel({ _record_count: block.count, ...values });
  return { model, el: showWidget(model, block).el };
}

const bars = (el: Element) => el.querySelector("[data-rnnbow-view=bars]")!;
const barsSvg = (el: Element) => bars(el).querySelector("svg.rnnbow-bars-svg")!;
const control = (el: Element) => el.querySelector<HTMLSelectElement>(".rnnbow-gradient-of")!;
const legendLine = (el: Element) => el.querySelector(".rnnbow-legend-gradient-of");
const horizonTitle = (el: Element) => el.querySelector(".rnnbow-horizon-title")!.textContent ?? "";
const info = (el: Element) => el.querySelector(".rnnbow-info")!.textContent ?? "";

/** A magnitude as the browser holds it (bfloat16). */
const held = (m: typeof fixtureMagnitude, record: number, t: number, j: number) =>
  bf16ToFloat(floatToBf16(m(record, t, j)));

/** Each bar's height (the sum of its segments' values), by step. */
function stacked(el: Element, n = N): number[] {
  const totals = new Array(n).fill(0);
  for (const rect of bars(el).querySelectorAll("rect.rnnbow-segment"))
    totals[Number(rect.getAttribute("data-step"))] += Number(rect.getAttribute("data-value"));
  return totals;
}

/** Every source's magnitude summed per step (the bars with the grey "others" on). */
function columnSums(m: typeof fixtureMagnitude, record: number, n = N): number[] {
  return [...Array(n).keys()].map((j) => {
    let sum = 0;
    for (let t = j; t < n; t++) sum += held(m, record, t, j);
    return sum;
  });
}

function expectClose(got: number[], want: number[], digits = 5): void {
  expect(got).toHaveLength(want.length);
  for (const [j, value] of got.entries()) expect(value).toBeCloseTo(want[j], digits);
}

describe("a recording without per-example magnitudes", () => {
  it("has no 'gradient of' control, and its bars and legend are the batch's as ever", async () => {
    const { model, el } = setup(makeBlock(0, 3, N), { selected_batch: 1 });
    expect(control(el).closest("label")!.hidden).toBe(true);
    expect(legendLine(el)).toBeNull();
    expect(barsSvg(el).getAttribute("data-gradient-of")).toBe("");
    model.set("per_example", true); // no effect: there is nothing else to show
    await nextFrame();
    expectClose(stacked(el), columnSums(fixtureMagnitude, 1));
    expect(legendLine(el)).toBeNull();
  });
});

describe("a batch's recording of short chunks", () => {
  const block = () => makeBlock(0, 4, N, undefined, { example: true });

  it("offers the control and shows the whole batch's gradient first, saying so", () => {
    const { el } = setup(block(), { selected_batch: 2, _meta: PER_EXAMPLE });
    expect(control(el).closest("label")!.hidden).toBe(false);
    expect(control(el).value).toBe("batch");
    expect(legendLine(el)!.textContent).toBe(
      "Gradient of the whole batch (what the optimizer applies); 'gradient of' shows this " +
        "sequence's own.",
    );
    expectClose(stacked(el), columnSums(fixtureMagnitude, 2));
    expect(horizonTitle(el)).toContain(" · whole batch");
  });

  it("switches to the sequence's own from the toolbar, which writes per_example", async () => {
    const { model, el } = setup(block(), { selected_batch: 2, _meta: PER_EXAMPLE });
    control(el).value = "example";
    control(el).dispatchEvent(new Event("change"));
    expect(model.get("per_example")).toBe(true);
    expect(model.save_changes).toHaveBeenCalled();
    await nextFrame();
    expectClose(stacked(el), columnSums(exampleMagnitude, 2));
    expect(barsSvg(el).getAttribute("data-gradient-of")).toBe("example");
    expect(legendLine(el)!.textContent).toBe(
      "Gradient of this sequence's own losses (the one in the labels above), not the whole " +
        "batch's.",
    );
    // The horizon panel shows the same magnitudes: the sequence's own loss at its source t.
    expect(horizonTitle(el)).toContain(" · this sequence's own");
    const source = Number(el.querySelector(".rnnbow-horizon-svg")!.getAttribute("data-source"));
    for (const rect of el.querySelectorAll(".rnnbow-horizon-bar")) {
      const j = Number(rect.getAttribute("data-step"));
      const title = rect.querySelector("title")!.textContent ?? "";
      const value = held(exampleMagnitude, 2, source, j);
      expect(Number(title.split("|G| = ")[1])).toBeCloseTo(value, 2);
    }
  });

  it("follows the kernel's per_example, and the scales and info line follow it", async () => {
    const { model, el } = setup(block(), {
      selected_batch: 0,
      global_scale: true,
      show_others: false,
      horizon: 2,
      _meta: PER_EXAMPLE,
    });
    model.set("per_example", true);
    await nextFrame();
    expect(control(el).value).toBe("example");
    // One scale over every chunk's own bars: record 3's are the tallest, so record 0's are not.
    const axisTitle = bars(el).querySelector(".rnnbow-axis text:last-of-type")!.textContent;
    expect(axisTitle).toBe("gradient (all chunks)");
    const nearest = (record: number) =>
      Math.max(
        ...[...Array(N).keys()].map(
          (j) =>
            held(exampleMagnitude, record, j, j) +
            (j + 1 < N ? held(exampleMagnitude, record, j + 1, j) : 0),
        ),
      );
    expect(info(el)).toContain("the batch's tallest bar, all losses; this sequence's tallest");
    expect(info(el)).toContain(`with the 2 nearest only: ${formatGradient(nearest(0))})`);
    const tops = [...bars(el).querySelectorAll("rect.rnnbow-segment")].map((rect) =>
      Number(rect.getAttribute("y")),
    );
    const top = Number(bars(el).querySelector(".rnnbow-axis line")!.getAttribute("y2"));
    expect(Math.min(...tops)).toBeGreaterThan(top + 1); // below the top: not the tallest chunk
    model.set("selected_batch", 3);
    await nextFrame();
    const tops3 = [...bars(el).querySelectorAll("rect.rnnbow-segment")].map((rect) =>
      Number(rect.getAttribute("y")),
    );
    expect(Math.min(...tops3)).toBeCloseTo(top, 0);
  });
});

describe("a batch's recording of long chunks", () => {
  const n = 12;
  const longMeta = testMeta({ seq_length: n, per_example: true });
  const requests = (model: MockModel) =>
    model.send.mock.calls.map(([m]) => m).filter((m) => m.type === "request_magnitudes");

  it("asks for the shown record's own triangle and shows the batch's until it comes", async () => {
    const { model, el } = setup(bandBlock(0, 3, n), {
      selected_batch: 2,
      per_example: true,
      _meta: longMeta,
    });
    expect(requests(model)).toContainEqual({
      type: "request_magnitudes",
      index: 2,
      column: "example_magnitudes",
    });
    expect(barsSvg(el).getAttribute("data-gradient-of")).toBe("batch");
    expect(legendLine(el)!.textContent).toBe(
      "Gradient of the whole batch (what the optimizer applies): this sequence's own for chunk " +
        "2 loads when the kernel is idle (not loaded yet).",
    );
    const { content, buffer } = wholeAnswer(2, n, "example_magnitudes");
    model.emit("msg:custom", content, [new DataView(buffer.buffer)]);
    await nextFrame();
    expect(barsSvg(el).getAttribute("data-gradient-of")).toBe("example");
    expectClose(stacked(el, n), columnSums(exampleMagnitude, 2, n), 4);
    // Only this record's own are here: the bars keep their own scale.
    expect(bars(el).querySelector(".rnnbow-axis text:last-of-type")!.textContent).toBe("gradient");
  });

  it("on an exported page, holds the selected record's own and says so for the others", async () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    const block = bandBlock(0, 3, n);
    const columns = block.columns.map((c, i) => ({ ...c, data: block.buffers[i] }));
    const answers = ["magnitudes", "example_magnitudes"].map((column) => {
      const { content, buffer } = wholeAnswer(2, n, column);
      return { ...content, type: "magnitudes" as const, data: buffer };
    });
    const state = { _record_count: 3, selected_batch: 2, per_example: true, _meta: longMeta };
    const page = mount(el, testState(state), [{ start: 0, count: 3, columns }], [], answers);
    await nextFrame();
    expect(barsSvg(el).getAttribute("data-gradient-of")).toBe("example");
    expectClose(stacked(el, n), columnSums(exampleMagnitude, 2, n), 4);
    page.model.set("selected_batch", 0);
    await nextFrame();
    expect(legendLine(el)!.textContent).toBe(
      "Gradient of the whole batch (what the optimizer applies): this page holds the " +
        "sequence's own only for chunk 2.",
    );
    expect(page.model.sent).toEqual([]);
    page.destroy();
  });
});
