"""Load the original TIM's state dicts (released ``.pth.tar`` checkpoints, parity fixtures) into tim-bench's TIM.

The original names query tokens and heads by role: ``verb``, ``noun`` and ``action`` per stream.
Here the ``action`` role is the last task of its stream (e.g. ``visual_action``, ``audio_event``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from tim_bench_registry import TimBenchError

from ..model.tim import TIM
from .registered import original_datasets


class CheckpointMismatchError(TimBenchError):
    """A checkpoint's keys or shapes disagree with the model the config builds."""


def _role_targets(model: TIM) -> dict[tuple[str, str], str]:
    """(stream, role) -> native task key, for roles verb / noun / action."""
    targets = {}
    for stream in model.query_streams:
        keys = [t for t in model.tasks if t.stream == stream]
        targets[(stream, "action")] = keys[-1].key
        for task in keys[:-1]:
            targets[(stream, task.name)] = task.key
    return targets


def original_to_native(state_dict: Mapping[str, torch.Tensor], model: TIM) -> dict[str, torch.Tensor]:
    """Rename an original-layout state dict (``module.`` prefix allowed) to this model's keys."""
    roles = _role_targets(model)
    single = model.streams[0] if len(model.streams) == 1 else None
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        new = key
        if m := re.fullmatch(r"feature_encoding\.(visual|audio)_modality_encoding", key):
            new = f"modality_encodings.{m[1]}"
        elif m := re.fullmatch(r"feature_encoding\.(visual|audio)_embedder\.(.+)", key):
            new = f"embedders.{m[1]}.{m[2]}"
        elif m := re.fullmatch(r"feature_encoding\.(?:(visual|audio)_)?(verb|noun|action)_cls", key):
            stream = m[1] or single
            new = f"query_tokens.{roles.get((stream, m[2]), f'{stream}_{m[2]}')}"
        elif m := re.fullmatch(r"cls_head\.fc_(visual|audio)_(verb|noun|action)\.(weight|bias)", key):
            new = f"heads.{roles.get((m[1], m[2]), f'{m[1]}_{m[2]}')}.fc.{m[3]}"
        elif key.startswith("transformer_encoder."):
            new = "encoder." + key.removeprefix("transformer_encoder.")
        out[new] = value
    return out


def check_compatible(state_dict: Mapping[str, torch.Tensor], model: torch.nn.Module, source: str) -> None:
    """Raise CheckpointMismatchError naming every missing, unexpected and mis-shaped key."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k} {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys ({', '.join(missing[:6])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} keys ({', '.join(unexpected[:6])})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches ({'; '.join(shapes[:6])})")
        raise CheckpointMismatchError(
            f"{source} does not fit the model this config builds: {', '.join(parts)}. Check the config's "
            f"feature dims, d_model, num_layers, class counts and modalities against the checkpoint's recipe"
            + _class_count_hints(state_dict, own) + ".")


def _class_count_hints(state_dict: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]) -> str:
    """The advice the benchmark plugins register (``OriginalDataset.checkpoint_hints``) for each head whose class
    count disagrees, e.g. how to number EPIC's actions as the released models do."""
    hints = ""
    for dataset in original_datasets().values():
        for task, advice in dataset.checkpoint_hints.items():
            key = f"heads.{task}.fc.weight"
            if key in state_dict and key in own and state_dict[key].shape[0] != own[key].shape[0]:
                hints += (f"; its {task.replace('_', ' ')} head has {state_dict[key].shape[0]} classes and the "
                          f"config's {own[key].shape[0]}: {advice}")
    return hints


def is_original_layout(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for the original TIM's key names (with or without a ``module.`` prefix)."""
    return any(k.removeprefix("module.").startswith(("feature_encoding.", "transformer_encoder.", "cls_head."))
               for k in state_dict)


def load_weights(model: TIM, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Load a native or original-layout state dict strictly, after naming every disagreement."""
    if is_original_layout(state_dict):
        state_dict = original_to_native(state_dict, model)
    else:
        state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    check_compatible(state_dict, model, source)
    model.load_state_dict(state_dict, strict=True)
