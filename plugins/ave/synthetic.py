"""Synthetic AVE in the official release's exact layout, with a planted signal TIM can learn.

Files: ``Annotations.txt``, ``{train,val,test}_order.h5`` (``order``), ``visual_feature.h5``
([N, 10, 7, 7, Dv] float32), ``audio_feature.h5`` ([N, 10, Da]) and ``labels.h5`` ([N, 10, 29]), all
under HDF5 dataset ``avadataset``. Signal: during the event each second's audio carries its class
prototype, and a random patch of the 7x7 visual map carries the visual prototype (so AVGA has
something to find); background seconds carry noise plus a weak shared background pattern.
With ``omnivore_asf=True`` it also writes the Omnivore + Auditory-SlowFast layout of the second
AVE recipe (``omnivore/`` and ``asf/`` per-video ``.npy`` at 0.2-s steps, interval CSVs).
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from tim_bench_registry import DataError
from tim_bench_registry.files import atomic_path, write_npy
from tim_bench_registry.synthetic import check_free_space, noisy, prototypes, random_ids, write_marker

from .dataset import CATEGORIES

SECONDS = 10
# Distances between class means in units of the noise: a per-second linear probe on the default data
# reaches roughly 70-85 % (bench/ave_probe.py), so TIM has headroom to show temporal and AVGA gains.
AUDIO_STRENGTH = 3.0   # per VGGish second
VISUAL_STRENGTH = 1.6  # per map position inside the object patch (a quarter of the 49 positions)
VECTOR_STRENGTH = 3.0  # per feature of the Omnivore / Auditory-SlowFast vector layout, both streams
SPLIT_FRACTIONS = (("train", 0.8), ("val", 0.1), ("test", 0.1))


def _write_h5(path: Path, name: str, data: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset(name, data=data)  # contiguous: readers memory-map it


def _events(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category, start, end per video: ~60 % span the whole video, the rest 1-9 s events."""
    # the first 28 videos show every category in the official order, so ids by first appearance are official
    category = np.concatenate([np.arange(len(CATEGORIES)), rng.integers(len(CATEGORIES), size=n - len(CATEGORIES))])
    full = rng.random(n) < 0.6
    length = rng.integers(1, SECONDS, size=n)
    start = np.where(full, 0, rng.integers(0, SECONDS - length + 1))
    end = np.where(full, SECONDS, start + length)
    return category, start, end


def feature_bytes(videos: int, visual_dim: int, audio_dim: int, omnivore_asf: bool) -> int:
    """Bytes of float32 features and labels ``make_ave`` writes (told to the user before writing)."""
    per_second = 49 * visual_dim + audio_dim + len(CATEGORIES) + 1
    vectors = SECONDS * 5 * (1024 + 2304) if omnivore_asf else 0  # the .npy layout: 0.2-s steps
    return 4 * videos * (SECONDS * per_second + vectors)


