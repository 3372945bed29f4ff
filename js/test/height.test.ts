import { describe, expect, it } from "vitest";
import { COLUMN_GAP, viewLayout } from "../app/layout";
import type { Model } from "../data/model";
import { MockModel, makeBlock, nextFrame, showWidget, testMeta } from "./helpers";

// jsdom lays nothing out: the app's width falls back to 860 px.
const WIDTH = 860;
const HALF = (WIDTH - COLUMN_GAP) / 2;

function setup(n: number, values: Partial<Model> = {}) {
  const model = new MockModel({ _record_count: 10, _meta: testMeta({ seq_length: n }), ...values });
  const { el, cleanup } = showWidget(model, makeBlock(0, 10, n));
  const root = el.querySelector<HTMLElement>(".rnnbow-root")!;
  return { model, root, cleanup };
}

/** The drawn width (px) of each view's SVG. */
function viewWidths(root: HTMLElement): Record<string, number> {
  const width = (selector: string) => Number(root.querySelector(selector)!.getAttribute("width"));
  return {
    overview: width("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay"),
    labels: width("[data-rnnbow-view=labels] svg"),
    bars: width("[data-rnnbow-view=bars] svg"),
    horizon: width("[data-rnnbow-view=horizon] svg"),
  };
}

describe("viewLayout", () => {
  it("stacks the views at full width when the height is not bounded", () => {
    expect(viewLayout(WIDTH, 0, 6)).toEqual({ twoColumns: false, viewWidth: WIDTH });
  });

  it("puts the views in two columns when bounded and a chunk fits in half the width", () => {
    expect(viewLayout(WIDTH, 500, 6)).toEqual({ twoColumns: true, viewWidth: HALF });
  });

  it("keeps one column when the chunk's columns would not fit in half the width", () => {
    // 76 px gutter + 16 px margin + 25 columns of at least 15 px = 467 px > 424
    expect(viewLayout(WIDTH, 500, 25)).toEqual({ twoColumns: false, viewWidth: WIDTH });
    expect(viewLayout(1100, 500, 25).twoColumns).toBe(true);
  });
});

describe("the height trait", () => {
  it("leaves the widget at its natural height by default", () => {
    const { root, cleanup } = setup(6);
    expect(root.style.maxHeight).toBe("");
    expect(root.classList.contains("rnnbow-two-columns")).toBe(false);
    expect(viewWidths(root).bars).toBeGreaterThan(HALF);
    cleanup();
  });

  it("bounds the widget and draws every view half as wide, and follows changes", async () => {
    const { model, root, cleanup } = setup(6, { height: 480 });
    expect(root.style.maxHeight).toBe("480px");
    expect(root.classList.contains("rnnbow-two-columns")).toBe(true);
    for (const [view, width] of Object.entries(viewWidths(root)))
      expect(width, view).toBeLessThanOrEqual(HALF);

    model.set("height", 600);
    await nextFrame();
    expect(root.style.maxHeight).toBe("600px");

    model.set("height", 0);
    await nextFrame();
    expect(root.style.maxHeight).toBe("");
    expect(root.classList.contains("rnnbow-two-columns")).toBe(false);
    for (const [view, width] of Object.entries(viewWidths(root)))
      expect(width, view).toBeGreaterThan(HALF);
    cleanup();
  });

  it("bounds a widget of long chunks in one column (it scrolls)", async () => {
    const { model, root, cleanup } = setup(40);
    model.set("height", 500);
    await nextFrame();
    expect(root.style.maxHeight).toBe("500px");
    expect(root.classList.contains("rnnbow-bounded")).toBe(true);
    expect(root.classList.contains("rnnbow-two-columns")).toBe(false);
    cleanup();
  });
});

describe("the horizon title in a narrow view", () => {
  it("keeps its facts, and gives the whole title on hover", () => {
    const wide = setup(25); // 25 columns fill the 860 px view
    const wideTitle = wide.root.querySelector(".rnnbow-horizon-title")!;
    expect(wideTitle.textContent).toContain("how its gradient flows back");
    expect(wideTitle.querySelector("title")).toBeNull();
    wide.cleanup();
    const narrow = setup(6, { height: 480 });
    const title = narrow.root.querySelector(".rnnbow-horizon-title")!;
    expect(title.firstChild?.textContent).toMatch(/step \d+ \(true ".*"\)$/);
    expect(title.querySelector("title")?.textContent).toContain("how its gradient flows back");
    narrow.cleanup();
  });
});
