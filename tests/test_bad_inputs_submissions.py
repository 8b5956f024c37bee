"""Bad challenge submissions: `tim-bench evaluate` (and `submit`) refuse them with one sentence naming the file
and the key, segment or member, exactly where the official server would reject them.

The cases sample every kind of rule (header fields and their types, container layout, size caps, JSON key
repeats, coverage, score types, values and vector lengths) on submissions built from the real EPIC-100 and
EPIC-Sounds validation labels, rather than list the inputs first reported.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bad_input import CliOutcome, assert_clear_error, run_cli
from helpers import ANNOTATIONS
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_plugins.epic.submission_reader import MAX_SIZE_ENV
from tim_bench_registry import Task

DATA = ANNOTATIONS  # a few real rows (tests/data), or the full files
EPIC_LABELS = DATA / "epic-kitchens-100" / "EPIC_100_validation.csv"
SOUNDS_LABELS = DATA / "epic-sounds" / "EPIC_Sounds_validation.csv"
N = 4  # segments in a case's submission (scored with --allow-partial unless the case is about coverage)


def _ids(labels: Path, column: str) -> list[str]:
    return pd.read_csv(labels, usecols=[column], dtype=str, nrows=N)[column].tolist()


def epic_document() -> dict[str, Any]:
    """A valid EPIC-100 submission of the first N real validation segments."""
    rng = np.random.default_rng(0)
    results = {sid: {"verb": {str(c): float(v) for c, v in enumerate(rng.normal(size=97))},
                     "noun": {str(c): float(v) for c, v in enumerate(rng.normal(size=300))}}
               for sid in _ids(EPIC_LABELS, "narration_id")}
    return {"version": "0.2", "challenge": "action_recognition", "sls_pt": 2, "sls_tl": 3, "sls_td": 4,
            "results": results}


def sounds_document() -> dict[str, Any]:
    """A valid EPIC-Sounds submission of the first N real validation segments."""
    rng = np.random.default_rng(1)
    results = {sid: {"interaction": {str(c): float(v) for c, v in enumerate(rng.normal(size=44))}}
               for sid in _ids(SOUNDS_LABELS, "annotation_id")}
    return {"version": "0.1", "challenge": "audio_based_interaction_recognition", "sls_pt": 2, "sls_tl": 3,
            "sls_td": 4, "t_mod": 0, "results": results}


def first(document: dict[str, Any]) -> str:
    return next(iter(document["results"]))


def evaluate(path: Path, challenge: str = "epic-100-action", *extra: str) -> CliOutcome:
    labels = EPIC_LABELS if challenge == "epic-100-action" else SOUNDS_LABELS
    return run_cli(["evaluate", str(path), "--challenge", challenge, "--labels", str(labels), *extra])


def _set(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key)


def _score(block: str, value: Any, cls: str = "5") -> Callable[[dict], None]:
    return lambda d: d["results"][first(d)][block].__setitem__(cls, value)


def _entry(change: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda d: change(d["results"][first(d)])


# (change to a valid document, challenge, names the message must contain besides the file)
HEADER_AND_SCORES = [
    pytest.param(_drop("version"), "epic-100-action", ["'version'"], id="version-missing"),
    pytest.param(_set("version", "0.1"), "epic-100-action", ["version '0.1'", '"0.2"'], id="version-wrong"),
    pytest.param(_set("version", 0.2), "epic-100-action", ["version 0.2", "(a string)"], id="version-number"),
    pytest.param(_drop("challenge"), "epic-100-action", ["'challenge'"], id="challenge-missing"),
    pytest.param(_set("challenge", "anticipation"), "epic-100-action", ["'anticipation'"], id="challenge-unknown"),
    pytest.param(_set("challenge", ["action_recognition"]), "epic-100-action", ["['action_recognition']"],
                 id="challenge-list"),
    pytest.param(_drop("sls_pt"), "epic-100-action", ["'sls_pt'"], id="sls-pt-missing"),
    pytest.param(_set("sls_pt", 6), "epic-100-action", ["sls_pt 6", "0 to 5"], id="sls-pt-above-5"),
    pytest.param(_set("sls_tl", -1), "epic-100-action", ["sls_tl -1"], id="sls-tl-negative"),
    pytest.param(_set("sls_td", True), "epic-100-action", ["sls_td True", "integer"], id="sls-td-bool"),
    pytest.param(_set("sls_pt", 2.0), "epic-100-action", ["sls_pt 2.0", "integer"], id="sls-pt-float"),
    pytest.param(_set("sls_tl", "3"), "epic-100-action", ["sls_tl '3'"], id="sls-tl-string"),
    pytest.param(_set("sls_td", None), "epic-100-action", ["sls_td None"], id="sls-td-null"),
    pytest.param(_set("t_mod", 0), "epic-100-action", ["['t_mod']", "unknown top-level"], id="t-mod-in-epic100"),
    pytest.param(_set("notes", "x"), "epic-100-action", ["['notes']"], id="unknown-top-level-key"),
    pytest.param(_drop("results"), "epic-100-action", ["'results'"], id="results-missing"),
    pytest.param(_set("results", []), "epic-100-action", ["'results' is an array"], id="results-array"),
    pytest.param(_set("results", {}), "epic-100-action", ["'results' is empty"], id="results-empty"),
    pytest.param(_drop("t_mod"), "epic-sounds", ["'t_mod'"], id="sounds-t-mod-missing"),
    pytest.param(_set("t_mod", 3), "epic-sounds", ["t_mod 3", "2 (audio-visual)"], id="sounds-t-mod-3"),
    pytest.param(_set("t_mod", False), "epic-sounds", ["t_mod False"], id="sounds-t-mod-bool"),
    pytest.param(_set("version", "0.2"), "epic-sounds", ["version '0.2'", '"0.1"'], id="sounds-version-wrong"),
    pytest.param(_set("sls_pt", 1.5), "epic-sounds", ["sls_pt 1.5"], id="sounds-sls-fraction"),
    pytest.param(_score("verb", True), "epic-100-action", ["'verb' score \"5\" is True", "not a number"],
                 id="score-bool"),
    pytest.param(_score("noun", "0.5"), "epic-100-action", ["'noun' score \"5\" is '0.5'"], id="score-string"),
    pytest.param(_score("verb", None), "epic-100-action", ["'verb' score \"5\" is None"], id="score-null"),
    pytest.param(_score("verb", [1.0]), "epic-100-action", ["'verb' score \"5\" is [1.0]"], id="score-array"),
    pytest.param(_score("verb", float("nan")), "epic-100-action", ["NaN or infinite 'verb'"], id="score-nan"),
    pytest.param(_score("noun", float("-inf")), "epic-100-action", ["NaN or infinite 'noun'"], id="score-minus-inf"),
    pytest.param(_score("interaction", float("inf")), "epic-sounds", ["NaN or infinite 'interaction'"],
                 id="sounds-score-inf"),
    pytest.param(_score("interaction", False, "0"), "epic-sounds", ["'interaction' score \"0\" is False"],
                 id="sounds-score-bool"),
    pytest.param(_score("verb", 10 ** 400), "epic-100-action", ["too large for a float"], id="score-huge-int"),
    pytest.param(_entry(lambda e: e["verb"].pop("96")), "epic-100-action", ["96 keys under 'verb'", "exactly 97"],
                 id="verb-96-scores"),
    pytest.param(_score("noun", 0.0, "300"), "epic-100-action", ["301 keys under 'noun'", "exactly 300"],
                 id="noun-301-scores"),
    pytest.param(_entry(lambda e: e["verb"].__setitem__("007", e["verb"].pop("7"))), "epic-100-action",
                 ["lack class key '7'"], id="class-key-padded"),
    pytest.param(_entry(lambda e: e.__setitem__("verb", list(e["verb"].values()))), "epic-100-action",
                 ["an array of 97 under 'verb'"], id="scores-as-array"),
    pytest.param(_entry(lambda e: e["interaction"].popitem()), "epic-sounds", ["43 keys under 'interaction'"],
                 id="sounds-43-scores"),
    pytest.param(_entry(lambda e: e.pop("noun")), "epic-100-action", ["holds ['verb']", "['noun', 'verb']"],
                 id="entry-without-noun"),
    pytest.param(_entry(lambda e: e.__setitem__("action", {})), "epic-100-action", ["['action', 'noun', 'verb']"],
                 id="entry-extra-block"),
    pytest.param(lambda d: d["results"].__setitem__(first(d), None), "epic-100-action", ["holds null"],
                 id="entry-null"),
    pytest.param(lambda d: d["results"].__setitem__("P99_99_0", d["results"][first(d)]), "epic-100-action",
                 ["P99_99_0", "not in"], id="extra-segment-id"),
]


@pytest.mark.parametrize("change, challenge, names", HEADER_AND_SCORES)
def test_bad_header_or_scores(tmp_path: Path, change, challenge: str, names: list[str]) -> None:
    document = epic_document() if challenge == "epic-100-action" else sounds_document()
    change(document)
    path = tmp_path / "test.json"
    path.write_text(json.dumps(document))
    assert_clear_error(evaluate(path, challenge, "--allow-partial"), str(path), *names, code=2)


def _text_case(edit: Callable[[str, str], str]) -> Callable[[], str]:
    """A submission whose JSON text is edited after ``json.dumps`` (repeats that a dict cannot hold)."""
    def build() -> str:
        document = epic_document()
        return edit(json.dumps(document), first(document))
    return build


# JSON text that json.load would silently accept with one value lost, and other broken text
TEXT_CASES = [
    pytest.param(_text_case(lambda t, sid: t.replace('"results": {', f'"results": {{"{sid}": 1, ', 1)),
                 ["'results' lists segment ids more than once", "first P01_11_0"], id="segment-id-repeated"),
    pytest.param(_text_case(lambda t, sid: t.replace('"sls_pt": 2', '"sls_pt": 5, "sls_pt": 2', 1)),
                 ["top-level object repeats the keys sls_pt"], id="header-key-repeated"),
    pytest.param(_text_case(lambda t, sid: t.replace('"verb": {"0": ', '"verb": {"5": 9.0, "0": ', 1)),
                 ["'verb' scores repeats the keys 5"], id="class-key-repeated"),
    pytest.param(_text_case(lambda t, sid: t.replace('"noun": {', '"verb": {}, "noun": {', 1)),
                 ["segment P01_11_0 repeats the keys verb"], id="block-repeated"),
    pytest.param(_text_case(lambda t, sid: t.replace("}", "", 1)), ["not valid JSON"], id="truncated-json"),
    pytest.param(lambda: "", ["not valid JSON"], id="empty-file"),
    pytest.param(lambda: "\ufeff{}", ["not valid JSON"], id="byte-order-mark"),
    pytest.param(lambda: "[" * 100_000 + "]" * 100_000, ["nests JSON too deeply"], id="deeply-nested"),
    pytest.param(lambda: "[1, 2]", ["JSON list, not an object"], id="top-level-array"),
]


@pytest.mark.parametrize("build, names", TEXT_CASES)
def test_bad_json_text(tmp_path: Path, build, names: list[str]) -> None:
    path = tmp_path / "test.json"
    path.write_text(build(), encoding="utf-8")
    assert_clear_error(evaluate(path, "epic-100-action", "--allow-partial"), str(path), *names, code=2)


VALID = json.dumps({"version": "0.2"})


def _zip(members: list[tuple[str, str]]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / "sub.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in members:
                archive.writestr(name, text)
        return path
    return build


def _encrypted_zip(folder: Path) -> Path:
    """A zip whose test.json is flagged as encrypted (general purpose bit 0, local and central headers)."""
    path = _zip([("test.json", VALID)])(folder)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + offset
        data[at] |= 0x1
    path.write_bytes(bytes(data))
    return path


def _lying_zip(folder: Path) -> Path:
    """A real 1 KB zip whose central directory declares a 64 GiB test.json (a zip bomb's header)."""
    path = _zip([("test.json", "{}")])(folder)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (0xFFFFFFFE).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    return path


def _damaged_zip(folder: Path) -> Path:
    """A zip whose deflated test.json is corrupted (the CRC no longer matches)."""
    path = _zip([("test.json", json.dumps(epic_document()))])(folder)
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(60)
    path.write_bytes(bytes(data))
    return path


def _compressible(folder: Path) -> Path:
    """A genuine, highly compressible 3 MiB test.json zipped to a few KB."""
    text = json.dumps(epic_document())
    return _zip([("test.json", text[:-1] + " " * (3 * 2**20) + "}")])(folder)


CONTAINERS = [
    pytest.param(_zip([("test.json", VALID), ("README.txt", "hi")]), (), {}, ["'README.txt'", "exactly one member"],
                 id="zip-extra-member"),
    pytest.param(_zip([("test.json", VALID), ("test2.json", VALID)]), (), {}, ["'test2.json'"], id="zip-two-jsons"),
    pytest.param(_zip([("sub/test.json", VALID)]), (), {}, ["'sub/test.json'", "top level"], id="zip-nested-json"),
    pytest.param(_zip([("test.json", VALID), ("test.json", VALID)]), (), {}, ["['test.json', 'test.json']"],
                 id="zip-member-twice", marks=pytest.mark.filterwarnings("ignore:Duplicate name")),
    pytest.param(_zip([]), (), {}, ["holds []"], id="zip-empty"),
    pytest.param(_encrypted_zip, (), {}, ["encrypted"], id="zip-encrypted"),
    pytest.param(_damaged_zip, (), {}, ["damaged or unsupported zip"], id="zip-damaged"),
    pytest.param(_lying_zip, (), {}, ["declares", "4294967294 bytes", "2048 MiB cap", "--max-json-mib"],
                 id="bomb-header-declares-4-gib"),
    pytest.param(_compressible, ("--max-json-mib", "1"), {}, ["declares", "1 MiB cap"], id="bomb-real-over-flag-cap"),
    pytest.param(_compressible, (), {MAX_SIZE_ENV: "2"}, ["2 MiB cap", MAX_SIZE_ENV], id="bomb-real-over-env-cap"),
    pytest.param(lambda folder: (folder / "test.json").write_text(" " * (2 * 2**20)) and folder / "test.json",
                 (), {MAX_SIZE_ENV: "1"}, ["the file is 2097152 bytes", "1 MiB cap"], id="plain-json-over-cap"),
    pytest.param(lambda folder: (folder / "test.json").write_bytes(b"\xff\xfe\x00garbage") and folder / "test.json",
                 (), {}, ["not UTF-8"], id="binary-garbage"),
    pytest.param(lambda folder: folder, (), {}, ["is a folder"], id="folder-given"),
    pytest.param(lambda folder: folder / "nope.zip", (), {}, ["does not exist"], id="missing-file"),
    pytest.param(_compressible, (), {MAX_SIZE_ENV: "lots"}, [MAX_SIZE_ENV, "'lots'", "whole number"],
                 id="cap-env-not-a-number"),
    pytest.param(_compressible, ("--max-json-mib", "0"), {}, ["--max-json-mib", "0 MiB", "at least 1 MiB"],
                 id="cap-flag-zero"),
    pytest.param(_compressible, (), {MAX_SIZE_ENV: "-5"}, [MAX_SIZE_ENV, "-5 MiB"], id="cap-env-negative"),
]


@pytest.mark.parametrize("build, argv, env, names", CONTAINERS)
def test_bad_container_or_size(tmp_path: Path, monkeypatch, build, argv, env, names: list[str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = build(tmp_path)
    outcome = evaluate(path, "epic-100-action", "--allow-partial", *argv)
    assert_clear_error(outcome, *names, code=2)
    if not any(n.startswith(("--max", MAX_SIZE_ENV)) for n in names):  # a bad cap setting names the setting
        assert str(path) in outcome.output


def test_a_bomb_is_refused_before_it_is_inflated(tmp_path: Path, monkeypatch) -> None:
    """Raising the cap lets the same genuine file through: the refusal was the cap, not the content."""
    path = _compressible(tmp_path)
    monkeypatch.setenv(MAX_SIZE_ENV, "1")
    assert evaluate(path, "epic-100-action", "--allow-partial").code == 2
    outcome = evaluate(path, "epic-100-action", "--allow-partial", "--max-json-mib", "4", "--json")
    assert outcome.code == 0, outcome.output


def test_missing_segments_are_refused_without_allow_partial(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text(json.dumps(epic_document()))
    labels = pd.read_csv(EPIC_LABELS, usecols=["narration_id"])["narration_id"]
    outcome = evaluate(path)
    assert_clear_error(outcome, str(path), f"lacks {len(labels) - N} of the {len(labels)} labelled segments",
                       f"first {', '.join(labels[N:N + 5])}", "--allow-partial", code=2)


def _predictions(tasks: tuple[Task, ...]) -> Predictions:
    ids = np.array(_ids(SOUNDS_LABELS, "annotation_id"))
    by_task = {t.key: TaskPredictions(ids, np.zeros((len(ids), t.num_classes), np.float32), np.full(len(ids), -1))
               for t in tasks}
    return Predictions("epic", "test", tasks, by_task)


AUDIO, VERB = Task("audio", "interaction", 44), Task("visual", "verb", 97)
SUBMIT_CASES = [
    pytest.param((AUDIO, VERB), ["--challenge", "epic-sounds", "--t-mod", "0"], ["t_mod 0", "visual tasks", "t_mod 2"],
                 id="t-mod-audio-for-an-audio-visual-model"),
    pytest.param((VERB,), ["--challenge", "epic-sounds"], ["no task 'audio_interaction'"], id="sounds-without-audio"),
    pytest.param((AUDIO,), ["--challenge", "epic-100-action"], ["no task 'visual_verb'"], id="epic100-without-verbs"),
    pytest.param((AUDIO,), ["--challenge", "epic-100-action", "--t-mod", "1"], ["--t-mod applies to --challenge"],
                 id="t-mod-for-epic100"),
]


@pytest.mark.parametrize("tasks, argv, names", SUBMIT_CASES)
def test_bad_submit(tmp_path: Path, tasks: tuple[Task, ...], argv: list[str], names: list[str]) -> None:
    npz = _predictions(tasks).save(tmp_path / "p.npz")
    out = tmp_path / "sub.zip"
    assert_clear_error(run_cli(["submit", str(npz), "--out", str(out), *argv]), *names, code=2)
    assert not out.exists()
