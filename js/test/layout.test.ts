import { describe, expect, it } from "vitest";
import { decayOf, largestLossSource, stackedTotals, wholeTriangle } from "../data/chunk";
import { triangleIndex, triangleSize } from "../data/decode";
import { visibleGlyph } from "../lib/glyphs";
import {
  columnAt,
  columnCenter,
  columnGeometry,
  columnX,
  MIN_COLUMN,
  scrollToColumn,
} from "../views/columns";
import {
  binRecords,
  brushRange,
  columnCount,
  columnOfRecord,
  firstRecord,
} from "../views/overview-bins";

function triangle(n: number, value: (t: number, j: number) => number): Float32Array {
  const out = new Float32Array(triangleSize(n));
  for (let t = 0; t < n; t++) for (let j = 0; j <= t; j++) out[triangleIndex(t, j)] = value(t, j);
  return out;
}

describe("overview bins", () => {
  const input = (values: number[]) => ({
    values: Float32Array.from(values),
    smoothLoss: Float32Array.from(values.map(() => 2)),
    clipped: Uint8Array.from(values.map((_, i) => (i === 4 ? 1 : 0))),
    present: Uint8Array.from(values.map((_, i) => (i === 7 ? 0 : 1))),
  });

  it("keeps the tallest record of each column and remembers which one it is", () => {
    const bins = binRecords(input([1, 5, 2, 0, 9, 3, 4, 8, 1, 1]), 0, 10, 3);
    // columns hold records 0-3, 4-6 and 7-9 (record 7 is missing, so it cannot win)
    expect(Array.from(bins.max)).toEqual([5, 9, 1]);
    expect(Array.from(bins.arg)).toEqual([1, 4, 8]);
    expect(Array.from(bins.clipped)).toEqual([0, 1, 0]);
  });

  it("draws one column per record when there are fewer records than pixels", () => {
    expect(columnCount(0, 300, 900)).toBe(300);
    expect(columnCount(0, 100000, 900)).toBe(900);
  });

  it("maps records to columns and columns back to their first record consistently", () => {
    const [lo, hi, columns] = [3, 1003, 7];
    for (let c = 0; c < columns; c++) {
      const first = firstRecord(lo, hi, columns, c);
      expect(columnOfRecord(lo, hi, columns, first)).toBe(c);
      expect(columnOfRecord(lo, hi, columns, first - 1)).toBe(c === 0 ? -1 : c - 1);
    }
  });

  it("turns a brushed column span into the record range it covers", () => {
    const bins = binRecords(input([1, 5, 2, 0, 9, 3, 4, 8, 1, 1]), 0, 10, 5);
    expect(brushRange(bins, 3, 1)).toEqual([2, 8]);
  });
});

describe("chunk arithmetic", () => {
  it("sums k sources per bar, fewer near the end of the chunk", () => {
    const tri = wholeTriangle(
      triangle(4, () => 1),
      4,
    );
    expect(Array.from(stackedTotals(tri, 2))).toEqual([2, 2, 2, 1]);
    expect(Array.from(stackedTotals(tri, 4))).toEqual([4, 3, 2, 1]);
  });

  it("puts the decay of a geometric horizon into numbers", () => {
    const tri = wholeTriangle(
      triangle(10, (t, j) => 0.5 ** (t - j)),
      10,
    );
    const decay = decayOf(tri, 9);
    expect(decay.ratioPerStep).toBeCloseTo(0.5, 5);
    // 0.5^6 = 1.6% >= 1%, 0.5^7 = 0.8% < 1%
    expect(decay.stepsAbove1Percent).toBe(6);
    expect(decayOf(tri, 0).ratioPerStep).toBeNull();
  });

  it("defaults to the source with the largest loss", () => {
    expect(largestLossSource(Float32Array.from([0.1, 3, 0.2, 2.9]))).toBe(1);
  });
});

describe("columns", () => {
  it("keeps columns readable for n = 100 by growing wider than the output", () => {
    const geometry = columnGeometry(800, 100);
    expect(geometry.colWidth).toBe(MIN_COLUMN);
    expect(geometry.width).toBeGreaterThan(800);
  });

  it("finds the column under an x position", () => {
    const geometry = columnGeometry(900, 25);
    expect(columnAt(geometry, columnCenter(geometry, 7))).toBe(7);
    expect(columnAt(geometry, 2)).toBe(-1);
  });
});

describe("visible glyphs", () => {
  it("shows whitespace and control characters as visible stand-ins", () => {
    expect(visibleGlyph(" ")).toBe("␣");
    expect(visibleGlyph("\n")).toBe("↵");
    expect(visibleGlyph("\t")).toBe("⇥");
    expect(visibleGlyph("\r")).toBe("\\x0d");
    expect(visibleGlyph("\u0007")).toBe("\\x07");
    expect(visibleGlyph("é")).toBe("é");
  });
});

describe("scrolling a long chunk to a column", () => {
  const geometry = columnGeometry(600, 100); // 100 columns at MIN_COLUMN: wider than 600 px

  it("leaves the scroll alone when the column is in view", () => {
    expect(geometry.width).toBeGreaterThan(600);
    expect(scrollToColumn(geometry, 5, 0, 600)).toBe(0);
    expect(scrollToColumn(geometry, 40, 300, 600)).toBe(300);
  });

  it("brings a column on the right into view with the steps before it", () => {
    const scroll = scrollToColumn(geometry, 90, 0, 600);
    const left = columnX(geometry, 90);
    expect(left).toBeGreaterThanOrEqual(scroll + geometry.left);
    expect(left + geometry.colWidth).toBeLessThanOrEqual(scroll + 600);
    expect(left - scroll).toBeGreaterThan(300); // most of the view shows earlier steps
  });

  it("never scrolls past either end", () => {
    expect(scrollToColumn(geometry, 99, 0, 600)).toBeLessThanOrEqual(geometry.width - 600);
    expect(scrollToColumn(geometry, 0, 900, 600)).toBe(0);
  });
});
