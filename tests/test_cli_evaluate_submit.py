"""`tim-bench evaluate` and `tim-bench submit`: official results on real labels, exit codes, refusals."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import ANNOTATIONS

from tim_bench.cli.main import main
from tim_bench_plugins.epic.official import epic100_metrics, epic_sounds_metrics
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_plugins.epic.writers import EPIC100ActionSubmission, EPICSoundsSubmission
from tim_bench_registry import Task

DATA = ANNOTATIONS  # a few real rows (tests/data), or the full files
EPIC_LABELS = DATA / "epic-kitchens-100" / "EPIC_100_validation.csv"
SOUNDS_LABELS = DATA / "epic-sounds" / "EPIC_Sounds_validation.csv"


def tim_bench(*argv: str) -> int:
    """Run a subcommand under the console's contract: a TimBenchError becomes one line on stderr and exit code 2."""
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def epic_val() -> pd.DataFrame:
    return pd.read_csv(EPIC_LABELS, dtype={"participant_id": str})


@pytest.fixture(scope="module")
def epic_predictions(epic_val) -> Predictions:
    """Informative scores for every 20th real validation segment (unseen participants included)."""
    rows = epic_val.iloc[::20]
    rng = np.random.default_rng(0)
    n = len(rows)
    verbs, nouns = rng.normal(size=(n, 97)).astype(np.float32), rng.normal(size=(n, 300)).astype(np.float32)
    verbs[np.arange(n), rows.verb_class] += 2.5
    nouns[np.arange(n), rows.noun_class] += 3.0
    ids = rows.narration_id.to_numpy()
    by_task = {"visual_verb": TaskPredictions(ids, verbs, rows.verb_class.to_numpy()),
               "visual_noun": TaskPredictions(ids, nouns, rows.noun_class.to_numpy())}
    return Predictions("epic", "val", (Task("visual", "verb", 97), Task("visual", "noun", 300)), by_task)


@pytest.fixture(scope="module")
def epic_zip(tmp_path_factory, epic_predictions) -> Path:
    return EPIC100ActionSubmission()(epic_predictions, tmp_path_factory.mktemp("sub") / "sub.zip")


def _expected_epic100(epic_val: pd.DataFrame, predictions: Predictions, unseen_file: str) -> dict[str, float]:
    folder = EPIC_LABELS.parent
    rows = epic_val.set_index("narration_id").loc[predictions.task("visual_verb").ids]
    return epic100_metrics(
        predictions.task("visual_verb").logits, predictions.task("visual_noun").logits, rows.verb_class,
        rows.noun_class, rows.participant_id, pd.read_csv(folder / "EPIC_100_tail_verbs.csv")["verb"],
        pd.read_csv(folder / "EPIC_100_tail_nouns.csv")["noun"],
        pd.read_csv(folder / unseen_file)["participant_id"])


def _coverage(epic_val: pd.DataFrame, predictions: Predictions) -> dict[str, float]:
    """What evaluate reports of a partial submission: its segments of the labelled ones (484 of 9,668 in full)."""
    segments, labelled = len(predictions.task("visual_verb").ids), len(epic_val)
    return {"segments": segments, "labelled": labelled, "fraction": segments / labelled}


def test_evaluate_epic100_json_equals_the_official_functions(epic_zip, epic_val, epic_predictions, capsys):
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", EPIC_LABELS, "--json",
                     "--allow-partial") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed.pop("coverage") == _coverage(epic_val, epic_predictions)
    expected = _expected_epic100(epic_val, epic_predictions, "EPIC_100_unseen_participant_ids_validation.csv")
    assert len(expected) == 12
    assert printed == pytest.approx(expected, abs=0)
    assert 10 < printed["all_action_accuracy_at_1"] < 95


def test_evaluate_prints_a_table(epic_zip, epic_val, epic_predictions, capsys):
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", EPIC_LABELS,
                     "--allow-partial") == 0
    out = capsys.readouterr().out
    cov = _coverage(epic_val, epic_predictions)
    assert f"coverage: {cov['segments']} of {cov['labelled']} labelled segments ({100 * cov['fraction']:.2f} %) - " \
           f"PARTIAL" in out
    assert "tail_action_accuracy_at_1" in out and "unseen_noun_accuracy_at_1" in out


