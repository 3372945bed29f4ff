import { describe, expect, it } from "vitest";
import { triangleIndex, triangleSize } from "../data/decode";
import { UNITS_CACHE_SIZE, unitsFor } from "../data/units-data";
import { mount } from "../standalone";
import { colourPosition, unitProfile } from "../views/units";
import widget from "../widget";
import { floatToBf16, MockModel, makeBlock, nextFrame, testMeta, testState } from "./helpers";

const N = 6;
const H = 8;

/** u[t, j, i]: unit (t + 3) % H is strongest for source t and reaches all the way back; the
 * others fade by 1/10 per step back. */
function fixtureUnit(t: number, j: number, i: number): number {
  const lead = (t + 3) % H;
  if (i === lead) return 4;
  return (1 + i) * 0.1 * 0.1 ** (t - j);
}

function unitsMessage(index: number) {
  const tri = triangleSize(N);
  const bits = new Uint16Array(tri * H);
  for (let t = 0; t < N; t++)
    for (let j = 0; j <= t; j++)
      for (let i = 0; i < H; i++)
        bits[triangleIndex(t, j) * H + i] = floatToBf16(fixtureUnit(t, j, i));
  const content = {
    type: "units",
    index,
    available: true,
    reason: "",
    nearest: [],
    stride: 1,
    hidden_size: H,
    seq_length: N,
    dtype: "bfloat16",
    shape: [tri, H],
  };
  return { content, buffers: [new DataView(bits.buffer)] };
}

function setup(count = 10) {
  const model = new MockModel({ _record_count: count });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const stopInit = widget.initialize({ model: model }) as () => void;
  model.sendRecords(makeBlock(0, count, N));
  const cleanup = widget.render({ model: model, el }) as () => void;
  return { model, el, cleanup, stopInit };
}

function answer(model: MockModel, index: number) {
  const { content, buffers } = unitsMessage(index);
  model.emit("msg:custom", content, buffers);
}

function unitRequests(model: MockModel): number[] {
  return model.send.mock.calls
    .map(([message]) => message)
    .filter((m) => m.type === "request_units")
    .map((m) => m.index);
}

const unitsSvg = (el: Element) =>
  el.querySelector("[data-rnnbow-view=units] svg.rnnbow-units-svg")!;
const unitsState = (el: Element) => el.querySelector(".rnnbow-units")!.getAttribute("data-state");

describe("per-unit arithmetic", () => {
  it("sorts units by total contribution and measures how far back each reaches", () => {
    const tri = triangleSize(N);
    const values = new Float32Array(tri * H);
    for (let t = 0; t < N; t++)
      for (let j = 0; j <= t; j++)
        for (let i = 0; i < H; i++) values[triangleIndex(t, j) * H + i] = fixtureUnit(t, j, i);
    const profile = unitProfile(values, H, 4);
    expect(profile.order[0]).toBe(7); // (4 + 3) % 8, constant 4 at every step
    expect(profile.order.slice(1, 3)).toEqual([6, 5]); // then by (1 + i) / 10
    expect(profile.reach[7]).toBe(4);
    expect(profile.reach[0]).toBe(2); // 0.1, 0.01, 0.001 >= 1% of 0.1; 1e-4 is not
    expect(profile.max).toBe(4);
  });

  it("maps values to the colour ramp linearly or over four decades", () => {
    expect(colourPosition(2, 4, false)).toBe(0.5);
    expect(colourPosition(0.04, 4, true)).toBeCloseTo(0.5);
    expect(colourPosition(0, 4, true)).toBe(0);
    expect(colourPosition(1e-9, 4, true)).toBe(0);
  });
});

