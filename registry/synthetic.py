"""Helpers every synthetic-data generator plugin may use: prototypes, noisy draws, ids and the synthetic marker."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import write_json

#: Largest feature width a generator writes (the widest recipe uses 2304): wider would fill the disk, not test TIM.
MAX_DIM = 16384
#: Largest planted-signal strength (relative to unit noise): far beyond any useful one, well inside float32.
MAX_SIGNAL = 1000.0


def prototypes(rng: np.random.Generator, num_classes: int, dim: int) -> np.ndarray:
    """[C, dim] unit-norm class prototypes scaled to sqrt(dim), so a per-feature SNR is dim-independent."""
    p = rng.standard_normal((num_classes, dim)).astype(np.float32)
    return p / np.linalg.norm(p, axis=1, keepdims=True) * np.sqrt(dim)


def noisy(rng: np.random.Generator, signal: np.ndarray, strength: float, noise: float = 1.0) -> np.ndarray:
    """signal * strength + unit Gaussian noise * noise, in float32."""
    return (signal * strength + rng.standard_normal(signal.shape, dtype=np.float32) * noise).astype(np.float32)


def random_ids(rng: np.random.Generator, n: int, length: int = 11) -> list[str]:
    """YouTube-like unique ids."""
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    ids: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        s = "".join(rng.choice(alphabet, length))
        if s not in ids:
            ids.add(s)
            out.append(s)
    return out


MARKER = "tim_bench_synthetic.json"
#: The engine's output-folder kind (tim_bench.outputs) of a folder `make-synthetic` writes.
OUTPUT_KIND = "synthetic dataset"


def write_marker(out: Path, dataset: str, **params: object) -> None:
    """Mark a folder as generated data, so run records and leaderboards never pass it off as real."""
    write_json(Path(out) / MARKER, {"dataset": dataset, "generator": "tim-bench make-synthetic", **params})


def is_synthetic(data_root: str | Path) -> bool:
    """True when ``data_root`` was written by ``tim-bench make-synthetic``."""
    return (Path(data_root) / MARKER).is_file()
