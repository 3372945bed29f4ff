// Exploding gradients: jumped-norm markers and the divergence line in the overview, and the info
// line.

import { describe, expect, it } from "vitest";
import { HELP } from "../app/help";
import { divergedOf, JUMP_FACTOR, jumpRatioAt } from "../data/explode";
import type { Model } from "../data/model";
import { binRecords } from "../views/overview-bins";
import widget from "../widget";
import {
  MockModel,
  makeBlock,
  nextFrame,
  showWidget,
  stubCanvas,
  testMeta,
  type WireBlock,
} from "./helpers";

const N = 6;

/** A block whose grad_norm column is `norms`. */
function withNorms(block: WireBlock, norms: number[]): WireBlock {
  const at = block.columns.findIndex((c) => c.name === "grad_norm");
  const buffers = [...block.buffers];
  buffers[at] = new Uint8Array(new Float32Array(norms).buffer);
  return { ...block, buffers };
}

function setup(count: number, values: Partial<Model> = {}, norms?: number[]) {
  const model = new MockModel({ _record_count: count, ...values });
  const block = makeBlock(0, count, N);
  return { model, ...showWidget(model, norms ? withNorms(block, norms) : block) };
}

const info = (el: Element) => el.querySelector(".rnnbow-info")!.textContent ?? "";

describe("gradient norm jumps", () => {
  it("the ratio is the norm over the median of up to 20 previous records (NaN with < 5)", () => {
    const norms = [
      1, 1, 1, 1, 2, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 50,
    ];
    expect(jumpRatioAt(norms, 4)).toBeNaN();
    expect(jumpRatioAt(norms, 5)).toBe(8); // median of 1, 1, 1, 1, 2
    expect(jumpRatioAt(norms, 26)).toBe(50); // previous 20 (6..25) are all 1
    expect(jumpRatioAt([0, 0, 0, 0, 0, 5], 5)).toBeNaN();
  });

  it("bins flag the columns holding a jumped record", () => {
    const present = new Uint8Array(4).fill(1);
    const jumped = new Uint8Array([0, 0, 1, 0]);
    const bins = binRecords(
      {
        values: new Float32Array(4),
        smoothLoss: new Float32Array(4),
        clipped: new Uint8Array(4),
        present,
        jumped,
      },
      0,
      4,
      2,
    );
    expect([...bins.jumped]).toEqual([0, 1]);
  });

  it("the overview marks a jumped record and the info line says how far the norm jumped", () => {
    const norms = Array.from({ length: 12 }, (_, i) => (i === 9 ? 42 : 4 + (i % 2)));
    const context = stubCanvas();
    const { el, model, cleanup } = setup(12, { selected_batch: 9 }, norms);
    expect(context.fill).toHaveBeenCalledTimes(1); // one ▲, above record 9's column (42 / median 4)
    expect(info(el)).toMatch(/gradient norm 42(\.0)? before clipping · norm jumped 10\.5-fold/);
    model.set("selected_batch", 8);
    expect(info(el)).toMatch(/gradient norm 4 before clipping/);
    expect(info(el)).not.toContain("jumped");
    cleanup();
  });

  it("the info line always gives the norm before clipping and says when it was clipped", () => {
    const model = new MockModel({ _record_count: 4, selected_batch: 0 });
    const el = document.createElement("div");
    document.body.appendChild(el);
    widget.initialize({ model: model });
    model.sendRecords(makeBlock(0, 4, N, undefined, { clipped: true }));
    const cleanup = widget.render({ model: model, el }) as () => void;
    expect(info(el)).toContain("gradient norm 5 before clipping (clipped)");
    model.set("selected_batch", 1);
    expect(info(el)).toContain("gradient norm 6 before clipping");
    expect(info(el)).not.toContain("clipped)");
    cleanup();
  });

  it("the help text states the rule", () => {
    expect(HELP.overview).toContain(
      `more than ${JUMP_FACTOR}× the median of the 20 chunks recorded before it`,
    );
  });
});

describe("divergence", () => {
  it("reads _meta.diverged, ignoring malformed values", () => {
    expect(divergedOf({ diverged: { step: 7, quantity: "loss" } })).toEqual({
      step: 7,
      quantity: "loss",
      message: "",
    });
    expect(divergedOf({})).toBeNull();
    expect(divergedOf({ diverged: { step: -1 } })).toBeNull();
    expect(divergedOf({ diverged: "soon" })).toBeNull();
  });

  it("draws a red line 'diverged at step N' at the right end and says what to change", async () => {
    const { el, model, cleanup } = setup(10);
    expect(el.querySelector(".rnnbow-diverged")).toBeNull();
    model.set("_meta", {
      ...model.get("_meta"),
      diverged: {
        step: 100,
        quantity: "gradient",
        message: "training diverged at step 100: ...",
      },
    });
    await nextFrame();
    const mark = el.querySelector(".rnnbow-diverged")!;
    expect(mark).not.toBeNull();
    expect(mark.textContent).toContain("diverged at step 100");
    const width = Number(el.querySelector(".rnnbow-overview-overlay")!.getAttribute("width"));
    expect(Number(mark.querySelector("line")!.getAttribute("x1"))).toBe(width - 64);
    expect(info(el)).toContain("Training diverged at step 100: the gradient became inf or NaN");
    expect(info(el)).toContain("lower trainer.learning_rate");
    cleanup();
  });

  it("puts the line at the first record from that step on when training went on afterwards", () => {
    // The fixture's records are at steps 0, 10, 20, ...: step 45 lies before record 5.
    const { el, cleanup } = setup(10, {
      _meta: testMeta({
        seq_length: N,
        vocab: [],
        title: "t",
        diverged: { step: 45, quantity: "parameters", message: "" },
      }),
    });
    const line = el.querySelector(".rnnbow-diverged line")!;
    const width = Number(el.querySelector(".rnnbow-overview-overlay")!.getAttribute("width"));
    expect(Number(line.getAttribute("x1"))).toBeCloseTo(76 + (5 * (width - 76 - 64)) / 10, 5);
    cleanup();
  });
});
