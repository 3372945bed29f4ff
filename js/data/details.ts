// Record details (the columns with more than one value per record: labels, per-step losses,
// magnitudes) held in a bounded number of slots, by the keep plan of budget.ts. A record's
// details go into a free slot; when none is left, the slots of records the plan no longer keeps
// are freed (a sweep over the slots), so the pool never holds more than the plan's capacity plus
// the records asked for one by one.
import { EXTRA_DETAILS, type KeepPlan, planKeeps } from "./budget";
import { allocate, bytesPer, type Column, type Dtype, fits, widen } from "./decode";

/** One detail column: its dtype, values per record, and the values of every slot. */
interface SlotColumn {
  dtype: Dtype;
  width: number;
  values: Column;
}

/** Fewest slots allocated at a time. */
const FIRST_SLOTS = 64;

export class DetailPool {
  /** The plan in force (the store sets it as records arrive). */
  plan: KeepPlan = { capacity: Number.POSITIVE_INFINITY, count: 0, kept: 0, from: 0, stride: 1 };
  /** Record index -> slot, -1 when its details are not held. */
  private slotOf = new Int32Array(0);
  /** Slot -> record index, -1 when the slot is free. */
  private owner = new Int32Array(0);
  /** Slot -> the number of the write that filled it (1, 2, ...): scans skip what they saw. */
  private writtenAt = new Float64Array(0);
  private writes = 0;
  private free: number[] = [];
  private readonly columns = new Map<string, SlotColumn>();
  /** Records asked for one by one, least recent first: kept besides the plan. */
  private readonly wanted = new Set<number>();

  /** Slots allocated. */
  get slots(): number {
    return this.owner.length;
  }

  /** The number of the latest write (0 before any). */
  get lastWrite(): number {
    return this.writes;
  }

  /** Bytes of details per record, over the detail columns seen so far. */
  bytesPerRecord(): number {
    let total = 0;
    for (const column of this.columns.values()) total += column.width * bytesPer(column.dtype);
    return total;
  }

  /** Bytes the slots take (for the store's byteSize). */
  byteSize(): number {
    let total = this.slotOf.byteLength + this.owner.byteLength + this.writtenAt.byteLength;
    for (const column of this.columns.values()) total += column.values.byteLength;
    return total;
  }

  /** Make room for record indices below `records`. */
  growRecords(records: number): void {
    if (records <= this.slotOf.length) return;
    const next = new Int32Array(records).fill(-1);
    next.set(this.slotOf);
    this.slotOf = next;
  }

  holds(index: number): boolean {
    return index >= 0 && index < this.slotOf.length && this.slotOf[index] >= 0;
  }

  /** Values per record of a detail column (0 when none was seen). */
  width(name: string): number {
    return this.columns.get(name)?.width ?? 0;
  }

  dtype(name: string): Dtype | undefined {
    return this.columns.get(name)?.dtype;
  }

  has(name: string): boolean {
    return this.columns.has(name);
  }

  /** Record `index`'s values of a detail column (empty when not held). */
  row(name: string, index: number): Column | null {
    const column = this.columns.get(name);
    if (!column || !this.holds(index)) return null;
    const slot = this.slotOf[index];
    return column.values.subarray(slot * column.width, (slot + 1) * column.width);
  }

  /** Keep record `index`'s details when they arrive, besides the plan (the last few asked). */
  want(index: number): void {
    this.wanted.delete(index);
    this.wanted.add(index);
    for (const oldest of this.wanted) {
      if (this.wanted.size <= EXTRA_DETAILS) break;
      this.wanted.delete(oldest);
    }
  }

  /** True when record `index`'s details are to be kept when they arrive. */
  keeps(index: number): boolean {
    return planKeeps(this.plan, index) || this.wanted.has(index);
  }

  /** A column's check against what the pool holds: the same width; integers may widen. */
  check(name: string, dtype: Dtype, width: number): void {
    const column = this.columns.get(name);
    if (!column) return;
    if (width !== column.width) {
      throw new Error(
        `rnnbow: column ${name} has ${width} values per record in this block, ` +
          `${column.width} in the store`,
      );
    }
    if (!fits(column.dtype, dtype)) {
      throw new Error(
        `rnnbow: column ${name} is ${dtype} in this block, ${column.dtype} in the store`,
      );
    }
  }

  /** The slot for record `index`'s details: its own, a free one, or -1 when none is left. */
  place(index: number): number {
    if (this.slotOf[index] >= 0) return this.slotOf[index];
    if (this.free.length === 0) this.makeRoom();
    const slot = this.free.pop();
    if (slot === undefined) return -1;
    this.owner[slot] = index;
    this.slotOf[index] = slot;
    return slot;
  }

