"""PerceptionTest reads the official annotation JSON: ids, seconds, durations, labels, and invalid segments."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tim_bench.data.checked import load_annotations
from tim_bench_plugins.perception_test.synthetic import make_perception
from tim_bench_plugins.perception_test.dataset import PerceptionTest
from tim_bench_registry import IGNORE_LABEL, DataError


def _video(action_segments: list[dict], sound_segments: list[dict], frames: int = 300, rate: int = 30) -> dict:
    return {"metadata": {"split": "valid", "video_id": "x", "frame_rate": rate, "num_frames": frames,
                         "resolution": [1080, 1920], "audio_samples": frames // rate * 16000,
                         "audio_sample_rate": 16000},
            "action_segments": action_segments, "sound_segments": sound_segments}


def _segment(index: int, start_s: float, end_s: float, label_id: int, sound: bool = False) -> dict:
    seg = {"id": index, "label": f"class {label_id}", "label_id": label_id,
           "timestamps": [int(start_s * 1e6), int(end_s * 1e6)], "frame_ids": [0, 1], "parent_objects": []}
    return {**seg, "is_visible": True} if sound else seg


def _write(tmp_path, videos: dict) -> None:
    (tmp_path / "all_valid.json").write_text(json.dumps(videos))


def test_segments_get_unique_ids_seconds_and_one_label_column_per_stream(tmp_path):
    _write(tmp_path, {
        "video_0001": _video([_segment(0, 1.0, 2.5, 62), _segment(1, 3.0, 4.0, 5)], [_segment(0, 0.5, 1.0, 16, True)]),
        "video_0002": _video([_segment(0, 2.0, 3.0, 7)], [], frames=150),
    })
    ann = load_annotations(PerceptionTest(str(tmp_path)), "val", "PerceptionTest")  # the engine's rules hold
    seg = ann.segments.set_index("segment_id")
    assert list(seg.index) == ["video_0001_a0", "video_0001_a1", "video_0001_s0", "video_0002_a0"]
    assert seg.loc["video_0001_a0", ["start", "stop"]].tolist() == [1.0, 2.5]
    assert seg.loc["video_0001_s0", "stream"] == "audio" and seg.loc["video_0001_s0", "audio_sound"] == 16
    assert seg.loc["video_0001_s0", "visual_action"] == IGNORE_LABEL
    assert seg.loc["video_0001_a0", "visual_action"] == 62 and seg.loc["video_0001_a0", "audio_sound"] == IGNORE_LABEL
    assert ann.durations == {"video_0001": 10.0, "video_0002": 5.0}
    assert ann.labelled and [t.key for t in ann.tasks] == ["visual_action", "audio_sound"]
    assert [t.num_classes for t in ann.tasks] == [63, 17]


def test_duration_falls_back_to_the_audio_samples(tmp_path):
    video = _video([_segment(0, 1.0, 2.0, 0)], [])
    del video["metadata"]["num_frames"]
    video["metadata"]["audio_samples"] = 8 * 16000
    _write(tmp_path, {"video_0001": video})
    assert PerceptionTest(str(tmp_path)).load("val").durations == {"video_0001": 8.0}


def _bad_file(tmp_path) -> None:
    _write(tmp_path, {"video_0001": _video(
        [_segment(0, 1.0, 2.0, 3), _segment(1, 9.5, 12.0, 3), _segment(2, 4.0, 4.0, 3), _segment(3, 5.0, 4.0, 3),
         _segment(4, 1.0, 2.0, 63)],
        [_segment(0, 1.0, 2.0, 17, True), _segment(1, 2.0, 3.0, 4, True)])})


def test_invalid_segments_are_named_in_one_error_by_default(tmp_path):
    _bad_file(tmp_path)
    with pytest.raises(DataError) as err:
        PerceptionTest(str(tmp_path)).load("val")
    message = str(err.value)
    assert "all_valid.json has 5 invalid segments" in message
    for expected in ("video_0001_a1 lies outside its video", "video_0001_a2 is empty or reversed",
                     "video_0001_a3 is empty or reversed", "video_0001_a4 has a label_id outside the class list",
                     "video_0001_s0 has a label_id outside the class list"):
        assert expected in message
    assert "invalid_segments='skip'" in message


def test_skip_drops_invalid_segments_and_logs_how_many(tmp_path, caplog):
    _bad_file(tmp_path)
    with caplog.at_level(logging.WARNING):
        ann = PerceptionTest(str(tmp_path), invalid_segments="skip").load("val")
    assert sorted(ann.segments["segment_id"]) == ["video_0001_a0", "video_0001_s1"]
    assert "dropped 5 invalid segments" in caplog.text


def test_unknown_option_and_missing_file_are_sentences(tmp_path):
    with pytest.raises(DataError, match="invalid_segments is 'drop'; use one of"):
        PerceptionTest(str(tmp_path), invalid_segments="drop")
    plugin = PerceptionTest(str(tmp_path))
    assert plugin.splits() == ()
    with pytest.raises(DataError, match="all_train.json does not exist; set data_root"):
        plugin.load("train")


def test_synthetic_data_is_in_the_official_format_and_loads(tmp_path):
    make_perception(tmp_path, videos=6, visual_dim=8, audio_dim=4)
    raw = json.loads((tmp_path / "all_train.json").read_text())
    video = next(iter(raw.values()))
    assert {"split", "video_id", "frame_rate", "num_frames", "audio_samples", "audio_sample_rate"} <= set(
        video["metadata"])
    assert {"id", "label", "label_id", "timestamps", "frame_ids", "parent_objects"} <= set(video["action_segments"][0])
    assert "is_visible" in video["sound_segments"][0]
    plugin = PerceptionTest(str(tmp_path))
    assert plugin.splits() == ("train", "val")
    ann = load_annotations(plugin, "train", "PerceptionTest", training=True)
    some_video = ann.segments["video_id"].iloc[0]
    values = np.load(tmp_path / "visual" / "train" / f"{some_video}.npy")
    assert values.shape[1:] == (1, 8) and len(values) == int(np.ceil(ann.durations[some_video] / 0.2))
