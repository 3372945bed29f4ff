// Named timings in the browser's performance timeline (read by benchmarks/browser_bench.py).

/** Record `name` as a performance measure from `start` (a performance.now() value) to now. */
export function measureSince(name: string, start: number): void {
  const end = performance.now();
  try {
    performance.measure(name, { start, end });
  } catch {
    // Older engines (and some test environments) lack measure options: timings are optional.
  }
}