def test_pickle_labels_need_trust_pickle(epic_zip, capsys):
    pkl = EPIC_LABELS.with_suffix(".pkl")
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", pkl, "--json") == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", pkl, "--trust-pickle",
                     "--json", "--allow-partial") == 0
    from_pickle = json.loads(capsys.readouterr().out)
    tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", EPIC_LABELS, "--json",
              "--allow-partial")
    assert from_pickle == json.loads(capsys.readouterr().out)


def test_ids_outside_the_labels_are_named(tmp_path, epic_predictions, capsys):
    ids = epic_predictions.task("visual_verb").ids.copy()
    ids[[0, 3]] = ["P99_01_0", "P99_01_1"]
    other = Predictions("epic", "val", epic_predictions.tasks,
                        {k: TaskPredictions(ids, t.logits, t.labels) for k, t in epic_predictions.by_task.items()})
    sub = EPIC100ActionSubmission()(other, tmp_path / "sub.zip")
    assert tim_bench("evaluate", sub, "--challenge", "epic-100-action", "--labels", EPIC_LABELS) == 2
    err = capsys.readouterr().err
    assert f"2 of the {len(ids)} segments" in err and "(first P99_01_0, P99_01_1)" in err


def test_missing_default_subset_files_leave_their_metrics_out(tmp_path, epic_zip, capsys):
    labels = tmp_path / "EPIC_100_validation.csv"
    shutil.copy(EPIC_LABELS, labels)
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", labels, "--json",
                     "--allow-partial") == 0
    captured = capsys.readouterr()
    assert sorted(json.loads(captured.out)) == sorted(["coverage"] + [f"all_{t}_accuracy_at_{k}" for k in (1, 5)
                                                                      for t in ("verb", "noun", "action")])
    assert "EPIC_100_tail_verbs.csv is not beside" in captured.err


def test_the_test_unseen_file_on_validation_warns_and_drops_unseen(epic_zip, capsys):
    unseen_test = EPIC_LABELS.parent / "EPIC_100_unseen_participant_ids_test.csv"
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", EPIC_LABELS,
                     "--unseen-participants", unseen_test, "--json", "--allow-partial") == 0
    captured = capsys.readouterr()
    assert not any(k.startswith("unseen_") for k in json.loads(captured.out))
    assert "no evaluated segment belongs to the participants" in captured.err


def test_evaluate_sounds_with_and_without_background(tmp_path, capsys):
    labels = pd.read_csv(SOUNDS_LABELS)
    rows = pd.concat([labels[labels.class_id == 13], labels.iloc[::10]]).drop_duplicates("annotation_id")
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(len(rows), 44)).astype(np.float32)
    scores[np.arange(len(rows)), rows.class_id] += 2.0
    ids = rows.annotation_id.to_numpy()
    predictions = Predictions("epic", "val", (Task("audio", "interaction", 44),),
                              {"audio_interaction": TaskPredictions(ids, scores, rows.class_id.to_numpy())})
    sub = EPICSoundsSubmission()(predictions, tmp_path / "sounds.zip")
    for flag, keep in (((), slice(None)), (("--exclude-background",), rows.class_id.to_numpy() != 13)):
        assert tim_bench("evaluate", sub, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS, "--json",
                         "--allow-partial", *flag) == 0
        expected = epic_sounds_metrics(scores[keep], rows.class_id.to_numpy()[keep])
        printed = json.loads(capsys.readouterr().out)
        assert printed.pop("coverage")["segments"] == (keep.sum() if flag else len(rows))
        assert printed == expected


def test_evaluate_usage_errors_exit_2(epic_zip, tmp_path, capsys):
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS) == 2
    assert "is a epic-100-action submission, but --challenge is epic-sounds" in capsys.readouterr().err
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-100-action", "--labels", EPIC_LABELS,
                     "--exclude-background") == 2
    assert tim_bench("evaluate", tmp_path / "none.zip", "--challenge", "epic-100-action", "--labels", EPIC_LABELS) == 2
    assert "does not exist" in capsys.readouterr().err
    # challenges come from the installed plugins: an unknown one lists those that exist
    assert tim_bench("evaluate", epic_zip, "--challenge", "epic-55", "--labels", EPIC_LABELS) == 2
    assert "Registered challenge plugins: epic-100-action, epic-sounds" in capsys.readouterr().err


