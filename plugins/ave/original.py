"""AVE as the original TIM's ``--dataset ave``: its heads, metric, the file names of the original's layout and
what tim-bench cannot convert for it (``ORIGINAL_DATASETS``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tim_bench_registry import ORIGINAL_DATASETS, Task
from tim_bench_registry.original import OriginalDataset, StreamFiles

from .dataset import AVE, NUM_CLASSES
from .metrics import AVEAccuracy


def _refusals(flags: Mapping[str, Any]) -> list[str]:
    """The AVE metric fuses both streams, so a converted run needs both."""
    if flags["data_modality"] != "audio_visual":
        return ["--dataset ave with one data modality (the AVE metric fuses both streams)"]
    return []


ORIGINAL_AVE = OriginalDataset(
    name="ave",
    tasks={"visual": (Task("visual", "event", NUM_CLASSES),), "audio": (Task("audio", "event", NUM_CLASSES),)},
    metric=AVEAccuracy.__name__,
    main_metric={"visual": "acc_visual", "audio": "acc_visual"},
    generator="ave",
    datasets=[dict(type=AVE.__name__)],
    features={"visual": dict(type="HDF5RowFeatures", file="visual_feature.h5", feat_gap=1.0),
              "audio": dict(type="HDF5RowFeatures", file="audio_feature.h5", feat_gap=1.0)},
    # the original's AVE loader labels the visual stream from class_id too (it copies it over action_class)
    streams={"visual": StreamFiles("AVE_visual_features", "AVE_{split}_annotations.pkl",
                                   "AVE_{split}_visual_feature_intervals.pkl", "visual_event", "class_id"),
             "audio": StreamFiles("AVE_audio_features", "AVE_{split}_annotations.pkl",
                                  "AVE_{split}_audio_feature_intervals.pkl", "audio_event", "class_id")},
    video_info="AVE_video_metadata.pkl",
    refusals=_refusals,
    # the original README's AVE command with VGG features: 7x7 maps pooled by AVGA (--apply_feature_pooling True)
    recipe=("--feat_stride", "1", "--feat_gap", "1.0", "--num_feats", "10", "--feat_dropout", "0.1", "--seq_dropout",
            "0.1", "--d_model", "256", "--apply_feature_pooling", "True", "--lr", "5e-4", "--lambda_audio", "0.1",
            "--lambda_drloc", "0.1", "--mixup_alpha", "0.5", "--include_verb_noun", "False"),
    unconvertible_options={"omnivore_asf": "--layout original converts the AVE VGG layout only; drop --omnivore-asf "
                                           "(or use the official layout with configs/ave_omnivore_asf.py)"},
)
ORIGINAL_DATASETS.register(ORIGINAL_AVE.name, ORIGINAL_AVE)