  /** Create a column (no values yet), or widen its integers to `dtype`. */
  declare(name: string, dtype: Dtype, width: number): void {
    this.columnFor(name, dtype, width);
  }

  /**
   * Write the values of a column for records in consecutive slots from `slot` (one row of
   * the column's width per slot; the column is created if new).
   */
  write(slot: number, name: string, dtype: Dtype, values: Column): void {
    const width = this.columns.get(name)?.width ?? values.length;
    const column = this.columnFor(name, dtype, width);
    column.values.set(values, slot * column.width);
    const rows = values.length / column.width;
    for (let s = slot; s < slot + rows; s++) this.writtenAt[s] = ++this.writes;
  }

  /**
   * Visit every slot filled by a write after `after` (0: every held record), with its record
   * index and slot; the slot-ordered column values are `slotValues(name)`.
   */
  forEachWrittenAfter(after: number, visit: (index: number, slot: number) => void): void {
    for (let slot = 0; slot < this.owner.length; slot++)
      if (this.owner[slot] >= 0 && this.writtenAt[slot] > after) visit(this.owner[slot], slot);
  }

  /** A detail column's values, slot after slot (width values each). */
  slotValues(name: string): Column | null {
    return this.columns.get(name)?.values ?? null;
  }

  /** Drop what the plan no longer keeps and fit the pool to its capacity (a budget change). */
  refit(): void {
    this.sweep();
    const limit = this.limit();
    if (this.owner.length <= limit) return;
    const held: number[] = [];
    for (let slot = 0; slot < this.owner.length; slot++) if (this.owner[slot] >= 0) held.push(slot);
    // Keep the newest records when even the kept ones do not fit (a smaller budget).
    held.sort((a, b) => this.owner[b] - this.owner[a]);
    const kept = held.slice(0, limit);
    for (const slot of held.slice(limit)) this.slotOf[this.owner[slot]] = -1;
    const owner = new Int32Array(Math.max(kept.length, Math.min(limit, FIRST_SLOTS))).fill(-1);
    const writtenAt = new Float64Array(owner.length);
    for (const column of this.columns.values()) {
      const values = allocate(column.dtype, owner.length * column.width);
      const { width } = column;
      kept.forEach((slot, to) => {
        values.set(column.values.subarray(slot * width, (slot + 1) * width), to * width);
      });
      column.values = values;
    }
    kept.forEach((slot, to) => {
      owner[to] = this.owner[slot];
      writtenAt[to] = this.writtenAt[slot];
      this.slotOf[this.owner[slot]] = to;
    });
    this.owner = owner;
    this.writtenAt = writtenAt;
    this.free = [];
    for (let slot = owner.length - 1; slot >= kept.length; slot--) this.free.push(slot);
  }

  /** Most slots the pool may have: the plan's capacity and the records asked for. */
  private limit(): number {
    return this.plan.capacity + EXTRA_DETAILS;
  }

  /**
   * Free slots: grow the pool up to the limit (straight to the plan's size when it is known,
   * else by an eighth: at most 12.5% slack), else sweep.
   */
  private makeRoom(): void {
    const slots = this.owner.length;
    if (slots >= this.limit()) {
      this.sweep();
      return;
    }
    const grown = Math.max(FIRST_SLOTS, slots + (slots >> 3), this.plan.kept);
    this.growSlots(Math.min(this.limit(), grown));
  }

  /** Free the slots of records that are neither in the plan nor asked for. */
  private sweep(): void {
    for (let slot = 0; slot < this.owner.length; slot++) {
      const index = this.owner[slot];
      if (index >= 0 && !this.keeps(index)) {
        this.slotOf[index] = -1;
        this.owner[slot] = -1;
        this.free.push(slot);
      }
    }
  }

  private growSlots(slots: number): void {
    const previous = this.owner.length;
    const owner = new Int32Array(slots).fill(-1);
    owner.set(this.owner);
    const writtenAt = new Float64Array(slots);
    writtenAt.set(this.writtenAt);
    for (const column of this.columns.values()) {
      const values = allocate(column.dtype, slots * column.width);
      values.set(column.values);
      column.values = values;
    }
    this.owner = owner;
    this.writtenAt = writtenAt;
    for (let slot = slots - 1; slot >= previous; slot--) this.free.push(slot);
  }

  /** The slot column for `name`: created at the pool's size when new; integers may widen. */
  private columnFor(name: string, dtype: Dtype, width: number): SlotColumn {
    let column = this.columns.get(name);
    if (!column) {
      column = { dtype, width, values: allocate(dtype, this.owner.length * width) };
      this.columns.set(name, column);
    } else widen(column, dtype);
    return column;
  }
}
