"""Window building for EPIC-KITCHENS-100 val + EPIC-Sounds val together, on the real annotation files.

The original TIM takes 104 s and 904 MB peak RSS for these 43,608 windows and 13 s to reload its
cache (shared/reference/original_performance.md). This runs the real engine code: the EPIC100 and
EPICSounds plugins joined as a config with both datasets joins them, feature times every 0.2 s
(1-s spans) over each video's real duration, then ``build_windows`` at the EPIC defaults
(num_feats 50, feat_gap 0.2, feat_stride 3, window_stride 1.0). Prints medians over ``--repeats``.

With ``--feature-videos K`` it also writes 1024-d visual + 2304-d audio ``.npy`` features for the first K
videos at their real lengths, reads every window of them through the engine's memory-mapped
``WindowDataset``, and prints the process's anonymous and file-backed RSS as it goes: the original
loads every feature file whole (58 GiB for EPIC train+val), here anonymous memory stays flat and only
reclaimable page cache grows.

    python bench/windows.py [--data /path/to/shared/data] [--repeats 7] [--feature-videos 20]
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

import pandas as pd

from tim_bench.data.joint import JointDataset
from tim_bench.data.windows import WindowSpec, build_windows, cached_windows
from tim_bench_plugins.epic.synthetic import feature_intervals
from tim_bench_plugins.epic.epic_kitchens import EPIC100
from tim_bench_plugins.epic.epic_sounds import EPICSounds
from tim_bench_plugins.features.npy import NpyFeatures
from tim_bench_registry import SplitAnnotations

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORIGINAL = {"build_s": 104.0, "windows": 43_608, "peak_rss_mb": 904.0, "reload_s": 13.0}
FEATURE_DIMS = {"visual": 1024, "audio": 2304}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> dict[str, float]:
    """Current anonymous and file-backed (page cache, reclaimable) resident memory, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}


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
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with epic-kitchens-100/ and epic-sounds/")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--feature-videos", type=int, default=0,
                        help="also read every window of this many videos through memory-mapped features")
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
    print(f"queries per window    max {counts.max()}, mean {counts.mean():.1f}; "
          f"visual max {per_stream['visual'].max()} mean {per_stream['visual'].mean():.1f}, "
          f"audio max {per_stream['audio'].max()} "
          f"mean {per_stream['audio'].mean():.1f}")
    print(f"build (median of {args.repeats})  {build_s * 1000:.0f} ms   (original {ORIGINAL['build_s']:.0f} s: "
          f"{ORIGINAL['build_s'] / build_s:,.0f}x)")
    print(f"cache reload          {reload_s * 1000:.1f} ms, {cache_mb:.1f} MB npz   "
          f"(original {ORIGINAL['reload_s']:.0f} s)")
    print(f"peak traced numpy+python allocation during a build  {traced_peak_mb:.0f} MB")
    print(f"peak RSS of this process  {peak_rss_mb():.0f} MB (before building: {rss_before:.0f} MB; "
          f"original {ORIGINAL['peak_rss_mb']:.0f} MB)")
    if args.feature_videos:
        feature_rss(ann, spec, args.feature_videos)


def feature_rss(ann: SplitAnnotations, spec: WindowSpec, videos: int) -> None:
    """Store the first ``videos`` videos' features (bf16 host memory map), gather every window in batches of 64;
    print RSS along the way."""
    import torch  # kept out of the window figures

    from tim_bench.data.dataset import QueryTable, WindowBatches
    from tim_bench.data.store import FeatureStore
    chosen = list(dict.fromkeys(ann.segments["video_id"]))[:videos]
    durations = {v: ann.durations[v] for v in chosen}
    segments = ann.segments[ann.segments["video_id"].isin(chosen)].reset_index(drop=True)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        sources = {}
        for stream, dim in FEATURE_DIMS.items():
            folder = Path(root) / stream
            (folder / "val").mkdir(parents=True)
            rows = []
            for v, d in durations.items():
                times = feature_intervals(d)
                np.save(folder / "val" / f"{v}.npy", rng.standard_normal((len(times), 1, dim), dtype=np.float32))
                rows.append(pd.DataFrame({"video_id": v, "start_sec": times[:, 0], "stop_sec": times[:, 1]}))
            pd.concat(rows).to_csv(folder / "intervals_val.csv", index=False)
            sources[stream] = NpyFeatures(root, folder=stream, intervals=f"{stream}/intervals_{{split}}.csv", dim=dim)
        on_disk = sum(p.stat().st_size for p in Path(root).rglob("*.npy")) / 2**20
        times = {v: sources["visual"].open("val", v).times for v in chosen}
        windows = build_windows(segments, durations, times, spec)
        subset = SplitAnnotations(segments, durations, ann.tasks, extra={})
        start = rss_mb()
        store = FeatureStore(sources, "val", chosen, torch.device("cpu"), "host", "bfloat16", root)
        dataset = WindowBatches(windows, QueryTable.from_annotations(subset), store, train=False)
        print(f"features: {videos} videos, {on_disk:.0f} MB of .npy; reading all {len(windows):,} windows "
              f"(RSS at start: anon {start['RssAnon']:.0f} MB, file {start['RssFile']:.0f} MB)")
        t0 = time.perf_counter()
        batches = np.array_split(np.arange(len(dataset)), max(len(dataset) // 64, 1))
        for b, batch in enumerate(batches):
            dataset[batch.tolist()]
            i = int(batch[-1])
            if (b + 1) % max(len(batches) // 4, 1) == 0 or b + 1 == len(batches):
                now = rss_mb()
                print(f"  {i + 1:>6,} windows  anon {now['RssAnon']:.0f} MB (+{now['RssAnon'] - start['RssAnon']:.0f})"
                      f"  file-backed {now['RssFile']:.0f} MB  {(i + 1) / (time.perf_counter() - t0):,.0f} windows/s")


if __name__ == "__main__":
    main()
