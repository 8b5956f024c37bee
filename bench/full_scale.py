"""EPIC-100-sized data through the real data path: window build time, store build, one loader epoch, peak RSS.

    tim-bench make-synthetic epic /tmp/full --annotations ../shared/data --full --dims 8,8
    python bench/full_scale.py /tmp/full --dims 8,8 [--store host|gpu|auto] [--batch 64]
"""
from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from tim_bench.config import load_config
from tim_bench.runner.experiment import Experiment
from tim_bench.distributed import DistInfo

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> dict[str, float]:
    """This process's resident memory now (anonymous and file-backed) and its peak, in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="make-synthetic epic --full output")
    ap.add_argument("--dims", default="8,8", help="VISUAL,AUDIO widths the data was written with")
    ap.add_argument("--store", default="auto", choices=("auto", "gpu", "host"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    visual, audio = (int(d) for d in args.dims.split(","))
    cfg = load_config(REPO / "configs" / "epic_av.py", {"data_root": args.root, "features.visual.dim": visual,
                                                        "features.audio.dim": audio,
                                                        "train_cfg.feature_store": args.store})
    with tempfile.TemporaryDirectory() as cache:
        exp = Experiment(cfg, cache_dir=cache)
        for split, train in (("train", True), ("val", False)):
            t0 = time.perf_counter()
            data = exp.load_split(split, train=train)
            loaded = time.perf_counter() - t0
            t0 = time.perf_counter()
            loader = exp.loader(data, args.batch, train, DistInfo(), args.workers)
            stored = time.perf_counter() - t0
            loader.batch_sampler.set_epoch(1)
            data.dataset.set_epoch(1)
            before = rss_mb()
            t0 = time.perf_counter()
            for _ in loader:
                pass
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            epoch = time.perf_counter() - t0
            after = rss_mb()
            print(f"{split}: {len(data.windows):,} windows; annotations + windows {loaded:.1f} s, store {stored:.1f} s, "
                  f"loader epoch {epoch:.1f} s = {len(data.windows) / epoch:,.0f} windows/s; RSS anon "
                  f"{before['RssAnon']:.0f} -> {after['RssAnon']:.0f} MB, file-backed {before['RssFile']:.0f} -> "
                  f"{after['RssFile']:.0f} MB, peak {after['VmHWM']:.0f} MB", flush=True)
    print(f"peak RSS (ru_maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
