// The standalone page (exported HTML, the offline demo): mounted with the complete view state.
import { describe, expect, it } from "vitest";
import { mount } from "../standalone";
import { makeBlock, testState } from "./helpers";

const N = 6;

function blocksOf(count: number) {
  const wire = makeBlock(0, count, N);
  const columns = wire.columns.map((column, i) => ({ ...column, data: wire.buffers[i] }));
  return [{ start: 0, count, columns }];
}

describe("standalone mount", () => {
  it("draws the views from the state and blocks it is given", () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    const page = mount(el, testState({ _record_count: 12, selected_batch: 3 }), blocksOf(12));
    expect(el.querySelector("[data-rnnbow-view=overview]")!.getAttribute("data-records")).toBe(
      "12",
    );
    expect(el.querySelector(".rnnbow-info")!.textContent).toMatch(/^Selected chunk 3 of 12 /);
    expect(document.querySelectorAll("style[data-rnnbow-style]")).toHaveLength(1);
    page.destroy();
  });

  it("refuses a state that lacks traits, naming them, instead of inventing defaults", () => {
    const el = document.createElement("div");
    const { horizon: _h, _meta: _m, ...partial } = testState();
    expect(() => mount(el, partial, blocksOf(2))).toThrow(
      "rnnbow: the state lacks horizon, _meta (pass every synced trait)",
    );
    expect(() => mount(el, undefined, [])).toThrow(/the state must be an object/);
    expect(el.childElementCount).toBe(0);
  });
});
