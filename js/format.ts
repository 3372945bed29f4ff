// Number formatting shared by the views and the info line.
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
