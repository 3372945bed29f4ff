// Visible stand-ins for characters that would otherwise be invisible in a label row.

const NAMED: Record<string, string> = { " ": "␣", "\n": "↵", "\t": "⇥" };

/** A printable form of one vocabulary symbol: whitespace as a glyph, control characters as \xNN. */
export function visibleGlyph(symbol: string | undefined): string {
  if (symbol === undefined) return "?";
  if (symbol in NAMED) return NAMED[symbol];
  let out = "";
  for (const ch of symbol) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0))
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out === "" ? "∅" : out;
}

/** True when the symbol is drawn as a stand-in rather than as itself. */
export function isStandIn(symbol: string | undefined): boolean {
  return symbol === undefined || visibleGlyph(symbol) !== symbol;
}
