"""Perception Test as the original TIM's ``--dataset perception``: its heads, metric and the file names of the
original's layout (``ORIGINAL_DATASETS``)."""
from __future__ import annotations

from tim_bench_registry import ORIGINAL_DATASETS, Task
from tim_bench_registry.original import OriginalDataset, StreamFiles

from .dataset import NUM_ACTIONS, NUM_SOUNDS, PerceptionTest
from .metrics import PerceptionMetrics

PERCEPTION = OriginalDataset(
    name="perception",
    tasks={"visual": (Task("visual", "action", NUM_ACTIONS),), "audio": (Task("audio", "sound", NUM_SOUNDS),)},
    metric=PerceptionMetrics.__name__,
    main_metric={"visual": "action_top1", "audio": "sound_top1"},
    generator="perception",
    datasets=[dict(type=PerceptionTest.__name__)],
    features={"visual": dict(type="NpyFeatures", folder="visual", intervals="visual/intervals_{split}.csv"),
              "audio": dict(type="NpyFeatures", folder="audio", intervals="audio/intervals_{split}.csv")},
    streams={"visual": StreamFiles("perception_test_visual_features", "perception_test_action_{split}_annotations.pkl",
                                   "perception_test_action_{split}_visual_feature_intervals.pkl", "visual_action",
                                   "action_class"),
             "audio": StreamFiles("perception_test_audio_features", "perception_test_sound_{split}_annotations.pkl",
                                  "perception_test_sound_{split}_audio_feature_intervals.pkl", "audio_sound",
                                  "class_id")},
    video_info="perception_test_video_metadata.pkl",
    # the original README's Perception Test Action & Sound command
    recipe=("--feat_stride", "2", "--feat_dropout", "0.1", "--seq_dropout", "0.1", "--include_verb_noun", "False"),
)
ORIGINAL_DATASETS.register(PERCEPTION.name, PERCEPTION)
