import { describe, expect, it } from "vitest";
import plans from "../../tests/fixtures/keep_plans.json";
import { keepPlan, MIN_DETAIL_RECORDS, planKeeps } from "../data/budget";
import { readChunk, StackMaxCache } from "../data/chunk";
import { RecordStore } from "../data/store";
import { makeBlock } from "./helpers";

// Details of one record at n = 6: targets and predictions 6 x uint16, losses 6 x bfloat16,
// magnitudes 21 x bfloat16 = 78 bytes.
const DETAIL_BYTES = 78;
/** A budget of `records` records' details at n = 6, in MiB. */
const budgetFor = (records: number) => (records * DETAIL_BYTES) / 2 ** 20;

function write(store: RecordStore, start: number, count: number, stride = 1) {
  const block = makeBlock(start, count, 6, undefined, { stride });
  store.writeWire(block.start, block.count, block.columns, block.buffers, stride);
}

function held(store: RecordStore): number[] {
  const indices: number[] = [];
  for (let i = 0; i < store.length; i++) if (store.hasDetails(i)) indices.push(i);
  return indices;
}

describe("keepPlan", () => {
  it("keeps everything while it fits, then the newest half and every s-th older record", () => {
    expect(keepPlan(100, 800, 1)).toEqual({
      capacity: 1310,
      count: 100,
      kept: 100,
      from: 0,
      stride: 1,
    });
    const plan = keepPlan(1_000_000, 800, 160);
    expect(plan.capacity).toBe(209715);
    expect(plan.from).toBe(1_000_000 - 104857);
    // ceil(895143 / s) <= 104858 first holds at s = 16
    expect(plan.stride).toBe(16);
    let kept = 0;
    for (let i = 0; i < 1_000_000; i++) if (planKeeps(plan, i)) kept++;
    expect(kept).toBeLessThanOrEqual(plan.capacity);
    expect(kept).toBeGreaterThan(plan.capacity * 0.7);
  });

  it("never keeps again a record it dropped: a later plan keeps a subset of the older ones", () => {
    for (const count of [100, 1000, 5000]) {
      const before = keepPlan(count, DETAIL_BYTES, budgetFor(300));
      const after = keepPlan(count + 777, DETAIL_BYTES, budgetFor(300));
      for (let i = 0; i < count; i++)
        if (planKeeps(after, i)) expect(planKeeps(before, i), `record ${i}`).toBe(true);
    }
  });

  it("matches the plans the kernel's exports use (tests/fixtures/keep_plans.json)", () => {
    // payload.keep_plan in Python is checked against the same table
    for (const { count, detail_bytes, budget_mb, capacity, from, stride } of plans)
      expect(keepPlan(count, detail_bytes, budget_mb)).toMatchObject({ capacity, from, stride });
  });

  it("keeps at least MIN_DETAIL_RECORDS records at any budget", () => {
    expect(keepPlan(10_000, 1 << 20, 0).capacity).toBe(MIN_DETAIL_RECORDS);
  });
});

describe("RecordStore within a details budget", () => {
  it("holds every summary, and the details of the newest records and an even thinning", () => {
    const store = new RecordStore();
    store.setBudget(budgetFor(200));
    for (let start = 0; start < 10_000; start += 500) write(store, start, 500);
    expect(store.have).toBe(10_000);
    expect(store.value("step", 1234)).toBe(12340);
    const plan = store.plan();
    expect(plan.capacity).toBe(200);
    const kept = held(store);
    expect(kept.length).toBeLessThanOrEqual(plan.capacity);
    expect(kept.every((i) => planKeeps(plan, i))).toBe(true);
    // the newest half of the budget, every one of them
    for (let i = 9_900; i < 10_000; i++) expect(store.hasDetails(i)).toBe(true);
    // older ones evenly: the gaps between kept records are all the plan's stride
    const older = kept.filter((i) => i < plan.from);
    expect(older.length).toBeGreaterThan(40);
    expect(new Set(older.slice(1).map((i, r) => i - older[r]))).toEqual(new Set([plan.stride]));
    // a record without details still reads its summary numbers; its details read as empty
    const thinned = plan.stride + 1;
    expect(store.has(thinned) && !store.hasDetails(thinned)).toBe(true);
    expect(store.row("targets", thinned).length).toBe(0);
  });

  it("takes about the same memory for 40,000 records as for 4,000, beyond their summaries", () => {
    const sizes = [4_000, 40_000].map((count) => {
      const store = new RecordStore();
      store.setBudget(budgetFor(200));
      store.reserve(count);
      for (let start = 0; start < count; start += 1000) write(store, start, 1000);
      return store.byteSize() - count * (38 + 4);
    });
    // at most the plan's 200 records and 64 asked for, 12 bytes of bookkeeping each
    for (const size of sizes) expect(size).toBeLessThanOrEqual((200 + 64) * (DETAIL_BYTES + 12));
    expect(sizes[1]).toBeLessThan(sizes[0] * 1.2);
  });

  it("keeps the details of records asked for one by one, the last 64 of them", () => {
    const store = new RecordStore();
    store.setBudget(budgetFor(100));
    write(store, 0, 5_000);
    const asked = Array.from({ length: 70 }, (_, r) => 1 + 2 * r); // odd: thinned
    for (const index of asked) {
      expect(store.hasDetails(index)).toBe(false);
      store.details.want(index);
      write(store, index, 1); // the kernel's answer
      expect(store.hasDetails(index)).toBe(true);
      expect(readChunk(store, index, ["a"]).losses.length).toBe(6);
    }
    write(store, 5_000, 500); // new records make the pool sweep
    const still = asked.filter((index) => store.hasDetails(index));
    expect(still).toEqual(asked.slice(-64));
  });

  it("writes a strided block (the kernel's thinned history) at its records' indices", () => {
    const store = new RecordStore();
    store.reserve(1000);
    write(store, 0, 1000 / 8, 8);
    expect(store.length).toBe(993);
    expect(store.has(16) && store.has(992)).toBe(true);
    expect(store.has(17)).toBe(false);
    expect(store.value("step", 992)).toBe(9920);
    expect(store.hasDetails(992)).toBe(true);
  });

  it("drops details, newest kept, when the budget shrinks", () => {
    const store = new RecordStore();
    write(store, 0, 1_000);
    expect(held(store).length).toBe(1_000);
    store.setBudget(budgetFor(100));
    const kept = held(store);
    expect(kept.length).toBeLessThanOrEqual(100 + 64);
    expect(kept).toContain(999);
    expect(store.floats("losses", 999)[5]).toBe(5.5);
  });

  it("keeps the global scale's maximum of records whose details were dropped", () => {
    const store = new RecordStore();
    store.setBudget(budgetFor(64));
    const cache = new StackMaxCache();
    write(store, 0, 64);
    const early = cache.get(store, 3);
    for (let start = 64; start < 10_000; start += 100) write(store, start, 100);
    expect(store.hasDetails(3)).toBe(false);
    expect(cache.get(store, 3)).toBeGreaterThanOrEqual(early);
  });
});
