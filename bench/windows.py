"""Window building for EPIC-KITCHENS-100 val + EPIC-Sounds val together, on the real annotation files.

The original TIM takes 104 s and 904 MB peak RSS for these 43,608 windows and 13 s to reload its
cache (shared/reference/original_performance.md). This runs the real engine code: the EPIC100 and
EPICSounds plugins joined as a config with both datasets joins them, feature times every 0.2 s
(1-s spans) over each video's real duration, then ``build_windows`` at the EPIC defaults
(num_feats 50, feat_gap 0.2, feat_stride 3, window_stride 1.0). Prints medians over ``--repeats``.

    python bench/windows.py [--data /path/to/shared/data] [--repeats 7]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from tim_bench.data.joint import JointDataset
from tim_bench.data.windows import WindowSpec, build_windows, cached_windows
from tim_bench.synthetic.epic import feature_intervals
from tim_bench_plugins.datasets.epic_kitchens import EPIC100
from tim_bench_plugins.datasets.epic_sounds import EPICSounds

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORIGINAL = {"build_s": 104.0, "windows": 43_608, "peak_rss_mb": 904.0, "reload_s": 13.0}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with epic-kitchens-100/ and epic-sounds/")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    plugins = [EPIC100(str(args.data), split_files={"train": "EPIC_100_uda_source_train.csv"}),
               EPICSounds(str(args.data))]
    ann = JointDataset(plugins, ["EPIC100", "EPICSounds"]).load("val")
    feature_times = {v: feature_intervals(d) for v, d in ann.durations.items()}
    read_s = time.perf_counter() - t0
    segments, spec = ann.segments, WindowSpec(num_feats=50, feat_gap=0.2, feat_stride=3, window_stride=1.0)
    rss_before = peak_rss_mb()

    tracemalloc.start()
    build_windows(segments, ann.durations, feature_times, spec)
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    build_s, windows = timed(lambda: build_windows(segments, ann.durations, feature_times, spec), args.repeats)

    with tempfile.TemporaryDirectory() as cache:
        cached_windows(segments, ann.durations, feature_times, spec, cache)
        reload_s, reloaded = timed(lambda: cached_windows(segments, ann.durations, feature_times, spec, cache),
                                   args.repeats)
        cache_mb = sum(p.stat().st_size for p in Path(cache).iterdir()) / 2**20
    assert np.array_equal(reloaded.query_row, windows.query_row)

    covered = np.zeros(len(segments), dtype=bool)
    covered[windows.query_row] = True
    stream = segments["stream"].to_numpy()[windows.query_row]
    owner = np.repeat(np.arange(len(windows)), windows.queries_per_window())
    per_stream = {s: np.bincount(owner[stream == s], minlength=len(windows)) for s in ("visual", "audio")}
    counts = windows.queries_per_window()

    n_visual, n_audio = (segments["stream"] == "visual").sum(), (segments["stream"] == "audio").sum()
    print(f"EPIC-100 val + EPIC-Sounds val: {n_visual:,} + {n_audio:,} segments in {len(ann.durations)} videos "
          f"(read in {read_s:.2f} s)")
    print(f"segments queried      {covered.sum():,} / {len(segments):,}")
    print(f"windows               {len(windows):,}   (original {ORIGINAL['windows']:,})")
    print(f"queries per window    max {counts.max()}, mean {counts.mean():.1f}; visual max {per_stream['visual'].max()} "
          f"mean {per_stream['visual'].mean():.1f}, audio max {per_stream['audio'].max()} "
          f"mean {per_stream['audio'].mean():.1f}")
    print(f"build (median of {args.repeats})  {build_s * 1000:.0f} ms   (original {ORIGINAL['build_s']:.0f} s: "
          f"{ORIGINAL['build_s'] / build_s:,.0f}x)")
    print(f"cache reload          {reload_s * 1000:.1f} ms, {cache_mb:.1f} MB npz   (original {ORIGINAL['reload_s']:.0f} s)")
    print(f"peak traced numpy+python allocation during a build  {traced_peak_mb:.0f} MB")
    print(f"peak RSS of this process  {peak_rss_mb():.0f} MB (before building: {rss_before:.0f} MB; "
          f"original {ORIGINAL['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
