"""Front-end figures in headless Chromium, with the standalone bundle and synthetic records.

Measures, for ``--count`` records (default 100,000) at n = ``--n`` (``--seq-length``, default
25; chunks of 64 steps or more arrive as the band of the 32 nearest sources, as the kernel sends
them):

* the first overview draw (binning + canvas painting), and the whole first render;
* hover latency: views 2-4 updated after the mouse moves to another overview bar, and after
  it moves to another segment of the stacked bars (``performance.now()`` around the handler),
  and from an overview hover to the end of the next frame (its layout and paint included);
* redraw after one live record arrives;
* JS heap after mounting, with the input blocks released and garbage collected.

Targets: overview draw <= 100 ms, hover <= 16 ms, heap <= 100 MB (at n = 512: heap <= 500 MB
for 10,000 records, hover median <= 16 ms). Run::

    .venv/bin/python benchmarks/browser_bench.py
    .venv/bin/python benchmarks/browser_bench.py --n 512 --count 10000

``--bundle PATH`` measures another build of ``standalone.js`` (e.g. an older commit's, to
compare in one session); ``--profile PATH`` saves a CPU profile of the overview hovers (open it
in Chrome's DevTools, Performance panel) and prints the functions that took the most time.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import make_fixture  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  the tests' browser, as they run it

BUNDLE = ROOT / "rnnbow_widget" / "static" / "standalone.js"

# Turns a block whose columns carry base64 into one whose columns carry ArrayBuffers, so the
# page holds binary data (as a kernel message would) rather than base64 text.
STASH_BLOCK = """(block) => {
  const decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
  block.columns = block.columns.map(({ data_b64, ...spec }) => ({
    ...spec,
    data: decode(data_b64),
  }));
  (window.__blocks = window.__blocks || []).push(block);
}"""

MOUNT = """(state) => {
  const started = performance.now();
  window.rnnbow = RNNbowStandalone.mount(document.getElementById('host'), state, window.__blocks);
  const total = performance.now() - started;
  const draws = performance.getEntriesByName('rnnbow:overview-draw');
  const renders = performance.getEntriesByName('rnnbow:render-all');
  return { mount: total, overview: draws[0].duration, render: renders[0].duration };
}"""


# The last overview hover's handler time (null when the hover stayed on the same record) and
# whether views 2-4 were drawn (false: the record's details are not in the page).
HOVER_RESULT = """() => {
  const entries = performance.getEntriesByName('rnnbow:hover-record');
  const last = entries.length ? entries[entries.length - 1].duration : null;
  performance.clearMeasures('rnnbow:hover-record');
  return [last, document.querySelector('.rnnbow-missing')?.hidden ?? null];
}"""

# Time from the last mouse event to the end of the frame after it (a task queued from
# requestAnimationFrame runs once the frame's style, layout and paint are done).
NEXT_FRAME = """() => new Promise((done) => requestAnimationFrame(() =>
  setTimeout(() => done(performance.now() - window.__hovered), 0)))"""


def kernel_answer(columns: dict, plan: dict) -> list[tuple[dict, int, int]]:
    """What the kernel sends a browser with this keep plan (payload.iter_blocks): the newest
    records whole, every other summary, the older records every ``stride``-th; as (columns,
    first record, stride)."""
    split = plan["from"]
    if split <= 0:
        return [(columns, 0, 1)]
    summaries = {name: array[:split] for name, array in columns.items() if array.ndim == 1}
    newest = {name: array[split:] for name, array in columns.items()}
    thinned = {name: array[: split : plan["stride"]] for name, array in columns.items()}
    return [(newest, split, 1), (summaries, 0, 1), (thinned, 0, plan["stride"])]


def blocks_of(columns: dict, first: int, stride: int):
    """Blocks of at most 8 MB (payload.MAX_BLOCK_BYTES) and 4,096 records, or 65,536 for
    summaries only (payload.MAX_SUMMARY_RECORDS), one at a time."""
    per_record = sum(array[:1].nbytes for array in columns.values())
    limit = 4096 if any(array.ndim > 1 for array in columns.values()) else 65536
    size = max(1, min(limit, (8 << 20) // max(1, per_record)))
    total = len(columns["step"])
    for start in range(0, total, size):
        part = {name: array[start : start + size] for name, array in columns.items()}
        (block,) = make_fixture.to_blocks(
            part, block_size=size, first=first + start * stride, stride=stride
        )
        yield block


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms "
        f"({len(ordered)} samples)"
    )


def heap_mb(cdp) -> tuple[float, float]:
    """JS heap objects and ArrayBuffer backing stores (typed arrays live there), in MB."""
    cdp.send("HeapProfiler.collectGarbage")
    usage = cdp.send("Runtime.getHeapUsage")
    return usage["usedSize"] / 1e6, usage.get("backingStorageSize", 0) / 1e6


def print_profile(profile: dict, top: int = 15) -> None:
    """The functions with the most samples in a CDP CPU profile, self and inclusive time."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    own, total = collections.Counter(), collections.Counter()
    for sample, delta in zip(profile["samples"], [*profile["timeDeltas"][1:], 0], strict=True):
        frame = nodes[sample]["callFrame"]
        own[frame["functionName"] or "(anonymous)"] += delta
        seen, node = set(), sample
        while node is not None:
            name = nodes[node]["callFrame"]["functionName"] or "(anonymous)"
            if name not in seen:
                total[name] += delta
                seen.add(name)
            node = parent.get(node)
    for title, counter in (("self", own), ("inclusive", total)):
        print(f"  {title} time over the hovers:")
        for name, micros in counter.most_common(top):
            print(f"    {micros / 1000:8.1f} ms  {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--n", "--seq-length", dest="seq_length", type=int, default=25,
                        help="steps per chunk")  # fmt: skip
    parser.add_argument("--hovers", type=int, default=200)
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="standalone.js to measure")
    parser.add_argument("--profile", type=Path, help="save a .cpuprofile of the overview hovers")
    parser.add_argument(
        "--profile-mount", action="store_true", help="print where the mount spends its time"
    )
    args = parser.parse_args(argv)

    if args.bundle == BUNDLE and not BUNDLE.exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True)
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    columns = make_fixture.make_records(args.count, args.seq_length, seed=1)
    state = make_fixture.make_state(args.count, args.seq_length)
    per_record = sum(array[:1].nbytes for array in columns.values())
    detail_bytes = sum(array[:1].nbytes for array in columns.values() if array.ndim > 1)
    print(
        f"fixture: {args.count:,} records at n={args.seq_length}, {per_record:,} bytes each "
        f"({time.perf_counter() - started:.1f} s to generate)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "bench.html"
        page_path.write_text(
            "<!doctype html><html><head><meta charset='utf-8'></head>"
            "<body style='margin:16px'><div id='host' style='width:1100px'></div>"
            f"<script>{args.bundle.read_text(encoding='utf-8')}</script></body></html>",
            encoding="utf-8",
        )
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1160, "height": 1000},
            )
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            page.goto(page_path.as_uri())
            baseline = heap_mb(cdp)
            # An older bundle (--bundle) without a keep plan holds every record whole.
            plan = page.evaluate(
                "([count, bytes, mb]) => RNNbowStandalone.keepPlan?.(count, bytes, mb) ?? "
                "{from: 0, stride: 1}",
                [args.count, detail_bytes, state["details_budget_mb"]],
            )
            held = sum(1 for i in range(args.count) if i >= plan["from"] or i % plan["stride"] == 0)
            print(
                f"keep plan ({state['details_budget_mb']:g} MiB of details, {detail_bytes:,} bytes "
                f"a record): details of the newest {args.count - plan['from']:,} and every "
                f"{plan['stride']}th older record, {held:,} of {args.count:,}"
            )
            for part, first, stride in kernel_answer(columns, plan):
                for block in blocks_of(part, first, stride):
                    page.evaluate(STASH_BLOCK, block)
            del columns
            if args.profile_mount:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                cdp.send("Profiler.start")
            timings = page.evaluate(MOUNT, state)
            if args.profile_mount:
                print("CPU profile of the mount:")
                print_profile(cdp.send("Profiler.stop")["profile"])
            page.evaluate("() => { delete window.__blocks; }")
            heap = heap_mb(cdp)
            print(
                f"first render: mount {timings['mount']:.1f} ms (writing records + render), "
                f"render {timings['render']:.1f} ms, overview draw {timings['overview']:.1f} ms "
                "(target <= 100 ms)"
            )
            objects, buffers = heap
            print(
                f"JS heap: {objects + buffers:.1f} MB after mount and GC = "
                f"{objects:.1f} MB objects "
                f"+ {buffers:.1f} MB array buffers (page before mount "
                f"{sum(baseline):.1f} MB; target <= 100 MB at n = 25, 100,000 records; "
                "<= 500 MB at n = 512, 10,000 records)"
            )

            overlay = page.locator(".rnnbow-overview-overlay").bounding_box()
            left, width = overlay["x"] + 76, overlay["width"] - 76 - 64
            y = overlay["y"] + 100
            if args.profile:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                cdp.send("Profiler.start")
            # Each hover's handler time, and whether the record's details were in the page (a
            # record the keep plan thinned out shows a note instead of views 2-4).
            held, missing = [], []
            for i in range(args.hovers):
                page.mouse.move(left + (i * 7919 % 1000) / 1000 * width, y)
                duration, shown = page.evaluate(HOVER_RESULT)
                shown = shown is not False
                if duration is not None:
                    (held if shown else missing).append(duration)
            if args.profile:
                profile = cdp.send("Profiler.stop")["profile"]
                args.profile.write_text(json.dumps(profile), encoding="utf-8")
                print(f"CPU profile of the overview hovers: {args.profile}")
                print_profile(profile)
            print(f"hover overview bar -> views 2-4: {summary(held + missing)} (target <= 16 ms)")
            if missing:
                print(f"  ... records with details, views drawn: {summary(held)}")
                print(f"  ... records thinned out, the note shown: {summary(missing)}")
            # The same hovers to the next frame: the handler, then the frame's layout and
            # paint (and the wait for that frame), one hover per frame.
            page.evaluate(
                "() => document.addEventListener('mousemove', "
                "(e) => { window.__hovered = e.timeStamp; }, true)"
            )
            frames = []
            for i in range(min(args.hovers, 60)):
                page.mouse.move(left + (i * 4243 % 1000) / 1000 * width, y)
                frames.append(page.evaluate(NEXT_FRAME))
            print(f"hover overview bar -> next frame: {summary(frames)}")

            page.mouse.move(5, 5)
            # Segments in view (long chunks scroll sideways), at least 1 px high.
            centers = page.evaluate(
                """() => {
                  const view = document.querySelector('.rnnbow-detail').getBoundingClientRect();
                  return [...document.querySelectorAll('[data-rnnbow-view=bars] rect[data-source]')]
                    .map((rect) => rect.getBoundingClientRect())
                    .filter((b) => b.height >= 1 && b.left >= view.left + 80)
                    .filter((b) => b.right <= view.right)
                    .map((b) => [b.left + b.width / 2, b.top + b.height / 2]);
                }"""
            )
            for i in range(min(args.hovers, len(centers))):
                page.mouse.move(*centers[i * 37 % len(centers)])
            sources = page.evaluate(
                "() => performance.getEntriesByName('rnnbow:hover-source').map(e => e.duration)"
            )
            print(f"hover bar segment -> views 2 and 4: {summary(sources)} (target <= 16 ms)")

            live = make_fixture.to_blocks(
                make_fixture.make_records(1, args.seq_length, seed=2), block_size=1
            )[0]
            live["start"] = args.count
            page.evaluate(STASH_BLOCK, live)
            appended = page.evaluate(
                """async () => {
                  performance.clearMeasures('rnnbow:render-all');
                  window.rnnbow.model.set('_record_count', window.__blocks[0].start + 1);
                  window.rnnbow.addBlock(window.__blocks[0]);
                  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
                  return performance.getEntriesByName('rnnbow:render-all').map(e => e.duration);
                }"""
            )
            print(f"one live record appended -> full redraw: {summary(appended)}")
            context.close()


if __name__ == "__main__":
    main()