def make_ave(out: str | Path, videos: int = 400, seed: int = 0, visual_dim: int = 512, audio_dim: int = 128,
             signal: float = 1.0, omnivore_asf: bool = False) -> Path:
    """Write synthetic AVE with ``videos`` videos under ``out`` and return ``out``."""
    if videos < len(CATEGORIES):
        raise DataError(f"Synthetic AVE needs at least {len(CATEGORIES)} videos (one per category); got {videos}.")
    out = Path(out)
    check_free_space(out, feature_bytes(videos, visual_dim, audio_dim, omnivore_asf),
                     f"{videos} videos, 7x7x{visual_dim} visual maps + {audio_dim}-d audio"
                     + (" + the Omnivore/Auditory SlowFast .npy layout" if omnivore_asf else ""),
                     smaller="--videos, --visual-dim or --audio-dim")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = random_ids(rng, videos)
    category, start, end = _events(rng, videos)
    lines = [f"{CATEGORIES[c]}&{v}&good&{s}&{e}" for c, v, s, e in zip(category, ids, start, end)]
    with atomic_path(out / "Annotations.txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n")

    # per-second labels, background = 28
    t = np.arange(SECONDS)
    inside = (t >= start[:, None]) & (t < end[:, None])
    label = np.where(inside, category[:, None], len(CATEGORIES))
    _write_h5(out / "labels.h5", "avadataset", np.eye(len(CATEGORIES) + 1, dtype=np.float32)[label])

    order = rng.permutation(videos)
    cut = 0
    for name, frac in SPLIT_FRACTIONS:
        size = round(frac * videos) if name != "test" else videos - cut
        _write_h5(out / f"{name}_order.h5", "order", np.sort(order[cut:cut + size]).astype(np.int64))
        cut += size

    # unit-norm prototypes: class separation is set by the strengths below, whatever the feature width
    proto_v = prototypes(rng, len(CATEGORIES) + 1, visual_dim) / np.sqrt(visual_dim)
    proto_a = prototypes(rng, len(CATEGORIES) + 1, audio_dim) / np.sqrt(audio_dim)
    proto_v[-1] *= 0.3  # background: a weak shared pattern
    proto_a[-1] *= 0.3
    audio = noisy(rng, proto_a[label], AUDIO_STRENGTH * signal)
    visual = rng.standard_normal((videos, SECONDS, 49, visual_dim), dtype=np.float32)
    patch = rng.random((videos, SECONDS, 49)) < 0.25  # where the sounding object is in each frame
    visual += np.where(patch[..., None], proto_v[label][:, :, None, :] * (VISUAL_STRENGTH * signal), 0).astype(np.float32)
    _write_h5(out / "audio_feature.h5", "avadataset", audio)
    _write_h5(out / "visual_feature.h5", "avadataset", visual.reshape(videos, SECONDS, 7, 7, visual_dim))
    if omnivore_asf:
        _write_npy_layout(out, rng, ids, label, order, signal)
    write_marker(out, "AVE", videos=videos, seed=seed, visual_dim=visual_dim, audio_dim=audio_dim, signal=signal,
                 omnivore_asf=omnivore_asf)
    return out


def _write_npy_layout(out: Path, rng: np.random.Generator, ids: list[str], label: np.ndarray, order: np.ndarray,
                      signal: float, gap: float = 0.2, dims: tuple[int, int] = (1024, 2304)) -> None:
    """Omnivore (visual) + Auditory SlowFast (audio) features every 0.2 s, 1-s spans, original npy layout."""
    steps = int(round(SECONDS / gap))
    centres = np.arange(steps) * gap
    intervals = np.stack([np.maximum(centres - 0.5, 0.0), np.minimum(centres + 0.5, SECONDS)], 1)
    second = np.minimum(centres.astype(int), SECONDS - 1)
    split_of = {}
    cut = 0
    for name, frac in SPLIT_FRACTIONS:
        size = round(frac * len(ids)) if name != "test" else len(ids) - cut
        split_of.update({int(r): name for r in order[cut:cut + size]})
        cut += size
    for stream, dim in zip(("omnivore", "asf"), dims):
        protos = prototypes(rng, label.max() + 1, dim) / np.sqrt(dim)
        rows: dict[str, list[tuple[str, float, float]]] = {name: [] for name, _ in SPLIT_FRACTIONS}
        for r, vid in enumerate(ids):
            name = f"{vid}#{r}"
            feats = noisy(rng, protos[label[r, second]], VECTOR_STRENGTH * signal)[:, None]  # [T, A=1, D]
            path = out / stream / split_of[r] / f"{name}.npy"
            write_npy(path, feats)
            rows[split_of[r]] += [(name, a, b) for a, b in intervals]
        for split, table in rows.items():
            with atomic_path(out / stream / f"intervals_{split}.csv") as tmp:
                pd.DataFrame(table, columns=["video_id", "start_sec", "stop_sec"]).to_csv(tmp, index=False)
