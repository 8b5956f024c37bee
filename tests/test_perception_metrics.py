"""PerceptionMetrics: top-1, top-5 and mean class accuracy per stream, on hand-made predictions."""
from __future__ import annotations

import numpy as np
import pytest

from tim_bench_plugins.perception_test.metrics import PerceptionMetrics
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_registry import METRICS, DataError, SplitAnnotations, Task, build

TASKS = (Task("visual", "action", 63), Task("audio", "sound", 17))
EMPTY = SplitAnnotations(segments=None, durations={}, tasks=TASKS)


def _task(labels: list[int], ranked_first: list[int], classes: int) -> TaskPredictions:
    logits = np.tile(-np.arange(classes, dtype=np.float32), (len(labels), 1))  # class 0 best, then 1, ...
    for row, cls in enumerate(ranked_first):
        logits[row, cls] = 10.0
    return TaskPredictions(np.array([f"s{i}" for i in range(len(labels))]), logits, np.array(labels))


def _predictions(**by_task: TaskPredictions) -> Predictions:
    return Predictions("PerceptionTest", "val", TASKS, dict(by_task))


def test_values_in_percent_for_both_streams():
    # action: rows 0, 1 right at top-1; row 2 (label 3) ranked 5th (after 9, 0, 1, 2): still in the top 5
    action = _task([5, 5, 3, 40], [5, 5, 9, 9], 63)
    sound = _task([1, 2], [1, 0], 17)
    metrics = build(METRICS, {"type": "PerceptionMetrics"})(_predictions(visual_action=action, audio_sound=sound),
                                                             EMPTY)
    assert metrics["action_top1"] == pytest.approx(50.0)
    assert metrics["action_top5"] == pytest.approx(75.0)
    assert metrics["action_mca"] == pytest.approx(100 / 3)  # classes 5: 100 %, 3: 0 %, 40: 0 %
    assert metrics["sound_top1"] == pytest.approx(50.0) and metrics["sound_top5"] == pytest.approx(100.0)
    assert metrics["sound_mca"] == pytest.approx(50.0)


def test_single_stream_runs_report_their_stream_and_need_a_matching_main_metric():
    sound = _task([1], [1], 17)
    assert set(PerceptionMetrics(main_metric="sound_top1")(_predictions(audio_sound=sound), EMPTY)) == {
        "sound_top1", "sound_top5", "sound_mca"}
    with pytest.raises(DataError, match="main_metric 'action_top1' is not among"):
        PerceptionMetrics()(_predictions(audio_sound=sound), EMPTY)


def test_unlabelled_segments_are_refused():
    with pytest.raises(DataError, match="1 visual_action segments \\(first s1\\) have no label"):
        PerceptionMetrics()(_predictions(visual_action=_task([2, -1], [2, 2], 63)), EMPTY)
