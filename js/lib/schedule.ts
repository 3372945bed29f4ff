// Coalescing redraws into one per animation frame.

/**
 * Returns `request()`, which runs `task` once at the next frame however often it is called,
 * and `cancel()`.
 */
export function frameScheduler(task: () => void): { request: () => void; cancel: () => void } {
  let handle: number | null = null;
  const hasFrames = typeof requestAnimationFrame === "function";
  const run = () => {
    handle = null;
    task();
  };
  return {
    request() {
      if (handle !== null) return;
      handle = hasFrames ? requestAnimationFrame(run) : (setTimeout(run, 16) as unknown as number);
    },
    cancel() {
      if (handle === null) return;
      if (hasFrames) cancelAnimationFrame(handle);
      else clearTimeout(handle);
      handle = null;
    },
  };
}
