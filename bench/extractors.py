"""Frames per second of each published extractor at full size (random weights), decoding and model timed apart.

    python bench/extractors.py [--seconds 2] [--fps 25] [--size 256x456] [--only OmnivoreVideo ...] [--device auto]

Writes one H.264 video with an AAC track (tests/extractor_media.py), builds every extractor with the
arguments of its configs/extract/ recipe but ``checkpoint="random"`` (no download), extracts once to warm
up and once timed, and prints per extractor: the media frames it read (video frames for visual extractors,
spectrogram frames, i.e. STFT hops, for audio ones), decode (+ preprocessing) seconds and frames/s, model seconds and
frames/s, and features/s. The numbers are this machine's; the model runs in bfloat16 on a GPU with
``--device auto`` when one is present.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

#: extractor -> its full-size arguments (those of configs/extract/), weights random
EXTRACTORS = {
    "OmnivoreVideo": dict(checkpoint="random", variant="epic", source_height=256),
    "VideoMAEVideo": dict(weights="random", source_height=256),
    "AuditorySlowFastAudio": dict(checkpoint="random", num_classes=44, sample_rate=24000),
    "VGG19Pool5": dict(checkpoint="random"),
    "VGGishAudio": dict(checkpoint="random"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2.0, help="length of the test video")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--size", default="256x456", help="HxW of the test video (EPIC's released frames: 256x456)")
    p.add_argument("--only", nargs="+", choices=sorted(EXTRACTORS), help="run only these extractors")
    p.add_argument("--device", default="auto")
    args = p.parse_args()

    from extractor_media import write_video

    from tim_bench_registry import EXTRACTORS as REGISTRY, build, plugin_manager
    plugin_manager()
    height, width = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "bench.mp4", cls=1, seconds=args.seconds, fps=args.fps,
                            size=(height, width), sample_rate=48000)
        print(f"video: {args.seconds} s, {args.fps} fps, {width}x{height}, 48 kHz audio")
        print(f"{'extractor':24} {'device':>6} {'rows':>5} {'frames':>7} {'decode s':>9} {'decode fr/s':>12} "
              f"{'model s':>8} {'model fr/s':>11} {'features/s':>11}")
        for name in args.only or EXTRACTORS:
            extractor = build(REGISTRY, dict(type=name, device=args.device, **EXTRACTORS[name]))
            extractor.extract(video)  # warm-up: first calls allocate and pick kernels
            tic = time.perf_counter()
            rows = len(extractor.extract(video).times)
            total = time.perf_counter() - tic
            t = extractor.timing
            print(f"{name:24} {extractor.device:>6} {rows:5d} {t.frames:7d} {t.decode_s:9.2f} "
                  f"{t.frames / t.decode_s:12.1f} {t.model_s:8.2f} {t.frames / t.model_s:11.1f} "
                  f"{rows / total:11.2f}")


if __name__ == "__main__":
    main()
