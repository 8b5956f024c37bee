"""Estimate the memory a split's windows, batches and model activations take, and refuse a run that cannot fit
before anything large is allocated (a config such as windows.num_feats=100000 would otherwise be OOM-killed,
with other processes of the machine at risk)."""
from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tim_bench_registry import DataError

from ..data.windows import WindowSpec
from ..model.tim import TIM

FLOAT_BYTES, INDEX_BYTES = 4, 8


@dataclass(frozen=True)
class ModelSize:
    """The widths that set a TIM forward pass's activation memory."""

    d_model: int
    num_layers: int
    feedforward_scale: int


def window_bound(durations: Iterable[float], spec: WindowSpec) -> int:
    """An upper bound on the number of windows over videos of these durations (as build_windows lays them)."""
    d = np.ceil(np.asarray(list(durations), dtype=np.float64))
    return int(np.maximum(np.ceil((d - spec.size) / spec.window_stride) + 1, 1).sum()) if len(d) else 0


def estimate(num_windows: int, spec: WindowSpec, batch_size: int, row_elements: Mapping[str, int],
             model: ModelSize | None, train: bool) -> dict[str, dict[str, int]]:
    """Bytes by part, split into host memory and the device's: the windows' feature indices, one batch of
    gathered features (twice: the gather and the model's copy) and the model's activations for one batch (kept
    for the backward pass when training)."""
    batch = min(batch_size, max(num_windows, 1))
    host = {"windows (feature indices)": num_windows * spec.num_feats * INDEX_BYTES,
            "one batch of features": 2 * batch * spec.num_feats * sum(row_elements.values()) * FLOAT_BYTES}
    device: dict[str, int] = {}
    if model is not None:
        tokens = spec.num_feats * len(row_elements)
        per_layer = batch * tokens * 2 * model.d_model * FLOAT_BYTES * (6 + 2 * model.feedforward_scale)
        device["model activations of one batch"] = per_layer * (model.num_layers if train else 2)
    return {"host": host, "device": device}


def available_host_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable, lowered by a cgroup (container, SLURM) limit; None
    where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_fits(parts: dict[str, dict[str, int]], budgets: Mapping[str, int | None], what: str) -> None:
    """Raise DataError naming the estimate by part and the budget when host or device memory cannot hold ``parts``."""
    for where, sizes in parts.items():
        budget, total = budgets.get(where), sum(sizes.values())
        if budget is None or total <= budget:
            continue
        detail = ", ".join(f"{name} {_gb(n)}" for name, n in sizes.items())
        raise DataError(f"{what} needs about {_gb(total)} of {where} memory ({detail}) but {_gb(budget)} is "
                        f"available; lower windows.num_feats, the batch size or the model width, or free memory.")


def model_size(model_cfg: Mapping) -> ModelSize | None:
    """The TIM widths of ``model_cfg`` (TIM's defaults where it sets none); None for another model."""
    if model_cfg.get("type") != "TIM":
        return None
    defaults = inspect.signature(TIM).parameters
    return ModelSize(*(int(model_cfg.get(k, defaults[k].default)) for k in ("d_model", "num_layers",
                                                                           "feedforward_scale")))


def row_size(shape: tuple[int, ...]) -> int:
    """Values in one feature row of a [T, A, *inner] array: the product of ``inner``."""
    return int(math.prod(shape[2:]))
