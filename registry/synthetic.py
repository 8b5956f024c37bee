"""Helpers every synthetic-data generator plugin may use: the shared options and the GENERATORS entry
(``add_common_arguments``, ``register_generator``), prototypes, noisy draws, ids and the synthetic marker."""
from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .files import write_json
from .errors import DataError
from .options import finite, integer
from .registries import GENERATORS

_log = logging.getLogger("tim_bench")

#: Largest feature width a generator writes (the widest recipe uses 2304): wider would fill the disk, not test TIM.
MAX_DIM = 16384
#: Largest planted-signal strength (relative to unit noise): far beyond any useful one, well inside float32.
_MAX_SIGNAL = 1000.0
#: argparse types of a feature width and of the planted-signal strength: out of range or not finite is a usage error.
DIM, _SIGNAL = integer(minimum=1, maximum=MAX_DIM), finite(minimum=0, maximum=_MAX_SIGNAL)


def add_common_arguments(parser: argparse.ArgumentParser, *, videos: int | None, videos_help: str, visual_dim: int,
                         visual_help: str, audio_dim: int, audio_help: str, signal: float, signal_help: str,
                         out_help: str = "output folder (becomes the config's data_root)") -> None:
    """The options every generator has, in the order ``make-synthetic NAME --help`` lists them: ``out``,
    ``--videos``, ``--seed``, ``--visual-dim``, ``--audio-dim`` and ``--signal`` with their defaults and help;
    a generator adds its own options after them."""
    parser.add_argument("out", help=out_help)
    parser.add_argument("--videos", type=integer(minimum=1), default=videos, help=videos_help)
    parser.add_argument("--seed", type=integer(minimum=0), default=0,
                        help="seed of the random generator (default 0); the same seed writes the same data")
    parser.add_argument("--visual-dim", type=DIM, default=visual_dim, help=visual_help)
    parser.add_argument("--audio-dim", type=DIM, default=audio_dim, help=audio_help)
    parser.add_argument("--signal", type=_SIGNAL, default=signal, help=signal_help)


def register_generator(name: str, description: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                       run: Callable[[argparse.Namespace], int]) -> type:
    """Register ``add_arguments`` and ``run`` as the GENERATORS entry ``name`` (``tim-bench make-synthetic NAME
    OUT``), described by the first line of ``description`` (e.g. the generator module's docstring)."""
    generator = type(f"{name.capitalize()}Generator", (), {
        "__doc__": f"`tim-bench make-synthetic {name} OUT`: {run.__module__}'s generator, as a GENERATORS entry.",
        "__module__": run.__module__, "description": description.strip().splitlines()[0],
        "add_arguments": staticmethod(add_arguments), "run": staticmethod(run)})
    GENERATORS.register_module(name=name, module=generator)
    return generator


def check_free_space(out: str | Path, nbytes: int, detail: str, smaller: str) -> None:
    """Say how many bytes of features a generator is about to write to ``out`` and refuse, before it writes
    anything, more than the disk there has free; ``smaller`` names the options that write less."""
    out = Path(out)
    existing = next((p for p in (out, *out.absolute().parents) if p.exists()), Path.cwd())
    free = shutil.disk_usage(existing).free
    size = f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e9 else f"{nbytes / 1e6:.1f} MB"
    _log.info("writing %s of features (%s) to %s; %.1f GB free there%s", size, detail, out, free / 1e9,
              f" - lower {smaller} to write less" if nbytes > 1e9 else "")
    if nbytes > free:
        raise DataError(f"The features need {nbytes / 1e9:.1f} GB but {out} has {free / 1e9:.1f} GB free; lower "
                        f"{smaller}, or choose another folder.")


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
    ids: dict[str, None] = {}  # insertion-ordered
    while len(ids) < n:
        ids.setdefault("".join(rng.choice(alphabet, length)))
    return list(ids)


#: The file that marks a folder as generated data (the engine reads it into a run record's ``synthetic_data``).
MARKER = "tim_bench_synthetic.json"


def write_marker(out: Path, dataset: str, **params: object) -> None:
    """Mark a folder as generated data, so run records and leaderboards never pass it off as real."""
    write_json(Path(out) / MARKER, {"dataset": dataset, "generator": "tim-bench make-synthetic", **params})
