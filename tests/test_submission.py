"""Submission zips: exact format, round trip, refusals before writing, key-order independence, the original dict."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from helpers import ANNOTATIONS
import torch

from tim_bench_plugins.epic.official import epic100_metrics, epic_sounds_metrics
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_plugins.epic.writers import EPIC100ActionSubmission, EPICSoundsSubmission
from tim_bench.original.original_dict import export_original_predictions
from tim_bench_plugins.epic.submission_reader import read_submission
from tim_bench_registry import WRITERS, DataError, Task, TimBenchError, build

DATA = ANNOTATIONS  # a few real rows (tests/data), or the full files
TEST_TIMESTAMPS = DATA / "epic-kitchens-100" / "EPIC_100_test_timestamps.csv"


def epic_predictions(n_visual: int = 12, n_audio: int = 9, seed: int = 0) -> Predictions:
    """EPIC-100 + EPIC-Sounds predictions with random logits; the noun rows are stored in another order."""
    rng = np.random.default_rng(seed)
    v_ids = np.array([f"P01_101_{i}" for i in range(n_visual)])
    a_ids = np.array([f"P02_106_{i}" for i in range(n_audio)])
    perm = rng.permutation(n_visual)
    actions = ("0,1", "0,2", "1,1", "2,5", "3,3", "4,0")
    tasks = (Task("visual", "verb", 97), Task("visual", "noun", 300), Task("visual", "action", 6, actions),
             Task("audio", "interaction", 44))
    unlabelled = np.full(n_visual, -1)
    by_task = {
        "visual_verb": TaskPredictions(v_ids, rng.normal(size=(n_visual, 97)).astype(np.float32), unlabelled),
        "visual_noun": TaskPredictions(v_ids[perm], rng.normal(size=(n_visual, 300)).astype(np.float32), unlabelled),
        "visual_action": TaskPredictions(v_ids, rng.normal(size=(n_visual, 6)).astype(np.float32), unlabelled),
        "audio_interaction": TaskPredictions(a_ids, rng.normal(size=(n_audio, 44)).astype(np.float32),
                                             np.full(n_audio, -1)),
    }
    return Predictions("epic", "test", tasks, by_task)


def _in_verb_order(predictions: Predictions, key: str) -> np.ndarray:
    task = predictions.task(key)
    rows = pd.Index(task.ids).get_indexer(predictions.task("visual_verb").ids)
    return task.logits[rows]


def test_epic100_zip_has_the_official_layout_and_round_trips(tmp_path):
    predictions = epic_predictions()
    out = build(WRITERS, dict(type="EPIC100ActionSubmission"))(predictions, tmp_path / "sub.zip")
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["test.json"]
        assert archive.getinfo("test.json").compress_type == zipfile.ZIP_DEFLATED
        text = archive.read("test.json").decode()
    document = json.loads(text)
    assert text == json.dumps(document)  # default separators, no indentation
    assert list(document) == ["version", "challenge", "sls_pt", "sls_tl", "sls_td", "results"]
    assert (document["version"], document["challenge"]) == ("0.2", "action_recognition")
    assert (document["sls_pt"], document["sls_tl"], document["sls_td"]) == (2, 3, 4)
    entry = document["results"]["P01_101_0"]
    assert list(entry) == ["verb", "noun"]
    assert list(entry["verb"]) == [str(c) for c in range(97)] and list(entry["noun"]) == [str(c) for c in range(300)]

    challenge, scores = read_submission(out)
    assert challenge.name == "epic-100-action"
    assert scores["ids"].tolist() == predictions.task("visual_verb").ids.tolist()
    np.testing.assert_array_equal(scores["verb"].astype(np.float32), predictions.task("visual_verb").logits)
    np.testing.assert_array_equal(scores["noun"].astype(np.float32), _in_verb_order(predictions, "visual_noun"))


def test_sounds_zip_header_and_round_trip(tmp_path):
    predictions = epic_predictions()
    out = EPICSoundsSubmission(sls_pt=0, sls_tl=5, sls_td=1, t_mod=2)(predictions, tmp_path / "sounds.zip")
    challenge, scores = read_submission(out)
    with zipfile.ZipFile(out) as archive:
        document = json.loads(archive.read("test.json"))
    assert {k: document[k] for k in document if k != "results"} == {
        "version": "0.1", "challenge": "audio_based_interaction_recognition", "sls_pt": 0, "sls_tl": 5,
        "sls_td": 1, "t_mod": 2}
    assert challenge.name == "epic-sounds"
    assert scores["ids"].tolist() == predictions.task("audio_interaction").ids.tolist()
    np.testing.assert_array_equal(scores["interaction"].astype(np.float32),
                                  predictions.task("audio_interaction").logits)


def test_ids_must_match_the_timestamps_file(tmp_path):
    predictions = epic_predictions()
    ids = predictions.task("visual_verb").ids.tolist()
    more = tmp_path / "more.csv"
    pd.DataFrame({"narration_id": ids + ["P09_01_0", "P09_01_1"]}).to_csv(more, index=False)
    with pytest.raises(DataError, match=r"lack 2 of the 14 test segments .*first P09_01_0, P09_01_1"):
        EPIC100ActionSubmission(timestamps=str(more))(predictions, tmp_path / "a.zip")
    fewer = tmp_path / "fewer.csv"
    pd.DataFrame({"narration_id": ids[3:]}).to_csv(fewer, index=False)
    with pytest.raises(DataError, match=r"hold 3 segments that .* does not list \(first P01_101_0, P01_101_1"):
        EPIC100ActionSubmission(timestamps=str(fewer))(predictions, tmp_path / "b.zip")
    assert not list(tmp_path.glob("*.zip"))
    exact = tmp_path / "exact.csv"
    pd.DataFrame({"narration_id": ids[::-1]}).to_csv(exact, index=False)
    assert EPIC100ActionSubmission(timestamps=str(exact))(predictions, tmp_path / "c.zip").is_file()


def test_missing_ids_are_counted_against_the_real_test_timestamps(tmp_path):
    listed = len(pd.read_csv(TEST_TIMESTAMPS))  # 13,092 in the full release
    with pytest.raises(DataError, match=rf"lack {listed - 12} of the {listed} test segments"):
        EPIC100ActionSubmission(timestamps=str(TEST_TIMESTAMPS))(epic_predictions(), tmp_path / "sub.zip")


def test_nan_scores_and_wrong_class_counts_are_refused_before_writing(tmp_path):
    predictions = epic_predictions()
    predictions.task("visual_verb").logits[[2, 5], 3] = np.nan
    with pytest.raises(DataError, match=r"2 segments have NaN or inf scores \(first P01_101_2, P01_101_5\)"):
        EPIC100ActionSubmission()(predictions, tmp_path / "sub.zip")
    short = epic_predictions()
    short.by_task["audio_interaction"].logits = short.task("audio_interaction").logits[:, :43]
    with pytest.raises(DataError, match="needs 44 interaction scores per segment"):
        EPICSoundsSubmission()(short, tmp_path / "sub.zip")
    assert not (tmp_path / "sub.zip").exists()


def test_overwrite_needs_force_and_levels_are_checked(tmp_path):
    out = tmp_path / "sub.zip"
    out.write_text("old")
    with pytest.raises(TimBenchError, match="already exists; pass --force"):
        EPIC100ActionSubmission()(epic_predictions(), out)
    assert out.read_text() == "old"
    EPIC100ActionSubmission()(epic_predictions(), out, force=True)
    assert read_submission(out)[0].name == "epic-100-action"
    with pytest.raises(DataError, match="has sls_tl 6; the Scale of Levels of Supervision is an integer from 0 to 5"):
        EPIC100ActionSubmission(sls_tl=6)
    with pytest.raises(DataError, match="has t_mod 3; use the integer 0"):
        EPICSoundsSubmission(t_mod=3)


def _foreign_document(challenge: str, ids: np.ndarray, blocks: dict[str, np.ndarray], seed: int) -> dict:
    """A submission another tool could write: segments and class keys in shuffled order."""
    rng = np.random.default_rng(seed)
    results = {}
    for i in rng.permutation(len(ids)):
        entry = {}
        for key, scores in blocks.items():
            classes = rng.permutation(scores.shape[1])
            entry[key] = {str(c): float(scores[i, c]) for c in classes}
        results[str(ids[i])] = entry
    header = {"challenge": challenge, "version": "0.2", "sls_pt": 1, "sls_tl": 1, "sls_td": 1}
    if challenge == "audio_based_interaction_recognition":
        header.update(version="0.1", t_mod=0)
    return {**header, "results": results}


def test_shuffled_keys_in_a_foreign_submission_score_the_same(tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    ids = np.array([f"P30_05_{i}" for i in range(n)])
    verbs, nouns = rng.normal(size=(n, 97)), rng.normal(size=(n, 300))
    verb_labels, noun_labels = rng.integers(0, 97, n), rng.integers(0, 300, n)
    verbs[np.arange(n), verb_labels] += 2.0
    nouns[np.arange(n), noun_labels] += 2.0
    expected = epic100_metrics(verbs, nouns, verb_labels, noun_labels)
    path = tmp_path / "test.json"
    path.write_text(json.dumps(_foreign_document("action_recognition", ids, {"verb": verbs, "noun": nouns}, 4)))
    _, scores = read_submission(path)
    labels = pd.DataFrame({"verb_class": verb_labels, "noun_class": noun_labels}, index=ids).loc[scores["ids"]]
    assert scores["ids"].tolist() != ids.tolist()  # the order really changed
    assert epic100_metrics(scores["verb"], scores["noun"], labels.verb_class, labels.noun_class) == expected

    sounds, sound_labels = rng.normal(size=(n, 44)), rng.integers(0, 44, n)
    archive_path = tmp_path / "sounds.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("test.json", json.dumps(_foreign_document(
            "audio_based_interaction_recognition", ids, {"interaction": sounds}, 5)))
    _, scores = read_submission(archive_path)
    rows = pd.Index(ids).get_indexer(scores["ids"])
    assert epic_sounds_metrics(scores["interaction"], sound_labels[rows]) == epic_sounds_metrics(sounds, sound_labels)


def test_reader_refuses_broken_submissions(tmp_path):
    ids, scores = np.array(["P01_01_0", "P01_01_1"]), np.zeros((2, 44))
    document = _foreign_document("audio_based_interaction_recognition", ids, {"interaction": scores}, 0)
    del document["results"]["P01_01_1"]["interaction"]["17"]
    (tmp_path / "missing.json").write_text(json.dumps(document))
    with pytest.raises(DataError, match="segment P01_01_1 has an object of 43 keys under 'interaction'; it needs "
                                        "exactly 44 scores"):
        read_submission(tmp_path / "missing.json")
    document["results"]["P01_01_1"]["interaction"]["17"] = float("nan")
    (tmp_path / "nan.json").write_text(json.dumps(document))
    with pytest.raises(DataError, match=r"1 segments have NaN or infinite 'interaction' scores \(first P01_01_1\)"):
        read_submission(tmp_path / "nan.json")
    document["challenge"] = "anticipation"
    (tmp_path / "other.json").write_text(json.dumps(document))
    with pytest.raises(DataError, match="challenge 'anticipation', which tim-bench does not score"):
        read_submission(tmp_path / "other.json")
    with zipfile.ZipFile(tmp_path / "wrong.zip", "w") as archive:
        archive.writestr("results.json", "{}")
    with pytest.raises(DataError, match=r"holds \['results.json'\]; a submission zip holds exactly one member"):
        read_submission(tmp_path / "wrong.zip")


def test_original_dict_is_softmax_scores_with_ids(tmp_path):
    predictions = epic_predictions()
    path = export_original_predictions(predictions, tmp_path / "features" / "epic_test.pkl")
    exported = pd.read_pickle(path)  # plain pickle of numpy arrays, as the original's --extract_feats
    assert sorted(exported) == ["a_narration_ids", "action", "audio", "noun", "v_narration_ids", "verb"]
    assert exported["v_narration_ids"].tolist() == ["v_" + i for i in predictions.task("visual_action").ids]
    assert exported["a_narration_ids"].tolist() == ["a_" + i for i in predictions.task("audio_interaction").ids]
    assert exported["action"].shape == (12, 6) and exported["audio"].shape == (9, 44)
    assert exported["verb"].shape == (12, 97) and exported["noun"].shape == (12, 300)
    for key in ("action", "audio", "verb", "noun"):
        assert isinstance(exported[key], np.ndarray) and exported[key].dtype == np.float32
        np.testing.assert_allclose(exported[key].sum(axis=1), np.ones(len(exported[key])), rtol=1e-5)
    noun = torch.from_numpy(_in_verb_order(predictions, "visual_noun")).softmax(dim=1).numpy()
    np.testing.assert_allclose(exported["noun"], noun, rtol=1e-5, atol=1e-7)


def test_original_dict_of_a_visual_only_run_has_no_audio(tmp_path):
    predictions = epic_predictions()
    del predictions.by_task["audio_interaction"]
    exported = pd.read_pickle(export_original_predictions(predictions, tmp_path / "v.pkl"))
    assert sorted(exported) == ["action", "noun", "v_narration_ids", "verb"]
