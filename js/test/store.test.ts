import { describe, expect, it } from "vitest";
import { triangleIndex } from "../data/decode";
import { RecordStore } from "../data/store";
import { fixtureMagnitude, makeBlock } from "./helpers";

function write(store: RecordStore, start: number, count: number, n = 6) {
  const block = makeBlock(start, count, n);
  store.writeWire(block.start, block.count, block.columns, block.buffers);
}

describe("RecordStore", () => {
  it("grows as blocks arrive and keeps earlier records intact", () => {
    const store = new RecordStore();
    for (let start = 0; start < 50; start += 7) write(store, start, Math.min(7, 50 - start));
    expect(store.length).toBe(50);
    expect(store.have).toBe(50);
    expect(store.n).toBe(6);
    expect(store.step[0]).toBe(0);
    expect(store.step[49]).toBe(490);
    // bfloat16 keeps about 3 significant digits
    const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(
      relative(store.triangle(3)[triangleIndex(4, 2)], fixtureMagnitude(3, 4, 2)),
    ).toBeLessThan(1 / 256);
    expect(
      relative(store.triangle(48)[triangleIndex(5, 5)], fixtureMagnitude(48, 5, 5)),
    ).toBeLessThan(1 / 256);
  });

  it("overwrites the same indices when a block is written twice (idempotent)", () => {
    const store = new RecordStore();
    write(store, 0, 10);
    const before = store.triangle(4).slice();
    write(store, 2, 5);
    expect(store.length).toBe(10);
    expect(store.have).toBe(10);
    expect(Array.from(store.triangle(4))).toEqual(Array.from(before));
    expect(store.scalar("max_gradient").length).toBe(10);
  });

  it("tracks the first gap when blocks arrive out of order", () => {
    const store = new RecordStore();
    write(store, 0, 5);
    write(store, 10, 5);
    expect(store.length).toBe(15);
    expect(store.have).toBe(5);
    expect(store.has(7)).toBe(false);
    expect(store.has(12)).toBe(true);
    write(store, 5, 5);
    expect(store.have).toBe(15);
  });

  it("sizes its columns for exactly the announced count", () => {
    const store = new RecordStore();
    store.reserve(1000);
    write(store, 0, 100, 25);
    // per record: 4+4+1+1 + 7*4 scalars + 2*25*2 indices + 25*2 losses + 325*2 magnitudes = 838 bytes
    expect(store.byteSize()).toBe(1000 * 838);
  });

  it("tells listeners which range changed", () => {
    const store = new RecordStore();
    const calls: [number, number][] = [];
    const stop = store.onChange((start, count) => calls.push([start, count]));
    write(store, 0, 3);
    write(store, 3, 2);
    stop();
    write(store, 5, 1);
    expect(calls).toEqual([
      [0, 3],
      [3, 2],
    ]);
  });

  it("decodes one record's per-step losses", () => {
    const store = new RecordStore();
    write(store, 0, 2);
    expect(Array.from(store.stepLosses(1))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
  });
});
