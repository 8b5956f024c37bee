"""The EPIC100 and EPICSounds dataset plugins on the real annotation files, their pickles, and bad rows."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tim_bench.data.checked import load_annotations
from tim_bench.data.joint import JointDataset
from tim_bench.data.windows import WindowSpec, build_windows
from tim_bench_plugins.epic.synthetic import feature_intervals
from tim_bench_plugins.epic.epic_kitchens import EPIC100
from tim_bench_plugins.epic.epic_sounds import EPICSounds
from tim_bench_registry import DataError

from helpers import full_release

UDA_TRAIN = {"train": "EPIC_100_uda_source_train.csv"}


@pytest.fixture(scope="module")
def epic(shared_data) -> EPIC100:
    return EPIC100(str(shared_data), split_files=UDA_TRAIN)


@pytest.fixture(scope="module")
def sounds(shared_data) -> EPICSounds:
    return EPICSounds(str(shared_data))


def raw(shared_data: Path, name: str) -> pd.DataFrame:
    """An annotation file as pandas reads it: the independent count the plugin's table is checked against."""
    folder = "epic-sounds" if name.startswith("EPIC_Sounds") else "epic-kitchens-100"
    return pd.read_csv(shared_data / folder / name)


def test_epic100_validation_split_and_what_the_official_metrics_need(epic, shared_data):
    val = epic.load("val")
    seg = val.segments
    rows = raw(shared_data, "EPIC_100_validation.csv")
    assert val.labelled and len(seg) == len(rows) and seg["video_id"].nunique() == rows.video_id.nunique() == \
        len(val.durations)
    if full_release(shared_data):
        assert (len(seg), len(val.durations)) == (9668, 138)
    assert (seg["stream"] == "visual").all() and seg["segment_id"].is_unique
    first = seg.iloc[0]
    assert (first.segment_id, first.start, first.stop, first.visual_verb, first.visual_noun) == \
        ("P01_11_0", 0.0, 1.89, 0, 2)
    assert val.durations["P01_11"] == pytest.approx(561.527633)
    assert [(t.key, t.num_classes) for t in epic.tasks()][:2] == [("visual_verb", 97), ("visual_noun", 300)]
    assert epic.tasks()[0].class_names[:3] == ("take", "put", "wash")
    assert len(val.extra["tail_verbs"]) == 86 and len(val.extra["tail_nouns"]) == 228
    assert val.extra["unseen_participants"] == ["P18", "P32"]
    participants = pd.Series(val.extra["participant_id"])
    assert len(participants) == len(rows) and participants["P01_11_0"] == "P01"
    unseen = participants.isin(val.extra["unseen_participants"]).sum()
    assert unseen == rows.participant_id.isin(["P18", "P32"]).sum() > 0
    if full_release(shared_data):
        assert unseen == 1065  # the official unseen subset


def test_epic100_training_subset_and_unlabelled_test_timestamps(epic, shared_data):
    train = epic.load("train")
    rows = raw(shared_data, "EPIC_100_uda_source_train.csv")
    assert train.labelled and len(train.segments) == len(rows)
    assert train.segments["video_id"].nunique() == rows.video_id.nunique()
    if full_release(shared_data):
        assert (len(train.segments), train.segments["video_id"].nunique()) == (16115, 148)
    assert "unseen_participants" not in train.extra
    assert (train.segments["visual_action"] >= 0).all()  # every training pair is in the vocabulary
    test = epic.load("test")
    rows = raw(shared_data, "EPIC_100_test_timestamps.csv")
    assert not test.labelled and len(test.segments) == len(rows)
    assert test.segments["video_id"].nunique() == rows.video_id.nunique()
    if full_release(shared_data):
        assert (len(test.segments), test.segments["video_id"].nunique()) == (13092, 67)
    assert (test.segments[["visual_verb", "visual_noun", "visual_action"]] == -1).all().all()
    assert test.extra["unseen_participants"] == ["P33", "P34", "P36"]
    assert epic.splits() == ("train", "val", "test")


def test_action_vocabulary_is_the_sorted_training_pairs(epic, shared_data):
    train = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_uda_source_train.csv")
    pairs = sorted(set(zip(train.verb_class, train.noun_class)))
    assert epic.vocabulary == pairs
    action = epic.tasks()[2]
    assert action.key == "visual_action" and action.num_classes == len(pairs)
    assert action.class_names[0] == f"{epic.verb_names[pairs[0][0]]},{epic.noun_names[pairs[0][1]]}"
    if full_release(shared_data):
        assert len(pairs) == 1663 and action.class_names[0] == "take,tap"
    seg = epic.load("val").segments
    inside = seg["visual_action"] >= 0
    decoded = np.array(pairs)[seg.loc[inside, "visual_action"]]
    np.testing.assert_array_equal(decoded, seg.loc[inside, ["visual_verb", "visual_noun"]].to_numpy())
    unseen = ~seg.loc[~inside, ["visual_verb", "visual_noun"]].apply(tuple, axis=1).isin(set(pairs))
    assert (~inside).any() and unseen.all()  # pairs never seen in training get -1
    if full_release(shared_data):
        assert (~inside).sum() == 977


