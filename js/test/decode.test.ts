import { describe, expect, it } from "vitest";
import {
  base64ToBytes,
  decodeBf16,
  decodeColumn,
  triangleIndex,
  triangleSize,
} from "../data/decode";
import { bf16ToFloat, floatToBf16 } from "./helpers";

describe("bfloat16", () => {
  it("round-trips values exactly representable in bfloat16", () => {
    for (const value of [0, 1, -2, 1.5, 0.375, 65536, -0.0078125]) {
      expect(bf16ToFloat(floatToBf16(value))).toBe(value);
    }
  });

  it("keeps about three significant digits over float32's range, the vanishing tail too", () => {
    for (const value of [0.1, Math.PI, 1e-20, 1e-37, 2.5e30, -7.77e-5]) {
      const back = bf16ToFloat(floatToBf16(value));
      expect(Math.abs(back - value) / Math.abs(value)).toBeLessThan(1 / 256);
    }
  });

  it("rounds to nearest rather than truncating", () => {
    // Near 1 bfloat16 steps by 2/256; 1 + 3/256 is a tie and goes to the even neighbour 1 + 4/256.
    expect(bf16ToFloat(floatToBf16(1 + 3 / 256))).toBe(1 + 4 / 256);
    expect(bf16ToFloat(floatToBf16(1 + 0.8 / 256))).toBe(1);
    expect(bf16ToFloat(floatToBf16(1 + 1.2 / 256))).toBe(1 + 2 / 256);
  });

  it("decodes a whole run the same as value by value", () => {
    const bits = Uint16Array.from([0.25, 7, -1e-9, 123.5].map(floatToBf16));
    expect(Array.from(decodeBf16(bits))).toEqual(Array.from(bits, bf16ToFloat));
  });
});

describe("packed triangle", () => {
  it("gives every (t, j <= t) its own slot, row by row", () => {
    const n = 5;
    const seen: number[] = [];
    for (let t = 0; t < n; t++) for (let j = 0; j <= t; j++) seen.push(triangleIndex(t, j));
    expect(seen).toEqual([...Array(triangleSize(n)).keys()]);
    expect(triangleSize(25)).toBe(325);
    expect(triangleIndex(3, 1)).toBe(7);
  });
});

describe("decodeColumn", () => {
  it("reads little-endian values from a DataView that starts at an odd offset", () => {
    const values = Float32Array.from([1.5, -2, 1e-30]);
    const backing = new Uint8Array(1 + values.byteLength);
    backing.set(new Uint8Array(values.buffer), 1);
    const view = new DataView(backing.buffer, 1, values.byteLength);
    const column = decodeColumn({ name: "loss", dtype: "float32", shape: [3] }, view);
    expect(column).toBeInstanceOf(Float32Array);
    expect(Array.from(column)).toEqual(Array.from(values));
  });

  it("keeps bfloat16 columns packed as Uint16Array", () => {
    const bits = Uint16Array.from([floatToBf16(2), floatToBf16(0.5)]);
    const column = decodeColumn({ name: "magnitudes", dtype: "bfloat16", shape: [1, 2] }, bits);
    expect(column).toBeInstanceOf(Uint16Array);
    expect(Array.from(column)).toEqual([0x4000, 0x3f00]);
  });

  it("rejects a buffer whose size does not match the shape", () => {
    expect(() =>
      decodeColumn({ name: "step", dtype: "int32", shape: [4] }, new Uint8Array(12)),
    ).toThrow(/expected 16/);
  });

  it("decodes base64 to bytes", () => {
    expect(Array.from(base64ToBytes("AAEC/w=="))).toEqual([0, 1, 2, 255]);
  });
});
