"""Checkpoints that load with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only.

Released original TIM checkpoints pickle Python objects (meters, timers); loading those needs
the explicit ``trust`` flag, never a silent fallback.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from tim_bench_registry import TimBenchError

from ..io import write_atomic


class UntrustedCheckpointError(TimBenchError):
    """A checkpoint needs full unpickling, which may run arbitrary code."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` atomically (a killed process never leaves a truncated checkpoint)."""
    return write_atomic(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """Load a checkpoint safely; with ``trust=True`` allow full unpickling (only for files you trust)."""
    path = Path(path)
    if not path.is_file():
        raise TimBenchError(f"Checkpoint {path} does not exist.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError) as exc:
        raise TimBenchError(f"{path} is not a readable torch checkpoint ({exc}); it may be truncated or another "
                            f"format.") from exc
    except pickle.UnpicklingError as exc:
        if not trust:
            raise UntrustedCheckpointError(
                f"{path} holds pickled Python objects besides weights (the original TIM saves its meters), so it "
                f"cannot be loaded safely; if you trust where it came from, pass --trust-checkpoint.") from exc
    return torch.load(path, map_location="cpu", weights_only=False)


def state_dict_of(checkpoint: dict[str, Any], path: str | Path) -> dict[str, torch.Tensor]:
    """The model weights in a tim-bench checkpoint, an original ``.pth.tar``, or a bare state dict."""
    for key in ("model", "state_dict"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise TimBenchError(f"{path} has no model weights (looked for 'model' and 'state_dict'; keys: "
                        f"{sorted(checkpoint)[:10]}).")