def test_submit_writes_checks_and_exports(tmp_path, epic_predictions, capsys):
    npz = epic_predictions.save(tmp_path / "val.npz")
    out, original = tmp_path / "sub.zip", tmp_path / "orig.pt"
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", out, "--sls-pt", "1") == 0
    assert "holds the 'val' split" in capsys.readouterr().err
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", out) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", out, "--t-mod", "1") == 2
    timestamps = tmp_path / "ts.csv"
    pd.DataFrame({"narration_id": epic_predictions.task("visual_verb").ids[1:]}).to_csv(timestamps, index=False)
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", tmp_path / "b.zip",
                     "--timestamps", timestamps) == 2
    assert "hold 1 segments that" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists()
    # these predictions lack the action task of the original dict: refused before either file is written
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", tmp_path / "c.zip",
                     "--original-dict", original) == 2
    assert "hold no visual action or audio task" in capsys.readouterr().err
    assert not (tmp_path / "c.zip").exists() and not original.exists()
    assert tim_bench("submit", npz, "--challenge", "epic-sounds", "--out", tmp_path / "s.zip") == 2
    assert "have no task 'audio_interaction'" in capsys.readouterr().err
    # the challenge's writer (not the engine) knows the SLS levels: refused before anything is written
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", tmp_path / "d.zip", "--sls-td", "6") == 2
    assert "sls_td 6" in capsys.readouterr().err and not (tmp_path / "d.zip").exists()


def test_submit_of_predictions_made_on_synthetic_data_says_not_to_upload(tmp_path, epic_predictions, capsys):
    synthetic = Predictions(epic_predictions.dataset, "test", epic_predictions.tasks, epic_predictions.by_task,
                            {"synthetic_data": True})
    npz = synthetic.save(tmp_path / "test.npz")
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", tmp_path / "sub.zip") == 0
    assert "predicted on synthetic data" in capsys.readouterr().err and (tmp_path / "sub.zip").is_file()
    assert tim_bench("submit", epic_predictions.save(tmp_path / "real.npz"), "--challenge", "epic-100-action",
                     "--out", tmp_path / "real.zip") == 0
    assert "synthetic" not in capsys.readouterr().err


def test_submit_original_dict(tmp_path, epic_predictions):
    tasks = epic_predictions.tasks + (Task("visual", "action", 3, ("0,1", "2,5", "3,3")),)
    by_task = dict(epic_predictions.by_task)
    ids = epic_predictions.task("visual_verb").ids
    by_task["visual_action"] = TaskPredictions(ids, np.zeros((len(ids), 3), np.float32), np.full(len(ids), -1))
    npz = Predictions("epic", "test", tasks, by_task).save(tmp_path / "test.npz")
    assert tim_bench("submit", npz, "--challenge", "epic-100-action", "--out", tmp_path / "sub.zip",
                     "--original-dict", tmp_path / "orig.pkl") == 0
    exported = pd.read_pickle(tmp_path / "orig.pkl")
    assert exported["v_narration_ids"].tolist() == ["v_" + i for i in ids] and exported["action"].shape == (len(ids), 3)


