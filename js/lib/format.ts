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

/** "1st", "2nd", "3rd", "4th", "11th", "1,024th": every k-th chunk. */
export function formatOrdinal(k: number): string {
  const teen = k % 100 >= 11 && k % 100 <= 13;
  const suffix = teen
    ? "th"
    : (({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[k % 10] ?? "th");
  return `${formatInteger(k)}${suffix}`;
}

const plain = format(",.3~r");
const shortExponent = format(".2~e");
/** Large tick values are written in these units ("1.5M"), up to 1e15. */
const UNITS: [number, string][] = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
];

/**
 * Tick labels for an axis whose top value is `max`, alike for all its ticks: plain numbers
 * ("0.001", "100", "20,000"), millions and up as "1.5M", "2B", "3T"; below 1e-4 and from 1e15
 * on, a short exponent ("2e-6", "4e20"). Never "1e+2".
 */
export function axisGradientFormat(max: number): (value: number) => string {
  const top = Math.abs(max);
  if (top >= 1e15 || (top > 0 && top < 1e-4))
    return (value) => (value === 0 ? "0" : shortExponent(value).replace("e+", "e"));
  for (const [unit, suffix] of UNITS)
    if (top >= unit) return (value) => (value === 0 ? "0" : `${plain(value / unit)}${suffix}`);
  return (value) => plain(value);
}
