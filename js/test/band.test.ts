// Long chunks: records carrying the band of the K nearest sources and the sums beyond it instead
// of the whole triangle (docs/data-contract.md), against the mock model. K comes from the band's
// shape, so the fixture uses a small one (K = 4 at n = 12).
import { describe, expect, it, vi } from "vitest";
import {
  bandDepth,
  decayOf,
  holds,
  magnitudeAt,
  magnitudesOf,
  readChunk,
  StackMaxCache,
  stackedTotals,
} from "../data/chunk";
import type { Model } from "../data/model";
import { RecordStore } from "../data/store";
import { TRIANGLE_CACHE_SIZE, trianglesFor } from "../data/triangles";
import { mount } from "../standalone";
import { columnGeometry, stepLabels } from "../views/columns";
import * as fixture from "./helpers";
import { MockModel, nextFrame, showWidget, testMeta, testState } from "./helpers";

const { bandBlock, bf16ToFloat, fixtureMagnitude, floatToBf16, VOCAB, wholeAnswer } = fixture;

const N = 12;
const K = 4;

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** |G[t, j]| of the fixture as the browser holds it (bfloat16). */
const held = (record: number, t: number, j: number) =>
  bf16ToFloat(floatToBf16(fixtureMagnitude(record, t, j)));

function setup(count: number, values: Partial<Model> = {}, n = N) {
  const model = new MockModel({
    _record_count: count,
    _meta: testMeta({ seq_length: n }),
    ...values,
  });
  return { model, el: showWidget(model, bandBlock(0, count, n)).el };
}

function answer(model: MockModel, index: number, n = N): void {
  const { content, buffer } = wholeAnswer(index, n);
  model.emit("msg:custom", content, [new DataView(buffer.buffer)]);
}

const view = (el: Element, name: string) => el.querySelector(`[data-rnnbow-view=${name}]`)!;
const horizonBars = (el: Element) => [
  ...view(el, "horizon").querySelectorAll(".rnnbow-horizon-bar"),
];
const note = (el: Element) => el.querySelector<HTMLElement>(".rnnbow-horizon-note")!;
const requests = (model: MockModel) =>
  model.send.mock.calls.map(([m]) => m).filter((m) => m.type === "request_magnitudes");

describe("a band in the store", () => {
  const store = new RecordStore();
  const block = bandBlock(0, 3);
  store.writeWire(block.start, block.count, block.columns, block.buffers);

  it("learns K from the band's shape and reads the nearest sources and the sums beyond", () => {
    expect(bandDepth(store)).toBe(K);
    const m = readChunk(store, 2, VOCAB).magnitudes;
    expect(m.depth).toBe(K);
    expect(m.values).toHaveLength(N * K);
    for (let j = 0; j < N; j++) {
      let beyond = 0;
      for (let t = j; t < N; t++) {
        // The K nearest sources as bfloat16; the ones beyond the band are not held.
        expect(magnitudeAt(m, t, j)).toBe(t - j < K ? held(2, t, j) : 0);
        expect(holds(m, t, j)).toBe(t - j < K);
        if (t - j >= K) beyond += fixtureMagnitude(2, t, j);
      }
      expect(m.beyond![j]).toBeCloseTo(beyond, 5);
    }
  });

  it("stacks every source exactly (band + beyond) and the k nearest from the band", () => {
    const m = magnitudesOf(store, 1);
    const all = stackedTotals(m, N);
    const near = stackedTotals(m, 2);
    for (let j = 0; j < N; j++) {
      let exact = 0;
      for (let t = j; t < N; t++) exact += fixtureMagnitude(1, t, j);
      expect(relative(all[j], exact)).toBeLessThan(1 / 128); // bfloat16 band

      expect(near[j]).toBeCloseTo(held(1, j, j) + (j + 1 < N ? held(1, j + 1, j) : 0), 6);
    }
    // The global scale's cache reads the packed band the same way.
    const largest = Math.max(
      ...[0, 1, 2].flatMap((i) => [...stackedTotals(magnitudesOf(store, i), N)]),
    );
    expect(new StackMaxCache().get(store, N)).toBeCloseTo(largest, 4);
    const nearest = Math.max(
      ...[0, 1, 2].flatMap((i) => [...stackedTotals(magnitudesOf(store, i), 2)]),
    );
    expect(new StackMaxCache().get(store, 2)).toBeCloseTo(nearest, 5);
  });

  it("puts the decay of the steps held into numbers, and says they do not reach the start", () => {
    const decay = decayOf(magnitudesOf(store, 0), 9);
    expect(decay.available).toBe(K - 1);
    expect(decay.complete).toBe(false);
    expect(decay.ratioPerStep).toBeCloseTo(0.5, 2);
    expect(decayOf(magnitudesOf(store, 0), 2).complete).toBe(true);
  });
});

