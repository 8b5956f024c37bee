"""EPIC-KITCHENS-100 + EPIC-Sounds as the original TIM's ``--dataset epic``: its heads, the configs a converted
command reads them with, and the file names of the original's layout (``ORIGINAL_DATASETS``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tim_bench_registry import ORIGINAL_DATASETS, Task
from tim_bench_registry.original import OriginalDataset, StreamFiles

from . import epic_kitchens, epic_sounds
from .epic_kitchens import EPIC100
from .epic_sounds import EPICSounds
from .metrics import EPICJointMetrics

#: no official file names in a converted config: only the original's files the command gives
_NO_SPLITS = {"train": None, "val": None, "test": None}


def _visual_reader(files: Mapping[str, str], video_info: str) -> dict[str, Any]:
    """EPIC100 on the original's visual pickles, with its 3806 action ids from ``action_class``."""
    return dict(type=EPIC100.__name__, folder="", split_files={**_NO_SPLITS, **files}, video_info=video_info,
                include_verb_noun=True, num_actions=epic_kitchens.RELEASED_ACTIONS, trust_pickle=True)


def _audio_reader(files: Mapping[str, str], video_info: str) -> dict[str, Any]:
    """EPICSounds on the original's audio pickles."""
    return dict(type=EPICSounds.__name__, folder="", split_files={**_NO_SPLITS, **files}, video_info=video_info,
                trust_pickle=True)


def _refusals(flags: Mapping[str, Any]) -> list[str]:
    """The official EPIC-100 metrics need the verb and noun heads the original drops with --include_verb_noun."""
    if not flags["include_verb_noun"] and "visual" in flags["data_modality"]:
        return ["--dataset epic with --include_verb_noun False (tim-bench scores EPIC-100 with the official "
                "verb/noun/action metrics, which need the verb and noun heads)"]
    return []


def _official_tables(folder: str, files: Mapping[str, str], id_column: str) -> dict[str, tuple[str, str]]:
    """The official train and val tables the original's annotation pickles keep every column of."""
    return {split: (f"{folder}/{files[split]}", id_column) for split in ("train", "val")}


EPIC = OriginalDataset(
    name="epic",
    tasks={"visual": (Task("visual", "verb", epic_kitchens.NUM_VERBS), Task("visual", "noun", epic_kitchens.NUM_NOUNS),
                      Task("visual", "action", epic_kitchens.RELEASED_ACTIONS)),
           "audio": (Task("audio", "interaction", epic_sounds.NUM_CLASSES),)},
    metric=EPICJointMetrics.__name__,
    main_metric={"visual": "all_action_accuracy_at_1", "audio": "all_interaction_accuracy_at_1"},
    generator="epic",
    datasets=[dict(type=EPIC100.__name__), dict(type=EPICSounds.__name__)],
    features={s: dict(type="NpyFeatures", folder=f"features/{s}", intervals=f"features/{s}/intervals_{{split}}.csv")
              for s in ("visual", "audio")},
    streams={"visual": StreamFiles("epic_visual_features", "epic_100_{split}_annotations.pkl",
                                   "epic_100_{split}_visual_feature_intervals.pkl", "visual_action", "action_class",
                                   _official_tables("epic-kitchens-100", epic_kitchens.SPLIT_FILES,
                                                    epic_kitchens.ID_COLUMN)),
             "audio": StreamFiles("epic_audio_features", "epic_sounds_{split}_annotations.pkl",
                                  "epic_sounds_{split}_audio_feature_intervals.pkl", "audio_interaction", "class_id",
                                  _official_tables("epic-sounds", epic_sounds.SPLIT_FILES, epic_sounds.ID_COLUMN))},
    video_info="epic_kitchens_video_metadata.pkl",
    readers={"visual": _visual_reader, "audio": _audio_reader},
    # EPIC100 numbers actions by the training file's action_class, as the original's 3806 classes
    eval_reads_train=("visual",),
    refusals=_refusals,
    checkpoint_hints={"visual_action": (
        f"the released EPIC models number {epic_kitchens.RELEASED_ACTIONS} actions by the original's mapping, so "
        f"set the EPIC100 dataset's action_vocabulary to the original's annotation file and "
        f"num_actions={epic_kitchens.RELEASED_ACTIONS} (docs/original-tim.md)")},
    default=True,  # the original's run_net.py trains on EPIC when --dataset is not given
    recipe=("--lambda_audio", "0.01"),  # the original README's EPIC-KITCHENS-100 + EPIC-Sounds command
)
ORIGINAL_DATASETS.register(EPIC.name, EPIC)
