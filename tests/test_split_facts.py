"""What a run states beside its numbers, on real annotation tables: EPIC-100's empty subsets and why, and the
timestamps file a submission covers."""
from __future__ import annotations

import pandas as pd

from tim_bench.runner.split_facts import describe_submission, empty_metric_groups, split_summary, submission_coverage
from tim_bench_plugins.epic.metrics import EPIC100Metrics
from tim_bench_plugins.epic.writers import EPIC100ActionSubmission
from tim_bench_registry import SplitAnnotations, Task

TASKS = (Task("visual", "verb", 97), Task("visual", "noun", 300))


def _annotations(participants: list[str], unseen: list[str] | None, tails: bool = True) -> SplitAnnotations:
    ids = [f"P0{i}_01_{i}" for i in range(len(participants))]
    segments = pd.DataFrame({"segment_id": ids, "video_id": "P01_01", "start": 0.0, "stop": 1.0, "stream": "visual",
                             "visual_verb": [1, 1, 2][: len(ids)], "visual_noun": [5, 6, 5][: len(ids)]})
    extra = {"participant_id": dict(zip(ids, participants))}
    if unseen is not None:
        extra["unseen_participants"] = unseen
    if tails:
        extra.update(tail_verbs=[2], tail_nouns=[6])
    return SplitAnnotations(segments, {"P01_01": 10.0}, TASKS, extra=extra)


def test_unseen_group_is_named_empty_when_no_segment_is_from_an_unseen_participant():
    metric = EPIC100Metrics()
    empty = empty_metric_groups(metric, _annotations(["P01", "P02", "P01"], unseen=["P09", "P10"]))
    assert list(empty) == ["unseen"] and "none of its 3 labelled segments" in empty["unseen"], empty
    assert "P09" in empty["unseen"]
    assert empty_metric_groups(metric, _annotations(["P01", "P09", "P01"], unseen=["P09"])) == {}
    missing = empty_metric_groups(metric, _annotations(["P01"] * 3, unseen=None, tails=False))
    assert set(missing) == {"tail", "unseen"}


def test_split_summary_counts_and_chance():
    summary = split_summary("val", _annotations(["P01", "P02", "P01"], unseen=None))
    assert summary["videos"] == 1 and summary["segments"] == {"visual": 3}
    verb = summary["tasks"]["visual_verb"]
    assert verb["labelled"] == 3 and verb["majority_class"] == 1 and verb["class_counts"] == {"1": 2, "2": 1}
    assert abs(verb["chance_majority"] - 200 / 3) < 1e-3 and abs(verb["chance_uniform"] - 100 / 97) < 1e-3


def test_submission_coverage_names_the_timestamps_file(tmp_path):
    stamps = tmp_path / "EPIC_100_test_timestamps.csv"
    pd.DataFrame({"narration_id": [f"P01_01_{i}" for i in range(165)], "video_id": "P01_01"}).to_csv(stamps,
                                                                                                   index=False)
    writer = EPIC100ActionSubmission(timestamps=stamps.name, data_root=tmp_path)
    entry = submission_coverage(writer, tmp_path / "sub.zip", synthetic=True)
    assert entry["segments"] == 165 and entry["timestamps"] == str(stamps)
    line = describe_submission(entry)
    assert f"all 165 segments listed in {stamps}" in line and "do not upload it" in line
    assert "not checked" in describe_submission(submission_coverage(EPIC100ActionSubmission(), tmp_path / "s.zip",
                                                                     synthetic=False))