def test_epic_sounds_validation_and_test(sounds, shared_data):
    val = sounds.load("val")
    seg = val.segments
    rows = raw(shared_data, "EPIC_Sounds_validation.csv")
    assert val.labelled and len(seg) == len(rows) and seg["video_id"].nunique() == rows.video_id.nunique()
    assert (seg["stream"] == "audio").all() and list(seg.columns[-1:]) == ["audio_interaction"]
    task, = sounds.tasks()
    assert (task.key, task.num_classes) == ("audio_interaction", 44)
    assert task.class_names[13] == "background" and task.class_names[4] == "rustle"
    assert (seg["audio_interaction"] == 13).sum() == (rows.class_id == 13).sum()
    assert (seg.iloc[0].start, seg.iloc[0].stop) == (2.069, 2.993)
    test = sounds.load("test")
    assert not test.labelled and len(test.segments) == len(raw(shared_data, "EPIC_Sounds_recognition_test_timestamps.csv"))
    assert (test.segments["audio_interaction"] == -1).all()
    if full_release(shared_data):
        assert (len(seg), seg["video_id"].nunique(), (seg["audio_interaction"] == 13).sum(), len(test.segments)) == \
            (8035, 137, 33, 5131)
    assert sounds.splits() == ("val", "test")  # EPIC_Sounds_train.csv is not in the shared data


def test_joint_windows_query_every_real_validation_segment(epic, sounds, shared_data):
    ann = JointDataset([epic, sounds], ["EPIC100", "EPICSounds"]).load("val")
    visual, audio = raw(shared_data, "EPIC_100_validation.csv"), raw(shared_data, "EPIC_Sounds_validation.csv")
    assert len(ann.segments) == len(visual) + len(audio)
    assert len(ann.durations) == len(set(visual.video_id) | set(audio.video_id))
    times = {v: feature_intervals(d) for v, d in ann.durations.items()}
    windows = build_windows(ann.segments, ann.durations, times, WindowSpec(50, 0.2, 3, 1.0, 0.2))
    if full_release(shared_data):
        assert len(windows) == 43608  # as the original builds them
    assert np.array_equal(np.unique(windows.query_row), np.arange(len(ann.segments)))


@pytest.mark.filterwarnings("ignore:numpy.core.numeric is deprecated:DeprecationWarning")  # the real 2.x-era pickle
def test_pickles_are_refused_without_trust_and_read_with_it(shared_data):
    pkl = {"val": "EPIC_100_validation.pkl"}
    with pytest.raises(DataError, match="trust_pickle=True"):
        EPIC100(str(shared_data), split_files={**UDA_TRAIN, **pkl}).load("val")
    from_pickle = EPIC100(str(shared_data), split_files={**UDA_TRAIN, **pkl}, trust_pickle=True).load("val")
    from_csv = EPIC100(str(shared_data), split_files=UDA_TRAIN).load("val")
    pd.testing.assert_frame_equal(from_pickle.segments, from_csv.segments)
    assert from_pickle.extra["participant_id"] == from_csv.extra["participant_id"]

    with pytest.raises(DataError, match="trust_pickle=True"):
        EPICSounds(str(shared_data), split_files={"val": "EPIC_Sounds_validation.pkl"})
    sounds = EPICSounds(str(shared_data), split_files={"val": "EPIC_Sounds_validation.pkl"}, trust_pickle=True)
    pd.testing.assert_frame_equal(sounds.load("val").segments, EPICSounds(str(shared_data)).load("val").segments)


def test_original_tim_pickles_bring_their_own_action_ids(shared_data, tmp_path):
    """The original's modified pickles: index narration_id, action_class ids, a video-info pickle."""
    everything = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_validation.csv")
    real = everything.head(40)
    folder = tmp_path / "epic-kitchens-100"
    folder.mkdir()
    columns = ["video_id", "start_timestamp", "stop_timestamp", "verb_class", "noun_class"]
    table = real.set_index("narration_id")[columns]
    table["action_class"] = np.arange(len(table)) % 7 + 100
    train = everything[everything.video_id != real.video_id.iloc[0]].head(40).set_index("narration_id")[columns]
    train["action_class"] = np.arange(len(train)) % 7 + 100  # training and validation share no video
    train.to_pickle(folder / "train.pkl")
    table.to_pickle(folder / "val.pkl")
    table.drop(columns=["verb_class", "noun_class", "action_class"]).to_pickle(folder / "test.pkl")
    info = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_video_info.csv").set_index("video_id")
    info[["duration"]].to_pickle(folder / "video_info.pkl")
    files = {"train": "train.pkl", "val": "val.pkl", "test": "test.pkl"}

    with pytest.raises(DataError, match="trust_pickle"):
        EPIC100(str(tmp_path), split_files=files, video_info="video_info.pkl")
    epic = EPIC100(str(tmp_path), split_files=files, video_info="video_info.pkl", num_actions=3806,
                   trust_pickle=True)
    assert epic.tasks()[2].num_classes == 3806 and epic.vocabulary[100] == tuple(train.iloc[0][["verb_class",
                                                                                                "noun_class"]])
    val = epic.load("val")
    assert val.segments["segment_id"].tolist() == real["narration_id"].tolist()
    np.testing.assert_array_equal(val.segments["visual_action"], table["action_class"])
    assert val.extra["participant_id"]["P01_11_0"] == "P01"  # from the video id when the pickle has no column
    assert not epic.load("test").labelled
    assert EPIC100(str(tmp_path), split_files=files, video_info="video_info.pkl", trust_pickle=True) \
        .tasks()[2].num_classes == 107  # without num_actions: the largest id + 1


