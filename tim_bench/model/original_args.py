"""Build tim-bench's TIM from the original TIM constructor's arguments (fixtures, released recipes)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tim_bench_registry import Task

from .tim import TIM


def original_tasks(num_class: Any, data_modality: str, include_verb_noun: bool) -> tuple[Task, ...]:
    """The original's ``num_class`` -> tasks: visual (verb, noun,) action and audio action."""
    visual, audio = num_class
    tasks: list[Task] = []
    if "visual" in data_modality:
        if include_verb_noun:
            verb, noun, action = visual
            tasks += [Task("visual", "verb", int(verb)), Task("visual", "noun", int(noun))]
        else:
            action = visual[-1] if isinstance(visual, (list, tuple)) else visual
        tasks.append(Task("visual", "action", int(action)))
    if "audio" in data_modality:
        tasks.append(Task("audio", "action", int(audio)))
    return tuple(tasks)


def tim_from_original_kwargs(kwargs: Mapping[str, Any]) -> TIM:
    """A TIM equal in maths and parameters to ``time_interval_machine.models.tim.TIM(**kwargs)``."""
    input_modality = kwargs.get("input_modality", "audio_visual")
    data_modality = kwargs.get("data_modality", "audio_visual")
    dims = {"visual": kwargs.get("visual_input_dim", 1024), "audio": kwargs.get("audio_input_dim", 2304)}
    input_dims = {s: d for s, d in dims.items() if s in input_modality}
    return TIM(
        input_dims=input_dims,
        tasks=original_tasks(kwargs["num_class"], data_modality, kwargs.get("include_verb_noun", True)),
        d_model=kwargs.get("d_model", 512), nhead=kwargs.get("nhead", 8), num_layers=kwargs.get("num_layers", 4),
        feedforward_scale=kwargs.get("feedforward_scale", 4), enc_dropout=kwargs.get("enc_dropout", 0.1),
        feat_dropout=kwargs.get("feat_drop", 0.5), seq_dropout=kwargs.get("seq_drop", 0.5),
        pool_features=kwargs.get("pool_features", False),
    )
