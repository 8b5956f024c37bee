"""Synthetic Perception Test in the official annotation JSON format, with a planted signal TIM can learn.

Files: ``all_train.json`` and ``all_valid.json`` (one object keyed by ``video_xxxx``: ``metadata`` and
``action_segments`` / ``sound_segments`` with microsecond ``timestamps``), plus features in the
``NpyFeatures`` layout: ``{visual,audio}/{train,val}/<video_id>.npy`` ``[T, 1, D]`` every 0.2 s
(each feature spans 1 s around its centre) and ``{visual,audio}/intervals_{train,val}.csv``.
Signal: a visual feature whose centre lies inside an action carries that action's class
prototype, an audio feature inside a sound carries the sound's prototype; the rest is unit noise.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import DataError
from tim_bench_registry.files import atomic_path, write_npy
from tim_bench_registry.synthetic import check_free_space, noisy, prototypes, write_marker

from .dataset import NUM_ACTIONS, NUM_SOUNDS

FEAT_GAP, FEAT_SPAN = 0.2, 1.0
FRAME_RATE, AUDIO_RATE = 30, 16000
#: tim-bench split name -> (official file, metadata split, fraction of the videos)
SPLITS = {"train": ("all_train.json", "train", 0.8), "val": ("all_valid.json", "valid", 0.2)}
#: stream -> (JSON list, classes, segment length range in seconds)
STREAMS = {"visual": ("action_segments", NUM_ACTIONS, (1.5, 5.0)), "audio": ("sound_segments", NUM_SOUNDS, (0.5, 3.0))}


def _segments(rng: np.random.Generator, duration: float, num_classes: int, lengths: tuple[float, float]) -> list[
        tuple[float, float, int]]:
    """Non-overlapping (start, end, class) in seconds, separated by gaps of 0.3-2 s."""
    out: list[tuple[float, float, int]] = []
    t = float(rng.uniform(0.0, 2.0))
    while True:
        end = t + float(rng.uniform(*lengths))
        if end > duration - 0.1:
            return out
        out.append((round(t, 3), round(end, 3), int(rng.integers(num_classes))))
        t = end + float(rng.uniform(0.3, 2.0))


def _segment_json(stream: str, index: int, start: float, end: float, label: int) -> dict:
    """One segment as the official annotation writes it."""
    prefix = "action" if stream == "visual" else "sound"
    seg = {"id": index, "label": f"{prefix} {label:02d}", "label_id": label,
           "timestamps": [int(round(start * 1e6)), int(round(end * 1e6))],
           "frame_ids": [int(start * FRAME_RATE), int(end * FRAME_RATE)], "parent_objects": []}
    if stream == "audio":
        seg["is_visible"] = bool(index % 2)
    return seg


def _features(rng: np.random.Generator, duration: float, segments: list[tuple[float, float, int]],
              protos: np.ndarray, signal: float) -> tuple[np.ndarray, np.ndarray]:
    """Feature intervals [T, 2] and values [T, 1, D]; the last prototype row is the (zero) background."""
    centres = np.arange(int(np.ceil(duration / FEAT_GAP))) * FEAT_GAP + FEAT_GAP / 2
    times = np.stack([np.maximum(centres - FEAT_SPAN / 2, 0.0), np.minimum(centres + FEAT_SPAN / 2, duration)], 1)
    label = np.full(len(centres), len(protos) - 1)
    for start, end, cls in segments:
        label[(centres >= start) & (centres < end)] = cls
    return times, noisy(rng, protos[label], signal)[:, None]


def feature_bytes(videos: int, visual_dim: int, audio_dim: int) -> int:
    """Bytes of float32 features ``make_perception`` writes, about: its videos last 25 s on average (15-35 s)."""
    return 4 * videos * int(np.ceil(25.0 / FEAT_GAP)) * (visual_dim + audio_dim)


def make_perception(out: str | Path, videos: int = 100, seed: int = 0, visual_dim: int = 1024,
                    audio_dim: int = 2304, signal: float = 1.0) -> Path:
    """Write synthetic Perception Test with ``videos`` videos under ``out`` and return ``out``."""
    if videos < 2:
        raise DataError(f"Synthetic Perception Test needs at least 2 videos (one per split); got {videos}.")
    out = Path(out)
    check_free_space(out, feature_bytes(videos, visual_dim, audio_dim),
                     f"{videos} videos of 15-35 s, {visual_dim}-d visual + {audio_dim}-d audio",
                     smaller="--videos, --visual-dim or --audio-dim")
    rng = np.random.default_rng(seed)
    protos = {"visual": prototypes(rng, NUM_ACTIONS + 1, visual_dim),
              "audio": prototypes(rng, NUM_SOUNDS + 1, audio_dim)}
    for p in protos.values():
        p[-1] = 0.0
    n_train = min(max(1, round(SPLITS["train"][2] * videos)), videos - 1)
    ranges = {"train": range(n_train), "val": range(n_train, videos)}
    for split, (file_name, official_split, _) in SPLITS.items():
        annotations: dict[str, dict] = {}
        intervals: dict[str, list[tuple[str, float, float]]] = {s: [] for s in STREAMS}
        for i in ranges[split]:
            video_id = f"video_{i:04d}"
            duration = float(rng.uniform(15.0, 35.0))
            entry: dict[str, Any] = {"metadata": {"split": official_split, "video_id": video_id, "frame_rate": FRAME_RATE,
                                  "num_frames": int(duration * FRAME_RATE), "resolution": [1080, 1920],
                                  "audio_samples": int(duration * AUDIO_RATE), "audio_sample_rate": AUDIO_RATE,
                                  "is_cup_game": False, "is_camera_moving": False},
                     "object_tracks": [], "point_tracks": []}
            duration = entry["metadata"]["num_frames"] / FRAME_RATE
            for stream, (list_name, num_classes, lengths) in STREAMS.items():
                segments = _segments(rng, duration, num_classes, lengths)
                entry[list_name] = [_segment_json(stream, k, *seg) for k, seg in enumerate(segments)]
                times, values = _features(rng, duration, segments, protos[stream], signal)
                write_npy(out / stream / split / f"{video_id}.npy", values)
                intervals[stream] += [(video_id, a, b) for a, b in times]
            annotations[video_id] = entry
        with atomic_path(out / file_name) as tmp:
            tmp.write_text(json.dumps(annotations))
        for stream, rows in intervals.items():
            with atomic_path(out / stream / f"intervals_{split}.csv") as tmp:
                pd.DataFrame(rows, columns=["video_id", "start_sec", "stop_sec"]).to_csv(tmp, index=False)
    write_marker(out, "PerceptionTest", videos=videos, seed=seed, visual_dim=visual_dim, audio_dim=audio_dim,
                 signal=signal)
    return out