def _bad_copy(shared_data, tmp_path, dataset: str, file: str, edits: dict) -> tuple[str, str]:
    """data_root holding both datasets' real files, ``file`` cut to 50 rows with row 3's columns set as ``edits``
    says; returns the root and that row's id."""
    for name in ("epic-kitchens-100", "epic-sounds"):
        shutil.copytree(shared_data / name, tmp_path / name)
    path = tmp_path / dataset / file
    table = pd.read_csv(path).head(50)
    for column, value in edits.items():
        table[column] = table[column].astype(object)
        table.loc[3, column] = value
    path.chmod(0o644)
    table.to_csv(path, index=False)
    return str(tmp_path), str(table.iloc[3, 0])


@pytest.mark.parametrize("edits,message", [
    ({"stop_timestamp": "00:00:00.00"}, r"row 4 \({id}\) starts at .* s and stops at 0 s; a segment needs start "
                                        r"< stop"),
    ({"verb_class": 97}, r"row 4 \({id}\): verb_class 97 outside 0..96"),
    ({"noun_class": -5}, r"row 4 \({id}\): noun_class -5 outside 0..299"),
    ({"video_id": "P99_99"}, "segment {id} is in video P99_99, which has no duration"),
    ({"start_timestamp": "01:00:00.00", "stop_timestamp": "01:00:01.00"},
     "segment {id} starts at 3600.0 s, after the end of video P01_11"),
    ({"start_timestamp": "0:1x:2"}, r"row 4 \({id}\) has start_timestamp '0:1x:2': not HH:MM:SS"),
    ({"start_timestamp": "00:00:08:76"}, r"row 4 \({id}\) has start_timestamp '00:00:08:76': 4 fields"),
    ({"stop_timestamp": "00:00:75.00"}, r"row 4 \({id}\) has stop_timestamp '00:00:75.00': seconds 75.00 past 59"),
    ({"stop_timestamp": "02:00:00.00"}, r"labelled segment {id} of video P01_11 runs \[.*7200\] s, but the video "
                                        r"lasts 561.528 s"),
    ({"noun_class": "lid"}, r"row 4 \({id}\) has noun_class 'lid', not a class id"),
])
def test_bad_epic100_rows_name_the_file_and_row(shared_data, tmp_path, edits, message):
    root, row = _bad_copy(shared_data, tmp_path, "epic-kitchens-100", "EPIC_100_validation.csv", edits)
    with pytest.raises(DataError, match=f"EPIC_100_validation.csv: {message.format(id=row)}"):
        load_annotations(EPIC100(root, split_files=UDA_TRAIN), "val", "EPIC100")  # the engine's rules name it too


def test_bad_epic_sounds_rows_name_the_file_and_row(shared_data, tmp_path):
    root, row = _bad_copy(shared_data, tmp_path, "epic-sounds", "EPIC_Sounds_validation.csv", {"class_id": 44})
    with pytest.raises(DataError, match=rf"EPIC_Sounds_validation.csv: row 4 \({row}\): class_id 44 "
                                        rf"outside 0..43"):
        EPICSounds(root).load("val")


def test_missing_files_say_what_to_do(shared_data, tmp_path):
    with pytest.raises(DataError, match="action vocabulary from the training annotations.*split_files.train"):
        EPIC100(str(shared_data))  # EPIC_100_train.csv is not in the shared data
    with pytest.raises(DataError, match="EPIC100 has splits .* asks for 'holdout'"):
        EPIC100(str(shared_data), split_files=UDA_TRAIN).load("holdout")
    with pytest.raises(DataError, match="video info file .* does not exist"):
        EPICSounds(str(shared_data), video_info="nowhere.csv").load("val")


def test_official_files_pass_the_strict_timestamp_and_overrun_checks(epic, sounds):
    """Every official file reads under the strict HH:MM:SS.ff parser and the labelled-overrun rule; the only
    suspicious content is the official EPIC-Sounds test segment that ends 691 s after its video (a warning)."""
    from tim_bench.data.suspicious import split_warnings
    warnings = []
    for plugin in (epic, sounds):
        for split in plugin.splits():
            ann = load_annotations(plugin, split, type(plugin).__name__, training=split == "train")
            warnings += split_warnings(split, ann, {})
    assert len(warnings) == 1 and "P34_103_1 ends 691.1 s after video P34_103" in warnings[0], warnings
