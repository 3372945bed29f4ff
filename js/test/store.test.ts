import { describe, expect, it } from "vitest";
import { seqLength, triangleOf } from "../data/chunk";
import { triangleIndex } from "../data/decode";
import { RecordStore } from "../data/store";
import { fixtureMagnitude, floatToBf16, makeBlock, type WireBlock } from "./helpers";

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
    expect(seqLength(store)).toBe(6);
    expect(store.value("step", 0)).toBe(0);
    expect(store.value("step", 49)).toBe(490);
    // bfloat16 keeps about 3 significant digits
    const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(
      relative(triangleOf(store, 3)[triangleIndex(4, 2)], fixtureMagnitude(3, 4, 2)),
    ).toBeLessThan(1 / 256);
    expect(
      relative(triangleOf(store, 48)[triangleIndex(5, 5)], fixtureMagnitude(48, 5, 5)),
    ).toBeLessThan(1 / 256);
  });

  it("overwrites the same indices when a block is written twice (idempotent)", () => {
    const store = new RecordStore();
    write(store, 0, 10);
    const before = triangleOf(store, 4).slice();
    write(store, 2, 5);
    expect(store.length).toBe(10);
    expect(store.have).toBe(10);
    expect(Array.from(triangleOf(store, 4))).toEqual(Array.from(before));
    expect(store.column("max_gradient").length).toBe(10);
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

  it("sizes its summary columns for exactly the announced count, details for those held", () => {
    const store = new RecordStore();
    store.reserve(1000);
    write(store, 0, 100, 25);
    // per record: 9 numbers of 4 bytes, clipped and `present` 1 each = 38 bytes (and 4 for
    // the record's slot index);
    // details 2*25*2 indices + 25*2 losses + 325*2 magnitudes = 800 bytes, in as many slots
    // as the keep plan keeps of the 1000 (all, within the default budget), 12 bytes of
    // bookkeeping each
    expect(store.byteSize()).toBe(1000 * (38 + 4) + 1000 * (800 + 12));
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
    expect(Array.from(store.floats("losses", 1))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
  });

  it("learns every column from the block's headers: dtype and values per record", () => {
    const store = new RecordStore();
    write(store, 0, 3);
    expect(store.dtype("step")).toBe("int32");
    expect(store.dtype("clipped")).toBe("uint8");
    expect(store.dtype("targets")).toBe("uint16");
    expect(store.dtype("magnitudes")).toBe("bfloat16");
    expect([store.width("loss"), store.width("targets"), store.width("magnitudes")]).toEqual([
      1, 6, 21,
    ]);
    expect(store.width("absent")).toBe(0);
    expect(Array.from(store.column("absent"))).toEqual([0, 0, 0]);
  });

  it("stores a column it has never heard of, by name, without code changes", () => {
    const store = new RecordStore();
    const block = withColumns(makeBlock(0, 4), [
      ["sharpness", "float32", [4], Float32Array.from([0.5, 1.5, 2.5, 3.5])],
      ["attention", "bfloat16", [4, 2], Uint16Array.from([1, 2, 3, 4, 5, 6, 7, 8], floatToBf16)],
    ]);
    store.writeWire(block.start, block.count, block.columns, block.buffers);
    write(store, 4, 2); // a later block without the new columns
    expect(store.dtype("sharpness")).toBe("float32");
    expect(Array.from(store.column("sharpness"))).toEqual([0.5, 1.5, 2.5, 3.5, 0, 0]);
    expect(store.width("attention")).toBe(2);
    expect(store.row("attention", 2)).toBeInstanceOf(Uint16Array);
    expect(Array.from(store.floats("attention", 2))).toEqual([5, 6]);
  });

  it("widens an integer column when a block brings larger integers (uint16, then int32)", () => {
    const store = new RecordStore();
    write(store, 0, 2);
    const block = makeBlock(2, 1);
    const at = block.columns.findIndex((column) => column.name === "targets");
    block.columns[at] = { ...block.columns[at], dtype: "int32" };
    block.buffers[at] = new Uint8Array(Int32Array.from([70000, 1, 2, 3, 4, 5]).buffer);
    store.writeWire(block.start, block.count, block.columns, block.buffers);
    expect(store.dtype("targets")).toBe("int32");
    expect(Array.from(store.row("targets", 2))).toEqual([70000, 1, 2, 3, 4, 5]);
    expect(Array.from(store.row("targets", 0))).toEqual(Array.from(makeTargets(0)));
    write(store, 3, 1); // uint16 again: stored in the int32 column
    expect(Array.from(store.row("targets", 3))).toEqual(Array.from(makeTargets(3)));
  });

  it("rejects a block whose columns do not fit the store, and writes none of it", () => {
    const store = new RecordStore();
    write(store, 0, 2, 6);
    expect(() => write(store, 2, 2, 7)).toThrow(/column targets has 7 values per record/);
    expect(store.length).toBe(2);
    const block = makeBlock(2, 1);
    const at = block.columns.findIndex((column) => column.name === "loss");
    block.columns[at] = { ...block.columns[at], dtype: "int32" };
    expect(() => store.writeWire(block.start, block.count, block.columns, block.buffers)).toThrow(
      "rnnbow: column loss is int32 in this block, float32 in the store",
    );
    const shape = makeBlock(2, 2);
    shape.columns[0] = { ...shape.columns[0], shape: [1, 2] };
    expect(() => store.writeWire(shape.start, shape.count, shape.columns, shape.buffers)).toThrow(
      /column step has shape \[1,2\], count is 2/,
    );
    expect(store.length).toBe(2);
  });
});

/** The fixture's target indices of one record. */
function makeTargets(record: number): Uint16Array {
  const block = makeBlock(record, 1);
  const at = block.columns.findIndex((column) => column.name === "targets");
  const bytes = block.buffers[at];
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** A copy of `block` with more columns. */
function withColumns(
  block: WireBlock,
  extra: [string, string, number[], ArrayBufferView][],
): WireBlock {
  return {
    ...block,
    columns: [...block.columns, ...extra.map(([name, dtype, shape]) => ({ name, dtype, shape }))],
    buffers: [
      ...block.buffers,
      ...extra.map(([, , , data]) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    ],
  };
}
