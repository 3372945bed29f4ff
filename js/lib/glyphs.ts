// Visible stand-ins for characters that would otherwise be invisible in a label row.

const NAMED: Record<string, string> = { " ": "␣", "\n": "↵", "\t": "⇥" };

/**
 * A printable form of one vocabulary token: whitespace as glyphs, control characters as \xNN,
 * the empty token as ∅.
 */
export function visibleGlyph(symbol: string | undefined): string {
  if (symbol === undefined) return "?";
  let out = "";
  for (const ch of symbol) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch in NAMED) out += NAMED[ch];
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0))
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out === "" ? "∅" : out;
}

/** True when the symbol is drawn as a stand-in rather than as itself. */
export function isStandIn(symbol: string | undefined): boolean {
  return symbol === undefined || visibleGlyph(symbol) !== symbol;
}