describe("views on a band", () => {
  it("cap k at K, stack the k nearest and put the rest in the grey segment exactly", async () => {
    const { model, el } = setup(3, { horizon: 10, selected_batch: 1 });
    await nextFrame();
    const range = el.querySelector<HTMLInputElement>(".rnnbow-horizon-range")!;
    expect(range.max).toBe(String(K));
    expect(range.value).toBe(String(K));
    expect(view(el, "bars").querySelector(".rnnbow-legend-band")!.textContent).toContain(
      `k is at most ${K} for chunks this long`,
    );
    const totals = new Array(N).fill(0);
    for (const rect of view(el, "bars").querySelectorAll("rect.rnnbow-segment"))
      totals[Number(rect.getAttribute("data-step"))] += Number(rect.getAttribute("data-value"));
    for (let j = 0; j < N; j++) {
      const sources = view(el, "bars").querySelectorAll(`rect[data-source][data-step="${j}"]`);
      expect(sources).toHaveLength(Math.min(K, N - j));
      let exact = 0;
      for (let t = j; t < N; t++) exact += fixtureMagnitude(1, t, j);
      expect(relative(totals[j], exact)).toBeLessThan(1 / 128);
    }
    model.set("horizon", 2);
    await nextFrame();
    expect(view(el, "bars").querySelectorAll('rect[data-source][data-step="0"]')).toHaveLength(2);
  });

  it("show the band in the horizon while the whole triangle is asked for, then the whole row", async () => {
    const { model, el } = setup(3, { selected_batch: 1 });
    await nextFrame();
    const t = Number(view(el, "horizon").querySelector("svg")!.getAttribute("data-source"));
    expect(t).toBeGreaterThanOrEqual(K);
    expect(view(el, "horizon").querySelector("svg")!.getAttribute("data-magnitudes")).toBe("band");
    expect(horizonBars(el).map((bar) => Number(bar.getAttribute("data-step")))).toEqual(
      Array.from({ length: K }, (_, i) => t - K + 1 + i),
    );
    expect(note(el).hidden).toBe(false);
    expect(note(el).textContent).toBe(
      `Showing the ${K} steps nearest to each loss; the rest of chunk 1 loads when the kernel ` +
        "is idle (not loaded yet).",
    );
    expect(view(el, "horizon").querySelector(".rnnbow-horizon-not-held")).not.toBeNull();
    expect(view(el, "horizon").querySelector(".rnnbow-horizon-stats")!.textContent).toContain(
      `(geometric mean over the ${K - 1} steps shown)`,
    );
    expect(requests(model)).toEqual([{ type: "request_magnitudes", index: 1 }]);

    answer(model, 1);
    expect(view(el, "horizon").querySelector("svg")!.getAttribute("data-magnitudes")).toBe("whole");
    expect(horizonBars(el)).toHaveLength(t + 1);
    expect(Number(horizonBars(el)[0].getAttribute("height"))).toBeGreaterThan(0);
    expect(note(el).hidden).toBe(true);
    expect(view(el, "horizon").querySelector(".rnnbow-horizon-not-held")).toBeNull();
    expect(view(el, "horizon").querySelector(".rnnbow-horizon-stats")!.textContent).toContain(
      `(geometric mean over ${t} steps)`,
    );
  });

  it("keep one request out: the latest wish goes when the pending answer arrives", async () => {
    const { model, el } = setup(5, { selected_batch: 0 });
    await nextFrame();
    model.set("selected_batch", 1);
    model.set("selected_batch", 2);
    await nextFrame();
    expect(requests(model)).toEqual([{ type: "request_magnitudes", index: 0 }]);
    answer(model, 0);
    expect(requests(model)[requests(model).length - 1]).toEqual({
      type: "request_magnitudes",
      index: 2,
    });
    expect(note(el).textContent).toContain("chunk 2 loads when the kernel is idle");
    answer(model, 2);
    expect(note(el).hidden).toBe(true);
    model.set("selected_batch", 0); // kept: no new request
    await nextFrame();
    expect(requests(model)).toHaveLength(2);
    expect(view(el, "horizon").querySelector("svg")!.getAttribute("data-magnitudes")).toBe("whole");
  });

  it(`keep the last ${TRIANGLE_CACHE_SIZE} whole triangles`, async () => {
    const count = TRIANGLE_CACHE_SIZE + 2;
    const { model } = setup(count, { selected_batch: 0 });
    for (let i = 0; i < count; i++) {
      model.set("selected_batch", i);
      answer(model, i);
    }
    expect(trianglesFor(model).keptIndices()).toEqual(
      Array.from({ length: TRIANGLE_CACHE_SIZE }, (_, i) => i + 2),
    );
  });

  it("say what the kernel answered when it could not send a triangle", async () => {
    const { model, el } = setup(3, { selected_batch: 1 });
    model.emit("msg:custom", { type: "magnitudes", index: 1, available: false, error: "boom" }, []);
    await nextFrame();
    expect(note(el).textContent).toContain("the kernel could not send the rest (boom)");
  });

  it("keep the y axis and the row names in sight while the views scroll sideways", async () => {
    const long = setup(2, { selected_batch: 0 }, 80);
    await nextFrame();
    for (const name of ["labels", "bars", "horizon"]) {
      const own = view(long.el, name).querySelector("svg")!;
      const pinned = own.nextElementSibling as SVGSVGElement;
      expect(pinned.getAttribute("class")).toBe("rnnbow-pinned-gutter");
      expect(pinned.getAttribute("width")).toBe("858"); // the views' room (jsdom: 860 - 2)
      expect(pinned.style.position).toBe("sticky");
      expect(pinned.style.pointerEvents).toBe("none");
    }
    const pinned = (name: string) =>
      view(long.el, name).querySelector(".rnnbow-pinned-gutter")!.textContent;
    expect(pinned("bars")).toContain("gradient");
    expect(pinned("labels")).toBe("truepredicted");
    expect(pinned("horizon")).toContain("how its gradient flows back"); // the title line
    expect(pinned("horizon")).toContain("step j");
    // The copies carry no class: the views' own axis and title are the only ones found.
    expect(view(long.el, "horizon").querySelectorAll(".rnnbow-horizon-title")).toHaveLength(1);
    expect(view(long.el, "bars").querySelectorAll(".rnnbow-axis")).toHaveLength(1);
    const short = setup(2, { selected_batch: 0 });
    await nextFrame();
    expect(short.el.querySelector(".rnnbow-pinned-gutter")).toBeNull();
  });
});

