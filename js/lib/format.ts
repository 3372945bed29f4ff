// Number formatting shared by the views, their axes and the info line.
import { format } from "d3-format";

const threeDigits = format(".3~g");
const twoDecimals = format(".2f");

/** Gradients span many orders of magnitude: three significant digits, exponent when tiny. */
export function formatGradient(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value !== 0 && Math.abs(value) < 1e-3) return format(".2~e")(value);
  return threeDigits(value);
}

export function formatLoss(value: number): string {
  return Number.isFinite(value) ? twoDecimals(value) : "–";
}

export function formatSteps(value: number): string {
  return Number.isFinite(value) ? format(".1f")(value) : "–";
}

export function formatInteger(value: number): string {
  return format(",")(value);
}

/** A tick format suited to an axis whose top value is `max`. */
export function axisGradientFormat(max: number): (value: number) => string {
  if (max !== 0 && (Math.abs(max) < 1e-3 || Math.abs(max) >= 1e5)) return format(".1~e");
  return format(".2~g");
}