CONSOLE = shutil.which("tim-bench") or shutil.which("tim-bench", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(CONSOLE is None, reason="the tim-bench console command is not installed")
def test_console_evaluate_and_submit(tmp_path, epic_zip, epic_predictions, epic_val):
    listed = subprocess.run([CONSOLE, "--help"], capture_output=True, text=True, check=False).stdout
    if "evaluate" not in listed or "submit" not in listed:
        pytest.skip("tim_bench/cli/main.py does not list the evaluate and submit subcommands yet")
    result = subprocess.run([CONSOLE, "evaluate", str(epic_zip), "--challenge", "epic-100-action", "--labels",
                             str(EPIC_LABELS), "--json", "--allow-partial"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    expected = _expected_epic100(epic_val, epic_predictions, "EPIC_100_unseen_participant_ids_validation.csv")
    assert json.loads(result.stdout) == {**expected, "coverage": _coverage(epic_val, epic_predictions)}
    npz = epic_predictions.save(tmp_path / "val.npz")
    command = [CONSOLE, "submit", str(npz), "--challenge", "epic-100-action", "--out", str(tmp_path / "s.zip")]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    bad = subprocess.run([CONSOLE, "evaluate", str(epic_zip), "--challenge", "epic-100-action", "--labels",
                          str(EPIC_LABELS.with_suffix(".pkl"))], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--trust-pickle" in bad.stderr


def test_evaluate_refuses_a_partial_submission_and_scores_it_with_allow_partial(tmp_path, capsys):
    labels = pd.read_csv(SOUNDS_LABELS)
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(len(labels), 44)).astype(np.float32)
    scores[np.arange(len(labels)), labels.class_id] += 1.5

    def submission(keep: np.ndarray, name: str) -> Path:
        ids = labels.annotation_id.to_numpy()[keep]
        by_task = {"audio_interaction": TaskPredictions(ids, scores[keep], labels.class_id.to_numpy()[keep])}
        return EPICSoundsSubmission()(Predictions("epic", "val", (Task("audio", "interaction", 44),), by_task),
                                      tmp_path / name)

    few = np.arange(len(labels)) % 50 == 0
    partial = submission(few, "few.zip")
    assert tim_bench("evaluate", partial, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS, "--json") == 2
    err = capsys.readouterr().err
    assert f"lacks {len(labels) - few.sum()} of the {len(labels)} labelled segments" in err
    assert f"first {labels.annotation_id[1]}" in err and "--allow-partial" in err
    assert tim_bench("evaluate", partial, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS, "--json",
                     "--allow-partial") == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed.pop("coverage") == {"segments": int(few.sum()), "labelled": len(labels),
                                       "fraction": few.sum() / len(labels)}
    assert printed == epic_sounds_metrics(scores[few], labels.class_id.to_numpy()[few])
    assert f"covers {few.sum()} of the {len(labels)} labelled segments" in captured.err

    # a complete submission needs no flag; background segments, which --exclude-background drops before
    # scoring, need not be in it then
    foreground = labels.class_id.to_numpy() != 13
    complete = submission(foreground, "foreground.zip")
    assert tim_bench("evaluate", complete, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS) == 2
    assert f"lacks {(~foreground).sum()} of the {len(labels)}" in capsys.readouterr().err
    assert tim_bench("evaluate", complete, "--challenge", "epic-sounds", "--labels", SOUNDS_LABELS, "--json",
                     "--exclude-background") == 0
    assert "coverage" not in json.loads(capsys.readouterr().out)


def test_submit_and_the_run_writer_agree_on_t_mod(tmp_path, capsys):
    import zipfile

    labels = pd.read_csv(SOUNDS_LABELS).iloc[:6]
    ids = labels.annotation_id.to_numpy()
    audio = TaskPredictions(ids, np.zeros((6, 44), np.float32), labels.class_id.to_numpy())
    verb = TaskPredictions(ids, np.zeros((6, 97), np.float32), np.zeros(6, np.int64))
    audio_visual = Predictions("epic", "test", (Task("visual", "verb", 97), Task("audio", "interaction", 44)),
                               {"visual_verb": verb, "audio_interaction": audio})
    audio_only = Predictions("epic", "test", (Task("audio", "interaction", 44),), {"audio_interaction": audio})
    for predictions, t_mod in ((audio_visual, 2), (audio_only, 0)):
        npz = predictions.save(tmp_path / f"p{t_mod}.npz")
        assert tim_bench("submit", npz, "--challenge", "epic-sounds", "--out", tmp_path / f"s{t_mod}.zip") == 0
        written = EPICSoundsSubmission()(predictions, tmp_path / f"w{t_mod}.zip")  # as a run's writer builds it
        for path in (tmp_path / f"s{t_mod}.zip", written):
            with zipfile.ZipFile(path) as archive:
                assert json.loads(archive.read("test.json"))["t_mod"] == t_mod
    assert tim_bench("submit", tmp_path / "p0.npz", "--challenge", "epic-sounds", "--out", tmp_path / "x.zip",
                     "--t-mod", "1") == 0  # an explicit modality is kept