describe("step numbers under long chunks", () => {
  it("are thinned so that none overlap, the inspected source's neighbours left out", () => {
    for (const [width, n] of [
      [1100, 512],
      [1100, 1024],
      [860, 100],
      [860, 25],
    ]) {
      const geometry = columnGeometry(width, n);
      for (const marked of [null, 0, Math.floor(n * 0.6) + 1, n - 1]) {
        const shown = stepLabels(geometry, marked);
        if (marked !== null) expect(shown).toContain(marked);
        for (let i = 1; i < shown.length; i++) {
          const gap = (shown[i] - shown[i - 1]) * geometry.colWidth;
          const half = (j: number) => (String(j).length * 7 + 6) / 2;
          expect(gap).toBeGreaterThanOrEqual(half(shown[i]) + half(shown[i - 1]));
        }
      }
    }
    expect(stepLabels(columnGeometry(860, 25), null)).toHaveLength(25); // short chunks: all
  });
});

describe("an exported page of long chunks", () => {
  it("holds the selected chunk's whole triangle and says the others have only their band", async () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    const block = bandBlock(0, 3);
    const page = mount(
      el,
      testState({ _record_count: 3, selected_batch: 2, _meta: testMeta({ seq_length: N }) }),
      [
        {
          start: 0,
          count: 3,
          columns: block.columns.map((c, i) => ({ ...c, data: block.buffers[i] })),
        },
      ],
      [],
      [{ ...wholeAnswer(2).content, type: "magnitudes", data: wholeAnswer(2).buffer }],
    );
    await nextFrame();
    expect(view(el, "horizon").querySelector("svg")!.getAttribute("data-magnitudes")).toBe("whole");
    page.model.set("selected_batch", 0);
    await nextFrame();
    expect(note(el).textContent).toBe(
      `Showing the ${K} steps nearest to each loss: this page holds only those for chunk 0 ` +
        "(the whole matrix only for chunk 2).",
    );
    expect(
      page.model.sent.filter((m) => (m as { type: string }).type === "request_magnitudes"),
    ).toEqual([]);
    page.destroy();
  });
});

