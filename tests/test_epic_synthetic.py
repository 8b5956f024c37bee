"""Synthetic EPIC: the official layout read back by the plugins and features, real-annotation mode, the configs."""
from __future__ import annotations

import filecmp
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from bad_input import run_cli
from tim_bench.config import load_config
from tim_bench.runner.experiment import Experiment
from tim_bench_plugins.epic.synthetic import feature_intervals, make_epic
from tim_bench_plugins.epic.epic_kitchens import EPIC100
from tim_bench_plugins.epic.epic_sounds import EPICSounds
from tim_bench_plugins.features.npy import NpyFeatures

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DIMS = {"visual": 32, "audio": 16}
OFFICIAL_EPIC_COLUMNS = ["narration_id", "participant_id", "video_id", "narration_timestamp", "start_timestamp",
                         "stop_timestamp", "start_frame", "stop_frame", "narration", "verb", "verb_class", "noun",
                         "noun_class", "all_nouns", "all_noun_classes"]
OFFICIAL_SOUNDS_COLUMNS = ["annotation_id", "participant_id", "video_id", "start_timestamp", "stop_timestamp",
                           "start_sample", "stop_sample", "description", "class", "class_id"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return make_epic(tmp_path_factory.mktemp("epic"), videos=12, visual_dim=DIMS["visual"], audio_dim=DIMS["audio"],
                     signal=2.0)


def _features(root: Path, stream: str) -> NpyFeatures:
    return NpyFeatures(str(root), folder=f"features/{stream}", intervals=f"features/{stream}/intervals_{{split}}.csv",
                       dim=DIMS[stream])


def test_synthetic_files_have_the_official_columns(synthetic):
    epic, sounds = synthetic / "epic-kitchens-100", synthetic / "epic-sounds"
    assert list(pd.read_csv(epic / "EPIC_100_train.csv").columns) == OFFICIAL_EPIC_COLUMNS
    assert list(pd.read_csv(epic / "EPIC_100_validation.csv").columns) == OFFICIAL_EPIC_COLUMNS
    assert list(pd.read_csv(epic / "EPIC_100_test_timestamps.csv").columns) == OFFICIAL_EPIC_COLUMNS[:8]
    assert list(pd.read_csv(sounds / "EPIC_Sounds_train.csv").columns) == OFFICIAL_SOUNDS_COLUMNS
    assert list(pd.read_csv(sounds / "EPIC_Sounds_recognition_test_timestamps.csv").columns) == \
        OFFICIAL_SOUNDS_COLUMNS[:7]
    assert list(pd.read_csv(epic / "EPIC_100_video_info.csv").columns) == ["video_id", "duration", "fps", "resolution"]
    assert len(pd.read_csv(epic / "EPIC_100_verb_classes.csv")) == 97
    assert len(pd.read_csv(epic / "EPIC_100_noun_classes.csv")) == 300


def test_synthetic_round_trips_through_the_plugins_and_features(synthetic):
    epic, sounds = EPIC100(str(synthetic)), EPICSounds(str(synthetic))
    assert epic.splits() == sounds.splits() == ("train", "val", "test")
    assert sounds.tasks()[0].class_names[13] == "background"
    train_participants = set(pd.read_csv(synthetic / "epic-kitchens-100" / "EPIC_100_train.csv").participant_id)
    sources = {s: _features(synthetic, s) for s in DIMS}
    for split in ("train", "val", "test"):
        visual, audio = epic.load(split), sounds.load(split)
        assert visual.labelled == audio.labelled == (split != "test")
        if split != "train":  # one participant of each evaluation split never appears in training
            assert visual.extra["unseen_participants"] and not set(visual.extra["unseen_participants"]) & \
                train_participants
        for video, duration in {**visual.durations, **audio.durations}.items():
            for stream, source in sources.items():
                opened = source.open(split, video)
                copies = {"visual": 4, "audio": 3}[stream] if split == "train" else 1
                assert opened.values.shape == (math.ceil(duration / 0.2), copies, DIMS[stream])
                np.testing.assert_allclose(opened.times, feature_intervals(duration))
    labelled = epic.load("train").segments
    assert labelled["visual_verb"].between(0, 96).all() and labelled["visual_noun"].between(0, 299).all()
    assert (labelled["start"] < labelled.groupby("video_id")["stop"].shift()).any()  # segments overlap, as in EPIC


@pytest.mark.slow  # trains a probe on synthetic EPIC
def test_planted_signal_separates_the_classes(synthetic):
    """A linear probe on segment-mean features, fit on train, beats chance on val: the signal is learnable."""
    for plugin, stream, task in ((EPIC100(str(synthetic)), "visual", "visual_verb"),
                                 (EPICSounds(str(synthetic)), "audio", "audio_interaction")):
        source = _features(synthetic, stream)

        def segment_means(split):
            seg = plugin.load(split).segments
            means = []
            for row in seg.itertuples():
                values = source.open(split, row.video_id).values
                centre = np.arange(len(values)) * 0.2
                inside = (centre >= row.start) & (centre < row.stop)
                inside[np.abs(centre - row.start).argmin()] |= not inside.any()
                means.append(np.asarray(values[inside, 0]).mean(0))
            return np.stack(means), seg[task].to_numpy()

        x_train, y_train = segment_means("train")
        x_val, y_val = segment_means("val")
        predicted = LogisticRegression(max_iter=2000).fit(x_train, y_train).predict(x_val)
        chance = np.bincount(y_val).max() / len(y_val)  # always answering the commonest val class
        assert (predicted == y_val).mean() > 2 * chance, (task, (predicted == y_val).mean(), chance)


def test_real_annotation_mode_keeps_the_real_rows_and_durations(shared_data, tmp_path):
    out = make_epic(tmp_path, annotations=shared_data, max_videos=5, visual_dim=DIMS["visual"], audio_dim=4)
    real = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_validation.csv")
    videos = list(dict.fromkeys(real.video_id))[:5]  # P01_11 .. P01_15; the second of every four is val
    train = pd.read_csv(out / "epic-kitchens-100" / "EPIC_100_train.csv")
    val = pd.read_csv(out / "epic-kitchens-100" / "EPIC_100_validation.csv")
    assert set(val.video_id) == {videos[1]} and set(train.video_id) == set(videos) - {videos[1]}
    pd.testing.assert_frame_equal(val, real[real.video_id == videos[1]].reset_index(drop=True))
    sounds_train = pd.read_csv(out / "epic-sounds" / "EPIC_Sounds_train.csv")
    real_sounds = pd.read_csv(shared_data / "epic-sounds" / "EPIC_Sounds_validation.csv")
    assert sounds_train.annotation_id.tolist() == \
        real_sounds[real_sounds.video_id.isin(set(videos) - {videos[1]})].annotation_id.tolist()
    test = pd.read_csv(out / "epic-kitchens-100" / "EPIC_100_test_timestamps.csv")
    assert test.video_id.nunique() == 1 and "verb_class" not in test.columns
    for name in ("EPIC_100_verb_classes.csv", "EPIC_100_video_info.csv", "EPIC_100_tail_nouns.csv"):
        assert filecmp.cmp(out / "epic-kitchens-100" / name, shared_data / "epic-kitchens-100" / name, shallow=False)
    ann = EPIC100(str(out)).load("train")
    assert len(ann.segments) == len(train)
    for video, duration in ann.durations.items():
        assert _features(out, "visual").open("train", video).times.shape == (math.ceil(duration / 0.2), 2)


def test_every_epic_config_builds_on_synthetic_data(synthetic, tmp_path):
    expected = {"epic_av": ["visual_verb", "visual_noun", "visual_action", "audio_interaction"],
                "epic_visual": ["visual_verb", "visual_noun", "visual_action"], "epic_sounds": ["audio_interaction"]}
    for name, tasks in expected.items():
        streams = {t.split("_")[0] for t in tasks}
        cfg = load_config(CONFIGS / f"{name}.py", {"data_root": str(synthetic), "model.d_model": 16,
                                                   "model.num_layers": 1, "model.nhead": 2,
                                                   **{f"features.{s}.dim": DIMS[s] for s in streams}})
        assert set(cfg.features) == streams
        exp = Experiment(cfg, cache_dir=tmp_path)
        assert [t.key for t in exp.tasks] == tasks
        assert set(exp.build_model().input_dims) == streams
        val = exp.load_split("val", train=False)
        assert set(val.windows.query_row) == set(range(len(val.annotations.segments)))
    assert load_config(CONFIGS / "epic_av.py").loss.stream_weights.audio == 0.01


def test_generator_cli_rejects_mixed_options(tmp_path, shared_data):
    outcome = run_cli(["make-synthetic", "epic", str(tmp_path), "--annotations", str(shared_data), "--videos", "3"])
    assert outcome.code == 2 and "--max-videos" in outcome.output
    outcome = run_cli(["make-synthetic", "epic", str(tmp_path), "--max-videos", "3"])
    assert outcome.code == 2 and "needs --annotations" in outcome.output
