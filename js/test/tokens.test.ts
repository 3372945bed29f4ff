// Recordings from anywhere: token vocabularies in the label row, and the info line of a
// recording without the trainer-only fields or with skipped shards, against the mock model.
import { describe, expect, it } from "vitest";
import type { Model } from "../data/model";
import { visibleGlyph } from "../lib/glyphs";
import { MockModel, makeBlock, showWidget, testMeta, VOCAB } from "./helpers";

const N = 6;
const WORDS = VOCAB.map((_, i) => (i === 3 ? "internationalization" : `w${i}`));
WORDS[0] = "  ";

function setup(values: Partial<Model>, block = makeBlock(0, 2, N)) {
  return showWidget(new MockModel({ _record_count: 2, ...values }), block).el;
}

const labels = (el: Element, row: "true" | "predicted") => [
  ...el.querySelectorAll(`[data-rnnbow-view=labels] text.rnnbow-label-${row}`),
];
const info = (el: Element) => el.querySelector(".rnnbow-info")?.textContent ?? "";

describe("a word vocabulary", () => {
  it("shortens a long token with an ellipsis and shows the whole token on hover", () => {
    // record 1's targets are ids 1..6: id 3 is the long word, at position 2
    const el = setup({ _meta: testMeta({ vocab: WORDS }), selected_batch: 1 });
    const long = labels(el, "true")[2];
    expect(long.firstChild?.textContent).toMatch(/^inter.*…$/); // what is drawn
    expect(long.querySelector("title")?.textContent).toBe("internationalization");
    expect(labels(el, "true")[0].textContent).toBe("w1");
    expect(labels(el, "true")).toHaveLength(N); // one column per step, whatever the tokens
  });

  it("keeps whitespace inside tokens visible", () => {
    expect(visibleGlyph("  ")).toBe("␣␣");
    expect(visibleGlyph("New York\n")).toBe("New␣York↵");
    expect(visibleGlyph("\r")).toBe("\\x0d");
    expect(visibleGlyph("a")).toBe("a");
  });

  it("says 'tokens later' in the stacked bars' legend", () => {
    const legend = (el: Element) => el.querySelector(".rnnbow-legend")?.textContent ?? "";
    const words = setup({ _meta: testMeta({ vocab: WORDS }) });
    expect(legend(words)).toContain("0 = this token's own loss");
    expect(legend(words)).toContain("2 = the loss 2 tokens later");
    expect(legend(words)).not.toContain("character");
    expect(legend(setup({}))).toContain("2 = the loss 2 characters later");
  });

  it("names positions in tokens, not characters", () => {
    const el = setup({ _meta: testMeta({ vocab: WORDS }) });
    expect(info(el)).toMatch(/tokens 6\.\.12/);
    const chars = setup({});
    expect(info(chars)).toMatch(/characters 6\.\.12/);
  });
});

describe("a recording without the trainer's fields", () => {
  it("leaves out the corpus position and the gradient norm", () => {
    const el = setup({}, makeBlock(0, 2, N, undefined, { trainerFieldsMissing: true }));
    const text = info(el);
    expect(text).toMatch(/Latest chunk 1 of 2 · step 10 · max gradient/);
    expect(text).not.toMatch(/characters|gradient norm|NaN|-1/);
  });

  it("says which shards of a followed run were skipped", () => {
    const problems = ["shard-00000003.npz skipped: it is empty, not an .npz archive"];
    const el = setup({ _meta: testMeta({ problems }) });
    expect(info(el)).toContain("1 shard(s) of the run skipped: shard-00000003.npz skipped: it is");
  });
});