describe("long chunks scrolled sideways", () => {
  it("draw the columns in view and a margin, and the others once scrolled to them", async () => {
    const n = 200;
    const { model, el } = setup(2, { selected_batch: 0 }, n);
    const detail = el.querySelector<HTMLElement>(".rnnbow-detail")!;
    // jsdom lays nothing out: give the views a width, and a scroll offset the test sets.
    let scroll = 0;
    Object.defineProperty(detail, "clientWidth", { value: 858 });
    Object.defineProperty(detail, "scrollLeft", {
      get: () => scroll,
      set: (value: number) => {
        scroll = value;
      },
    });
    model.set("selected_batch", 1); // another chunk: measured, and scrolled to its source
    // A scroll event while that scroll waits for the next frame is stale (its offset too).
    detail.dispatchEvent(new Event("scroll"));
    await nextFrame();
    const steps = () =>
      [...view(el, "bars").querySelectorAll("rect[data-step]")].map((r) =>
        Number(r.getAttribute("data-step")),
      );
    const geometry = columnGeometry(858, n);
    const inView = (left: number) => [
      Math.floor((left - geometry.left) / geometry.colWidth),
      Math.ceil((left + 858 - geometry.left) / geometry.colWidth),
    ];
    // Scrolled to the default source (the last steps have the largest losses).
    expect(scroll).toBeGreaterThan(0);
    const [first, last] = inView(scroll);
    expect(Math.min(...steps())).toBeLessThanOrEqual(Math.max(0, first));
    expect(Math.max(...steps())).toBeGreaterThanOrEqual(Math.min(n, last) - 1);
    expect(new Set(steps()).size).toBeLessThan(n / 2);
    // Scrolled back to the start: the first columns are drawn at the next frame.
    scroll = 0;
    detail.dispatchEvent(new Event("scroll"));
    await nextFrame();
    expect(Math.min(...steps())).toBe(0);
    expect(Math.max(...steps())).toBeGreaterThanOrEqual(inView(0)[1] - 1);
    expect(view(el, "labels").querySelectorAll("text.rnnbow-label-true").length).toBeLessThan(
      n / 2,
    );
    // A download saves every column; the view draws those in view again at the next frame.
    const saved: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      saved.push(blob);
      return "blob:bars";
    });
    URL.revokeObjectURL = vi.fn();
    const follow = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    const buttons = [...view(el, "bars").querySelectorAll<HTMLButtonElement>(".rnnbow-download")];
    buttons.find((b) => b.textContent === "SVG")!.click();
    expect(follow).toHaveBeenCalled();
    follow.mockRestore();
    const text = await new Promise<string>((done) => {
      const reader = new FileReader();
      reader.onload = () => done(String(reader.result));
      reader.readAsText(saved[0]);
    });
    const savedSteps = new Set([...text.matchAll(/data-step="(\d+)"/g)].map((m) => Number(m[1])));
    expect(savedSteps.size).toBe(n);
    await nextFrame();
    expect(new Set(steps()).size).toBeLessThan(n / 2);
  });
});
