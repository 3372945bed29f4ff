// Which records' details (labels, per-step losses, magnitudes) the browser keeps. Every record's
// summary numbers stay (the overview needs them all); details fit a memory budget: the newest
// half of the budget's records, plus older records thinned evenly (every s-th, s a power of
// two). As records arrive s doubles, so a record dropped once is never kept again by the rule,
// and the kernel can send exactly the kept records (request_records' detail_from and
// detail_stride, docs/data-contract.md). Records asked for one by one (hovered, selected) are
// kept besides, the last EXTRA_DETAILS of them.

/** The `details_budget_mb` trait's default: MiB of record details the browser keeps. */
export const DEFAULT_DETAILS_BUDGET_MB = 160;

/** Records kept at any budget: a budget smaller than this many records' details grows to it. */
export const MIN_DETAIL_RECORDS = 64;

/** Records asked for one by one whose details are kept beyond the plan, most recent first. */
export const EXTRA_DETAILS = 64;

/** Which records keep their details when `count` records exist. */
export interface KeepPlan {
  /** Records whose details fit the budget (the plan keeps at most this many). */
  capacity: number;
  /** Records the plan was made for, and how many of them it keeps. */
  count: number;
  kept: number;
  /** Every record from here on is kept (the newest capacity / 2). */
  from: number;
  /** Below `from`, records whose index is a multiple of this (a power of two) are kept. */
  stride: number;
}

/**
 * The plan for `count` records of `bytesPerRecord` bytes of details each, in `budgetMb` MiB.
 * At most `capacity` records are kept: the newest capacity / 2, and ceil(from / stride) <=
 * capacity - capacity / 2 older ones.
 */
export function keepPlan(count: number, bytesPerRecord: number, budgetMb: number): KeepPlan {
  const budget = Math.max(0, budgetMb) * 2 ** 20;
  const capacity = Math.max(MIN_DETAIL_RECORDS, Math.floor(budget / Math.max(1, bytesPerRecord)));
  const newest = Math.floor(capacity / 2);
  const from = Math.max(0, count - newest);
  let stride = 1;
  while (Math.ceil(from / stride) > capacity - newest) stride *= 2;
  return { capacity, count, kept: count - from + Math.ceil(from / stride), from, stride };
}

/** True when the plan keeps record `index`'s details. */
export function planKeeps(plan: KeepPlan, index: number): boolean {
  return index >= plan.from || index % plan.stride === 0;
}
