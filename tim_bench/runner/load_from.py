"""``load_from`` (mmengine's name): start training from a checkpoint's weights, as the original's
``--train --pretrained_model``. The weights load strictly through the converter (original or tim-bench
layout), before the first step; optimizer, schedule and epoch count start fresh. ``--resume`` wins
over it, as in mmengine: a resumed run continues from its own last.pth.

Config: ``load_from = "model.pth"`` (read with ``weights_only``), or ``load_from = dict(path=...,
trust=True)`` for files that also pickle objects (the original's ``.pth.tar`` keeps its meters). A zoo
checkpoint name (``load_from = "tim_ave"``, ``tim-bench zoo``) is fetched and verified first. The run record
keeps the file's sha256.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn
from tim_bench_registry.checkpoints import load_checkpoint

from ..io import sha256_file
from ..schema import ConfigError
from ..original.convert import load_weights
from ..modelzoo.download import resolve_checkpoint
from .checkpoint import state_dict_of


def load_from_spec(value: Any) -> tuple[Path, bool] | None:
    """(path, trust) of a config's ``load_from``; None when unset. A malformed value raises ConfigError."""
    if value in (None, ""):
        return None
    if isinstance(value, (str, Path)):
        return Path(value), False
    if isinstance(value, Mapping) and set(value) <= {"path", "trust"} and isinstance(value.get("path"), (str, Path)) \
            and isinstance(value.get("trust", False), bool):
        return Path(value["path"]), bool(value.get("trust", False))
    raise ConfigError(f"load_from={value!r} is not valid: give a checkpoint path, or dict(path=PATH, trust=True) for "
                      f"a checkpoint that pickles objects (the original TIM's .pth.tar).")


def load_initial_weights(model: nn.Module, value: Any) -> dict[str, Any] | None:
    """Load ``load_from``'s weights into ``model`` strictly; returns what the run record keeps, or None."""
    spec = load_from_spec(value)
    if spec is None:
        return None
    path, trust = resolve_checkpoint(spec[0])[0], spec[1]
    checkpoint = load_checkpoint(path, how_to_trust=f"set load_from=dict(path='{path}', trust=True)", trust=trust)
    load_weights(model, state_dict_of(checkpoint, path), f"load_from {path}")
    return load_from_record(value)


def load_from_record(value: Any) -> dict[str, Any] | None:
    """What the run record keeps of ``load_from``: the resolved path, the zoo name (None for a file given by path),
    the trust flag and the sha256 of the file's bytes; None when unset."""
    spec = load_from_spec(value)
    if spec is None:
        return None
    path, zoo = resolve_checkpoint(spec[0])
    return {"path": str(path.resolve()), "zoo": zoo, "trust": spec[1], "sha256": sha256_file(path)}