describe("units view", () => {
  it("asks the kernel for the shown chunk and says it is waiting until the answer comes", () => {
    const { model, el } = setup();
    expect(unitRequests(model)).toEqual([9]);
    expect(unitsState(el)).toBe("waiting");
    expect(el.querySelector(".rnnbow-units-note")!.textContent).toMatch(
      /^Per-unit data of chunk 9: waiting for the kernel/,
    );
  });

  it("draws the heatmap and the top-units list from the answer", () => {
    const { model, el } = setup();
    answer(model, 9);
    expect(unitsState(el)).toBe("ready");
    const heat = unitsSvg(el);
    expect(heat.getAttribute("data-record")).toBe("9");
    expect(heat.getAttribute("data-source")).toBe("5"); // largest loss: the last step
    expect(heat.getAttribute("data-top-unit")).toBe("0"); // (5 + 3) % 8
    const items = [...el.querySelectorAll(".rnnbow-units-item")];
    expect(items).toHaveLength(5);
    expect(items[0].textContent).toMatch(/^unit #0: \d+%, reaches 5 steps back \(to step 0\)$/);
    expect(items[1].getAttribute("data-unit")).toBe("7");
    // every unit has 6 non-zero cells for t = 5
    const view = el.querySelector("[data-rnnbow-view=units]")!;
    expect(view.querySelector("canvas")).not.toBeNull();
    expect(view.querySelector("linearGradient")).not.toBeNull(); // the legend
  });

  it("hovering another source redraws the heatmap for that source", () => {
    const { model, el } = setup();
    answer(model, 9);
    const segment = el.querySelector("[data-rnnbow-view=bars] rect[data-source='2']")!;
    segment.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const heat = unitsSvg(el);
    expect(heat.getAttribute("data-source")).toBe("2");
    expect(heat.getAttribute("data-top-unit")).toBe("5"); // (2 + 3) % 8
    expect(el.querySelector(".rnnbow-units-caption")!.textContent).toMatch(
      /for the loss at step 2/,
    );
    expect(unitRequests(model)).toEqual([9]); // the same chunk: no new request
  });

  it("keeps one request out at a time and sends the latest wish after the answer", async () => {
    const { model, el } = setup();
    model.set("selected_batch", 3);
    model.set("selected_batch", 4);
    await nextFrame();
    expect(unitRequests(model)).toEqual([9]);
    answer(model, 9);
    expect(unitRequests(model)).toEqual([9, 4]);
    answer(model, 4);
    expect(unitsSvg(el).getAttribute("data-record")).toBe("4");
  });

  it("says when a chunk's units were thinned away, naming the nearest kept chunks", () => {
    const { model, el } = setup();
    model.emit(
      "msg:custom",
      {
        type: "units",
        index: 9,
        available: false,
        reason: "thinned",
        nearest: [8],
        stride: 4,
        hidden_size: H,
        shape: [21, H],
      },
      [],
    );
    expect(unitsState(el)).toBe("absent");
    expect(el.querySelector(".rnnbow-units-note")!.textContent).toBe(
      "The per-unit data of chunk 9 was not kept: to stay within its memory budget the recording " +
        "keeps every 4th chunk's (plus the newest). Nearest chunks with it: 8.",
    );
  });

  it("the toolbar toggle hides and shows the view", () => {
    const { model, el } = setup();
    answer(model, 9);
    const toggle = el.querySelector("input.rnnbow-units-toggle") as HTMLInputElement;
    const section = el.querySelector("[data-rnnbow-view=units]") as HTMLElement;
    expect(toggle.checked).toBe(true);
    expect(section.hidden).toBe(false);
    toggle.checked = false;
    toggle.dispatchEvent(new Event("change"));
    expect(section.hidden).toBe(true);
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    expect(section.hidden).toBe(false);
  });

  it("keeps only a few records' units in the browser", () => {
    const { model } = setup(20);
    for (let i = 0; i < 12; i++) answer(model, i);
    const cache = unitsFor(model);
    expect(cache.entries.size).toBe(UNITS_CACHE_SIZE);
    expect([...cache.entries.keys()]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("cleanup removes its listeners from the model and the units cache", () => {
    const model = new MockModel({ _record_count: 3 });
    const stopInit = widget.initialize({ model: model }) as () => void;
    const afterInit = model.listenerCount();
    model.sendRecords(makeBlock(0, 3, N));
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model, el }) as () => void;
    const cache = unitsFor(model);
    expect(cache.listeners.size).toBe(1);
    cleanup();
    expect(cache.listeners.size).toBe(0);
    expect(model.listenerCount()).toBe(afterInit);
    stopInit();
    expect(model.listenerCount()).toBe(0);
  });
});

describe("exported page", () => {
  it("shows the embedded record's units; says when another chunk is not in the page", async () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    const wire = makeBlock(0, 6, N);
    const block = {
      start: 0,
      count: 6,
      columns: wire.columns.map((column, i) => ({ ...column, data: wire.buffers[i] })),
    };
    const { content, buffers } = unitsMessage(5);
    const bytes = new Uint8Array(buffers[0].buffer);
    const page = mount(
      el,
      testState({
        _meta: testMeta({ seq_length: N, title: "page" }),
        selected_batch: 5,
        _record_count: 6,
      }),
      [block],
      [{ ...content, type: "units", data: bytes }],
    );
    expect(unitsSvg(el).getAttribute("data-record")).toBe("5");
    page.model.set("selected_batch", 2);
    await nextFrame();
    expect(unitsState(el)).toBe("static");
    expect(el.querySelector(".rnnbow-units-note")!.textContent).toBe(
      "Per-unit data of chunk 2 is not in this exported page " +
        "(it holds chunk 5 only; select that chunk to see it).",
    );
    expect(page.model.sent.filter((m) => (m as { type: string }).type === "request_units")).toEqual(
      [],
    );
    page.destroy();
  });
});
