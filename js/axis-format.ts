// Tick label formats for gradient axes.
import { format } from "d3-format";

/** A tick format suited to an axis whose top value is `max`. */
export function axisGradientFormat(max: number): (value: number) => string {
  if (max !== 0 && (Math.abs(max) < 1e-3 || Math.abs(max) >= 1e5)) return format(".1~e");
  return format(".2~g");
}
