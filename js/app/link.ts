// Linking the views of compared runs (RNNbow.compare): a page-level bus keyed by the
// `_link_group` trait. Hover, selection and scale queries go straight from one view to the
// others in the page, so they work while the kernel is busy (it cannot relay messages then).
//
// The registry lives on globalThis under a Symbol.for key, not in this module: anywidget may
// load the bundle once per model (one module instance each), and all of them must meet here.

/** Where a record sits in the corpus: equal step and offset = the same text. */
export interface Position {
  step: number;
  offset: number;
  n: number;
}

/** What one view offers the others in its group. Calls from the bus never re-broadcast. */
export interface LinkMember {
  /** The run's heading. */
  name(): string;
  /** Another view previews record `index` (null: the pointer left). */
  linkHoverRecord(index: number | null): void;
  /** Another view highlights source loss t (null: none). */
  linkHoverSource(t: number | null): void;
  /** Another view selected record `index`. */
  linkSelect(index: number): void;
  /** Another view's data changed: redraw if the shared scale is in use. */
  linkScaleChanged(): void;
  /** A view joined or left the group: redraw (info line, shared scale). */
  linkMembersChanged(): void;
  /** Another view switched the shared scale on or off. */
  linkSetLinkedScale(on: boolean): void;
  /** Corpus position of record `index`, or null when it is not held. */
  position(index: number): Position | null;
  /**
   * Tallest stacked bar (k sources) of record `index`, or over every record held when `index`
   * is null.
   */
  barMax(index: number | null, k: number): number;
  /** Largest |G[t, j]| over j for source t of record `index` (0 when not held). */
  sourceMax(index: number, t: number): number;
  /**
   * Largest finite value of per-record column `column` over the records [lo, hi) held (0 when
   * none): the top of an overview's axis over the same chunks.
   */
  columnMax(column: string, lo: number, hi: number): number;
}

type Registry = Map<string, Set<LinkMember>>;

const KEY = Symbol.for("rnnbow_widget.link-groups.v1");

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let groups = holder[KEY];
  if (!groups) {
    groups = new Map();
    holder[KEY] = groups;
  }
  return groups;
}

/** A view's membership in a group: talk to the others, then leave. */
export class LinkHandle {
  private left = false;

  constructor(
    readonly group: string,
    private readonly member: LinkMember,
  ) {}

  /** The other members of the group (not this one), in the order they joined. */
  others(): LinkMember[] {
    if (this.left) return [];
    return [...(registry().get(this.group) ?? [])].filter((m) => m !== this.member);
  }

  /** Call `fn` on every other member; one failing member does not stop the rest. */
  broadcast(fn: (member: LinkMember) => void): void {
    for (const member of this.others()) {
      try {
        fn(member);
      } catch (error) {
        console.error("rnnbow: a linked view failed", error);
      }
    }
  }

  /** Largest of `fn` over every member, this one included. */
  maxOver(fn: (member: LinkMember) => number): number {
    let best = 0;
    for (const member of [this.member, ...this.others()]) {
      const value = fn(member);
      if (Number.isFinite(value) && value > best) best = value;
    }
    return best;
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    const groups = registry();
    const members = groups.get(this.group);
    if (!members) return;
    members.delete(this.member);
    if (members.size === 0) groups.delete(this.group);
    for (const other of members) {
      try {
        other.linkMembersChanged();
      } catch (error) {
        console.error("rnnbow: a linked view failed", error);
      }
    }
  }
}

/** Join `group` (an empty id joins nothing and returns null). */
export function joinGroup(group: string, member: LinkMember): LinkHandle | null {
  if (!group) return null;
  const groups = registry();
  let members = groups.get(group);
  if (!members) {
    members = new Set();
    groups.set(group, members);
  }
  members.add(member);
  const handle = new LinkHandle(group, member);
  handle.broadcast((other) => other.linkMembersChanged());
  return handle;
}

/** Number of views in `group` on this page (tests check that views leave on cleanup). */
export function groupSize(group: string): number {
  return registry().get(group)?.size ?? 0;
}

/** The info line's note on whether the other runs show the same text at this chunk index. */
export function positionNote(
  own: Position | null,
  others: { name: string; position: Position | null }[],
): string {
  if (!own || others.length === 0) return "";
  const same = others.filter(
    (o) => o.position && o.position.step === own.step && o.position.offset === own.offset,
  );
  if (same.length === others.length) {
    return others.length === 1
      ? `same text (step and characters) as in ${others[0].name}`
      : "same text (step and characters) in all linked runs";
  }
  const parts = others.map((o) => {
    if (!o.position) return `${o.name} has no chunk here`;
    if (o.position.step === own.step && o.position.offset === own.offset)
      return `same text in ${o.name}`;
    const { step, offset, n } = o.position;
    return `${o.name} shows other text here (step ${step}, characters ${offset}..${offset + n})`;
  });
  return parts.join("; ");
}
