"""Bad annotations and features: `tim-bench check-data` names the file and the row/video/key, never a traceback,
never "OK"; a handful also go through `tim-bench run`, which must refuse the same input before training.

Each case copies synthetic data (made once per module by the real generators, in the official on-disk formats)
and breaks one thing the way a user's files break: a typo, a reversed interval, a leaked split, a truncated file.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from bad_input import assert_clear_error, assert_warned, run_cli
from helpers import TINY_MODEL
from tim_bench_plugins.ave.synthetic import make_ave
from tim_bench_plugins.epic.synthetic import make_epic
from tim_bench_plugins.perception_test.synthetic import make_perception

DIMS = ["features.visual.dim=8", "features.audio.dim=4"]
CONFIGS = {"ave": ("configs/ave_vgg.py", []), "epic": ("configs/epic_av.py", DIMS),
           "perception": ("configs/perception_av.py", DIMS)}
EPIC = "epic-kitchens-100"
SOUNDS = "epic-sounds"


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    """Clean synthetic data of each benchmark, copied per case."""
    root = tmp_path_factory.mktemp("clean")
    return {"ave": make_ave(root / "ave", videos=40, visual_dim=8, audio_dim=4),
            "epic": make_epic(root / "epic", 4, 0, 8, 4),
            "perception": make_perception(root / "perception", videos=6, visual_dim=8, audio_dim=4)}


# ---------------------------------------------------------------- editing helpers (each returns the names to expect)

def _csv(root: Path, rel: str) -> tuple[Path, pd.DataFrame]:
    path = root / rel
    return path, pd.read_csv(path)


def edit_csv(rel: str, column: str, value: object, row: int = 3) -> Callable[[Path], list[str]]:
    """Set one cell of an annotation CSV; expect the file name and ``row N (id)``."""
    def edit(root: Path) -> list[str]:
        path, table = _csv(root, rel)
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
        table.to_csv(path, index=False)
        return [path.name, f"row {row + 1} ({table.iloc[row, 0]})"]
    return edit


def drop_column(rel: str, column: str) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path, table = _csv(root, rel)
        table.drop(columns=[column]).to_csv(path, index=False)
        return [path.name, column]
    return edit


def garbage(rel: str, data: bytes = b"\x89garbage\x00\xff not what you think" * 8) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        (root / rel).write_bytes(data)
        return [Path(rel).name]
    return edit


def truncate(rel: str, keep: float = 0.5) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = root / rel
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * keep)])
        return [path.name]
    return edit


def first_file(root: Path, pattern: str) -> Path:
    return sorted(root.glob(pattern))[0]


def epic_swap_stop(root: Path) -> list[str]:
    """Row 4 of the validation CSV stops before it starts."""
    path, table = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
    table.loc[3, ["start_timestamp", "stop_timestamp"]] = table.loc[3, ["stop_timestamp", "start_timestamp"]].to_numpy()
    table.to_csv(path, index=False)
    return [path.name, f"row 4 ({table.narration_id[3]})", "start < stop"]


def epic_duplicate_id(root: Path) -> list[str]:
    path, table = _csv(root, f"{SOUNDS}/EPIC_Sounds_validation.csv")
    table.loc[5, "annotation_id"] = table.annotation_id[2]
    table.to_csv(path, index=False)
    return [path.name, str(table.annotation_id[2]), "rows 3, 6"]


def epic_leak_video(root: Path) -> list[str]:
    """A validation row copied into the training CSV: train and val share a video."""
    train_path, train = _csv(root, f"{EPIC}/EPIC_100_train.csv")
    _, val = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
    pd.concat([train, val.head(1)], ignore_index=True).to_csv(train_path, index=False)
    return ["EPIC_100_train.csv", "EPIC_100_validation.csv", str(val.video_id[0])]


def sounds_leak_row(root: Path) -> list[str]:
    train_path, train = _csv(root, f"{SOUNDS}/EPIC_Sounds_train.csv")
    _, val = _csv(root, f"{SOUNDS}/EPIC_Sounds_validation.csv")
    pd.concat([train, val.tail(2)], ignore_index=True).to_csv(train_path, index=False)
    return ["EPIC_Sounds_train.csv", "EPIC_Sounds_validation.csv", str(val.video_id.iloc[-1])]


def epic_bad_duration(value: object) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path, table = _csv(root, f"{EPIC}/EPIC_100_video_info.csv")
        _, val = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
        row = int(np.flatnonzero(table.video_id == val.video_id[0])[0])
        table["duration"] = table["duration"].astype(object)
        table.loc[row, "duration"] = value
        table.to_csv(path, index=False)
        return [path.name, val.video_id[0], "duration"]
    return edit


def epic_after_end(root: Path) -> list[str]:
    path, table = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
    table.loc[3, ["start_timestamp", "stop_timestamp"]] = ["09:00:00.00", "09:00:02.00"]
    table.to_csv(path, index=False)
    return [path.name, str(table.narration_id[3]), "after the end of video"]


def epic_traversal_id(prefix: str) -> Callable[[Path], list[str]]:
    """A video id that would open a feature file outside the feature folder ("ABS": an absolute path to the real
    file). The id has a duration and interval rows, so only the feature reader's own check can refuse it."""
    def edit(root: Path) -> list[str]:
        path, table = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
        video = str(table.video_id[0])
        bad = f"{prefix}{video}" if prefix != "ABS" else str(root / "features" / "visual" / "val" / video)
        table.loc[table.video_id == video, "video_id"] = bad
        table.to_csv(path, index=False)
        info_path, info = _csv(root, f"{EPIC}/EPIC_100_video_info.csv")
        extra = info[info.video_id == video].assign(video_id=bad)
        pd.concat([info, extra], ignore_index=True).to_csv(info_path, index=False)
        for stream in ("visual", "audio"):  # the intervals and the sounds file use the same id
            ipath, intervals = _csv(root, f"features/{stream}/intervals_val.csv")
            intervals.loc[intervals.video_id == video, "video_id"] = bad
            intervals.to_csv(ipath, index=False)
        spath, sounds = _csv(root, f"{SOUNDS}/EPIC_Sounds_validation.csv")
        sounds.loc[sounds.video_id == video, "video_id"] = bad
        sounds.to_csv(spath, index=False)
        return [bad, "cannot name a file"]
    return edit


def npy_edit(stream: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = first_file(root, f"features/{stream}/val/*.npy")
        np.save(path, change(np.load(path)))
        return [path.stem]
    return edit


def _nan(values: np.ndarray) -> np.ndarray:
    values = values.copy()
    values[2, 0, 1] = np.nan
    return values


def _inf(values: np.ndarray) -> np.ndarray:
    values = values.copy()
    values[-1, 0, 0] = -np.inf
    return values


def intervals_edit(stream: str, change: Callable[[pd.DataFrame], None], expect: list[str]) -> Callable[[Path],
                                                                                                  list[str]]:
    def edit(root: Path) -> list[str]:
        path, table = _csv(root, f"features/{stream}/intervals_val.csv")
        change(table)
        table.to_csv(path, index=False)
        return [str(table.video_id[0]), *expect]
    return edit


def _swap_rows(table: pd.DataFrame) -> None:
    table.loc[[4, 5]] = table.loc[[5, 4]].to_numpy()


def _shift(table: pd.DataFrame) -> None:
    table[["start_sec", "stop_sec"]] += 0.1


def _nan_time(table: pd.DataFrame) -> None:
    table["start_sec"] = table["start_sec"].astype(object)
    table.loc[2, "start_sec"] = "soon"


def _drop_row(table: pd.DataFrame) -> None:
    table.loc[3, "video_id"] = "elsewhere"  # the video's table now lists one feature fewer than its file holds


def sounds_train_unlabelled(root: Path) -> list[str]:
    path, table = _csv(root, f"{SOUNDS}/EPIC_Sounds_train.csv")
    table.drop(columns=["class_id", "class"]).to_csv(path, index=False)
    return ["EPIC_Sounds_train.csv", "class_id", "training split"]


# AVE

def ave_line(change: Callable[[list[str]], None], line: int = 5) -> Callable[[Path], list[str]]:
    """Edit the fields of one Annotations.txt line; expect ``Annotations.txt:LINE``."""
    def edit(root: Path) -> list[str]:
        path = root / "Annotations.txt"
        lines = path.read_text().splitlines()
        fields = lines[line - 1].split("&")
        change(fields)
        lines[line - 1] = "&".join(fields)
        path.write_text("\n".join(lines) + "\n")
        return [f"Annotations.txt:{line}"]
    return edit


def _typo(fields: list[str]) -> None:
    fields[0] = fields[0][:-1] + fields[0][-1].upper() + "x"


def _set(index: int, value: str) -> Callable[[list[str]], None]:
    def change(fields: list[str]) -> None:
        fields[index] = value
    return change


def _reverse(fields: list[str]) -> None:
    fields[3], fields[4] = "7", "3"


def _five_fields_to_four(fields: list[str]) -> None:
    del fields[2]


def ave_typo_names_closest(root: Path) -> list[str]:
    names = ave_line(_typo, line=2)(root)
    category = (root / "Annotations.txt").read_text().splitlines()[1].split("&")[0]
    return [*names, category, "closest"]


def order_edit(split: str, change: Callable[[np.ndarray, Path], np.ndarray],
               expect: Callable[[Path], list[str]] = lambda root: []) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = root / f"{split}_order.h5"
        with h5py.File(path, "r") as f:
            order = np.asarray(f["order"])
        new = change(order, root)
        with h5py.File(path, "w") as f:
            f.create_dataset("order", data=new)
        return [path.name, *expect(root)]
    return edit


def _other_order(root: Path, split: str) -> np.ndarray:
    with h5py.File(root / f"{split}_order.h5", "r") as f:
        return np.asarray(f["order"])


def _leak(split: str) -> Callable[[np.ndarray, Path], np.ndarray]:
    return lambda order, root: np.concatenate([order, _other_order(root, split)[:3]])


def _leak_names(split: str) -> Callable[[Path], list[str]]:
    return lambda root: [f"{split}_order.h5", str(sorted(_other_order(root, split)[:3].tolist())[0])]


def h5_edit(file: str, change: Callable[[np.ndarray], np.ndarray], dataset: str = "avadataset",
            name: str = "avadataset", expect: tuple[str, ...] | None = None) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = root / file
        with h5py.File(path, "r") as f:
            data = np.asarray(f[dataset])
        with h5py.File(path, "w") as f:
            f.create_dataset(name, data=change(data))
        return [file] if expect is None else list(expect)
    return edit


def _nan_row(data: np.ndarray) -> np.ndarray:
    data = data.astype(np.float32)
    data[_first_val_row[0], 3] = np.nan
    return data


_first_val_row = [0]


def ave_nan_audio(root: Path) -> list[str]:
    with h5py.File(root / "val_order.h5", "r") as f:
        row = int(np.asarray(f["order"])[0])
    _first_val_row[0] = row
    h5_edit("audio_feature.h5", _nan_row)(root)
    return [f"#{row}", "NaN"]


# Perception Test

def perception_edit(change: Callable[[dict], list[str]], file: str = "all_valid.json") -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = root / file
        data = json.loads(path.read_text())
        names = change(data)
        path.write_text(json.dumps(data))
        return [file, *names]
    return edit


def _first_video(data: dict) -> tuple[str, dict]:
    video = sorted(data)[0]
    return video, data[video]


def _perception_label(value: object) -> Callable[[dict], list[str]]:
    def change(data: dict) -> list[str]:
        video, entry = _first_video(data)
        seg = entry["action_segments"][0]
        seg["label_id"] = value
        return [f"{video}_a{seg['id']}"]
    return change


def _perception_reverse(data: dict) -> list[str]:
    video, entry = _first_video(data)
    seg = entry["sound_segments"][0]
    seg["timestamps"] = seg["timestamps"][::-1]
    return [f"{video}_s{seg['id']}", "empty or reversed"]


def _perception_not_object(data: dict) -> list[str]:
    video, _ = _first_video(data)
    data[video] = ["not", "an", "object"]
    return [video]


def _perception_no_id(data: dict) -> list[str]:
    video, entry = _first_video(data)
    del entry["action_segments"][1]["id"]
    return [video, "no 'id'"]


def _perception_duplicate_id(data: dict) -> list[str]:
    video, entry = _first_video(data)
    entry["sound_segments"][1]["id"] = entry["sound_segments"][0]["id"]
    return [f"{video}_s{entry['sound_segments'][0]['id']}", "appears twice"]


def _perception_rename(new: str) -> Callable[[Path], list[str]]:
    """Rename the val video (annotation key and interval rows) to ``new``: the feature reader must refuse it."""
    def edit(root: Path) -> list[str]:
        path = root / "all_valid.json"
        data = json.loads(path.read_text())
        video = sorted(data)[0]
        data[new] = data.pop(video)
        path.write_text(json.dumps(data))
        for stream in ("visual", "audio"):
            ipath, table = _csv(root, f"{stream}/intervals_val.csv")
            table.loc[table.video_id == video, "video_id"] = new
            table.to_csv(ipath, index=False)
        return [new, "cannot name a file"]
    return edit


def perception_leak(root: Path) -> list[str]:
    """The val video appears in the training file too."""
    val = json.loads((root / "all_valid.json").read_text())
    train = json.loads((root / "all_train.json").read_text())
    video = sorted(val)[0]
    train[video] = val[video]
    (root / "all_train.json").write_text(json.dumps(train))
    return ["all_train.json", "all_valid.json", video]


def _perception_no_duration(data: dict) -> list[str]:
    video, entry = _first_video(data)
    entry["metadata"] = {"split": "valid"}
    return [video, "duration"]


# issue 18: annotations accepted that were wrong, empty splits, misleading messages

def also(edit: Callable[[Path], list[str]], *names: str) -> Callable[[Path], list[str]]:
    """``edit`` expecting ``names`` too (e.g. the bad value itself)."""
    return lambda root: [*edit(root), *names]


def header_only(rel: str) -> Callable[[Path], list[str]]:
    """Keep only the header line of an annotation CSV: the split has no segments."""
    def edit(root: Path) -> list[str]:
        path = root / rel
        path.write_text(path.read_text().splitlines()[0] + "\n")
        return [path.name, "no segments"]
    return edit


def epic_labelled_far_past_end(root: Path) -> list[str]:
    """A labelled validation segment ending hours after its video: wrong timestamps, not a rounding overrun."""
    path, table = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
    table.loc[3, "stop_timestamp"] = "05:00:00.00"
    table.to_csv(path, index=False)
    return [path.name, str(table.narration_id[3]), str(table.video_id[3]), "lasts"]


def _perception_timestamps(value: object) -> Callable[[dict], list[str]]:
    def change(data: dict) -> list[str]:
        video, entry = _first_video(data)
        seg = entry["action_segments"][0]
        seg["timestamps"] = value
        return [f"{video}_a{seg['id']}", "has no [start, end] timestamps"]
    return change


def _perception_in_seconds(data: dict) -> list[str]:
    """Timestamps written in seconds where the format has microseconds: every segment a few microseconds long."""
    for entry in data.values():
        for name in ("action_segments", "sound_segments"):
            for seg in entry[name]:
                seg["timestamps"] = [t / 1e6 for t in seg["timestamps"]]
    return ["microseconds"]


def _perception_no_segments(data: dict) -> list[str]:
    for entry in data.values():
        entry["action_segments"], entry["sound_segments"] = [], []
    return ["no segments"]


def feature_symlink_outside(root: Path) -> list[str]:
    """A feature file replaced by a symlink to a copy outside data_root."""
    path = first_file(root, "features/visual/val/*.npy")
    copy = root.parent / f"copy_of_{path.name}"
    shutil.copy(path, copy)
    path.unlink()
    path.symlink_to(copy)
    return [path.name, "symlink", str(copy), "leaves"]


def npy_wrong_dim_in(split: str) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = first_file(root, f"features/visual/{split}/*.npy")
        values = np.load(path)
        np.save(path, np.concatenate([values, values], -1))
        return [path.name, "16-d"]
    return edit


def npy_nan_in(split: str) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        path = first_file(root, f"features/audio/{split}/*.npy")
        np.save(path, _nan(np.load(path)))
        return [path.stem, "NaN or inf"]
    return edit


def ave_empty_annotations(root: Path) -> list[str]:
    (root / "Annotations.txt").write_text("\n")
    return ["Annotations.txt", "no annotation lines"]



@dataclass(frozen=True)
class Case:
    dataset: str
    edit: Callable[[Path], list[str]]


CASES = {
    # ---- AVE: Annotations.txt
    "ave-category-typo": Case("ave", ave_typo_names_closest),
    "ave-category-unknown": Case("ave", ave_line(_set(0, "Vacuum cleaner"))),
    "ave-start-after-end": Case("ave", ave_line(_reverse)),
    "ave-end-past-10s": Case("ave", ave_line(_set(4, "12"))),
    "ave-negative-start": Case("ave", ave_line(_set(3, "-1"))),
    "ave-fractional-second": Case("ave", ave_line(_set(3, "2.5"))),
    "ave-four-fields": Case("ave", ave_line(_five_fields_to_four)),
    "ave-empty-video-id": Case("ave", ave_line(_set(1, ""))),
    "ave-not-utf8": Case("ave", garbage("Annotations.txt", b"Church bell&abc&good&0&10\n\xff\xfe\xfa&x\n")),
    # ---- AVE: *_order.h5
    "ave-train-val-share-rows": Case("ave", order_edit("train", _leak("val"), _leak_names("val"))),
    "ave-test-shares-train-rows": Case("ave", order_edit("test", _leak("train"), _leak_names("train"))),
    "ave-order-fractional": Case("ave", order_edit("val", lambda o, r: np.r_[o.astype(float), 3.5], lambda r: ["3.5"])),
    "ave-order-negative": Case("ave", order_edit("val", lambda o, r: np.r_[o, -2], lambda r: ["-2"])),
    "ave-order-out-of-range": Case("ave", order_edit("val", lambda o, r: np.r_[o, 4143], lambda r: ["4143"])),
    "ave-order-duplicate": Case("ave", order_edit("val", lambda o, r: np.r_[o, o[0]], lambda r: ["more than once"])),
    "ave-order-strings": Case("ave", order_edit("val", lambda o, r: np.array([b"a", b"b"]), lambda r: ["integer"])),
    "ave-order-garbage": Case("ave", garbage("val_order.h5")),
    "ave-order-truncated": Case("ave", truncate("train_order.h5", 0.3)),
    "ave-order-no-dataset": Case("ave", h5_edit("val_order.h5", lambda o: o, "order", "rows")),
    # ---- AVE: feature and label .h5
    "ave-visual-garbage": Case("ave", garbage("visual_feature.h5")),
    "ave-visual-truncated": Case("ave", truncate("visual_feature.h5", 0.6)),
    "ave-audio-truncated-header": Case("ave", truncate("audio_feature.h5", 0.01)),
    "ave-audio-nan": Case("ave", ave_nan_audio),
    "ave-audio-few-rows": Case("ave", h5_edit("audio_feature.h5", lambda a: a[:5])),
    "ave-audio-other-grid": Case("ave", h5_edit("audio_feature.h5", lambda a: a[:, :8],
                                                                 expect=("different time grids", "10 visual"))),
    "ave-visual-not-maps": Case("ave", h5_edit("visual_feature.h5", lambda v: v[:, :, :4, :4],
                                                                expect=("7, 7", "AVGA"))),
    "ave-audio-wrong-dataset": Case("ave", h5_edit("audio_feature.h5", lambda a: a, name="features")),
    "ave-labels-garbage": Case("ave", garbage("labels.h5")),
    "ave-labels-strings": Case("ave", h5_edit("labels.h5", lambda a: a[:, :, :5])),
    # ---- EPIC-100 / EPIC-Sounds annotations
    "epic-verb-out-of-range": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "verb_class", 97)),
    "epic-noun-out-of-range": Case("epic", edit_csv(f"{EPIC}/EPIC_100_train.csv", "noun_class", 300)),
    "epic-verb-negative": Case("epic", edit_csv(f"{EPIC}/EPIC_100_train.csv", "verb_class", -1)),
    "epic-verb-fractional": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "verb_class", 2.5)),
    "epic-verb-missing": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "verb_class", "")),
    "epic-start-after-stop": Case("epic", epic_swap_stop),
    "epic-bad-timestamp": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "start_timestamp", "00:0x:01")),
    "epic-negative-timestamp": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "start_timestamp", -3.0)),
    "epic-empty-video-id": Case("epic", edit_csv(f"{EPIC}/EPIC_100_validation.csv", "video_id", "")),
    "epic-empty-narration-id": Case("epic", lambda root: edit_csv(f"{EPIC}/EPIC_100_validation.csv", "narration_id",
                                                                  "")(root)[:1] + ["row 4 has no narration_id"]),
    "epic-no-start-column": Case("epic", drop_column(f"{EPIC}/EPIC_100_validation.csv", "start_timestamp")),
    "epic-garbage-csv": Case("epic", garbage(f"{EPIC}/EPIC_100_validation.csv", b"\xff\xfe\x00\x01" * 64)),
    "epic-train-val-share-video": Case("epic", epic_leak_video),
    "epic-segment-after-video": Case("epic", epic_after_end),
    "epic-duration-nan": Case("epic", epic_bad_duration("")),
    "epic-duration-negative": Case("epic", epic_bad_duration(-5)),
    "sounds-train-without-class-id": Case("epic", sounds_train_unlabelled),
    "sounds-class-out-of-range": Case("epic", edit_csv(f"{SOUNDS}/EPIC_Sounds_validation.csv", "class_id", 44)),
    "sounds-class-text": Case("epic", edit_csv(f"{SOUNDS}/EPIC_Sounds_train.csv", "class_id", "water")),
    "sounds-duplicate-id": Case("epic", epic_duplicate_id),
    "sounds-train-val-share-rows": Case("epic", sounds_leak_row),
    # ---- ids used as paths
    "epic-id-parent-dirs": Case("epic", epic_traversal_id("../../x/")),
    "epic-id-absolute": Case("epic", epic_traversal_id("ABS")),
    "epic-id-separator": Case("epic", epic_traversal_id("sub\\")),
    "perception-id-parent": Case("perception", _perception_rename("../../outside")),
    # ---- npy features and interval tables
    "npy-garbage": Case("epic", lambda root: garbage(str(first_file(root, "features/visual/val/*.npy")
                                                         .relative_to(root)))(root)),
    "npy-truncated": Case("epic", lambda root: truncate(str(first_file(root, "features/audio/val/*.npy")
                                                            .relative_to(root)), 0.7)(root)),
    "npy-nan": Case("epic", npy_edit("visual", _nan)),
    "npy-inf": Case("epic", npy_edit("audio", _inf)),
    "npy-wrong-dim": Case("epic", npy_edit("visual", lambda v: np.concatenate([v, v], -1))),
    "npy-object-array": Case("epic", lambda root: (np.save(first_file(root, "features/visual/val/*.npy"),
                                                           np.array([{"a": 1}], dtype=object), allow_pickle=True),
                                                   [first_file(root, "features/visual/val/*.npy").name])[1]),
    "intervals-not-increasing": Case("epic", intervals_edit("visual", _swap_rows, ["intervals_val.csv",
                                                                                   "feature times must increase"])),
    "intervals-text-time": Case("epic", intervals_edit("audio", _nan_time, ["intervals_val.csv", "row 3"])),
    "intervals-row-missing": Case("epic", intervals_edit("visual", _drop_row, ["interval table"])),
    "streams-on-different-grids": Case("epic", intervals_edit("audio", _shift, ["time grid"])),
    # ---- Perception Test annotations
    "perception-label-out-of-range": Case("perception", perception_edit(_perception_label(63))),
    "perception-label-text": Case("perception", perception_edit(_perception_label("cut"))),
    "perception-label-bool": Case("perception", perception_edit(_perception_label(True))),
    "perception-reversed": Case("perception", perception_edit(_perception_reverse)),
    "perception-video-not-object": Case("perception", perception_edit(_perception_not_object)),
    "perception-segment-without-id": Case("perception", perception_edit(_perception_no_id, "all_train.json")),
    "perception-duplicate-id": Case("perception", perception_edit(_perception_duplicate_id)),
    "perception-no-duration": Case("perception", perception_edit(_perception_no_duration)),
    "perception-garbage-json": Case("perception", garbage("all_valid.json", b"{\"video_0001\": [1, 2")),
    "perception-train-val-share-video": Case("perception", perception_leak),
    "perception-timestamps-bool": Case("perception", perception_edit(_perception_timestamps([True, True, False]))),
    "perception-timestamps-text": Case("perception", perception_edit(_perception_timestamps(["0", "100000"]))),
    # ---- issue 18: timestamps of the wrong shape or unit, empty splits, segments far past the end, symlinks
    "epic-timestamp-four-fields": Case("epic", also(edit_csv(f"{EPIC}/EPIC_100_validation.csv", "start_timestamp",
                                                             "00:00:08:76"), "00:00:08:76", "start_timestamp")),
    "epic-timestamp-seconds-past-59": Case("epic", also(edit_csv(f"{EPIC}/EPIC_100_train.csv", "stop_timestamp",
                                                                 "00:00:75.00"), "00:00:75.00", "past 59")),
    "epic-timestamp-minutes-past-59": Case("epic", also(edit_csv(f"{EPIC}/EPIC_100_validation.csv", "stop_timestamp",
                                                                 "00:75:00.00"), "00:75:00.00", "past 59")),
    "sounds-timestamp-two-fields": Case("epic", also(edit_csv(f"{SOUNDS}/EPIC_Sounds_validation.csv",
                                                              "start_timestamp", "01:02.5"), "01:02.5")),
    "epic-val-header-only": Case("epic", header_only(f"{EPIC}/EPIC_100_validation.csv")),
    "sounds-test-header-only": Case("epic", header_only(f"{SOUNDS}/EPIC_Sounds_recognition_test_timestamps.csv")),
    "epic-labelled-segment-far-past-end": Case("epic", epic_labelled_far_past_end),
    "perception-seconds-not-microseconds": Case("perception", perception_edit(_perception_in_seconds)),
    "perception-split-without-segments": Case("perception", perception_edit(_perception_no_segments)),
    "ave-empty-val-order": Case("ave", order_edit("val", lambda o, r: o[:0], lambda r: ["empty", "'val'"])),
    "ave-empty-annotations": Case("ave", ave_empty_annotations),
    "npy-symlink-leaving-data-root": Case("epic", feature_symlink_outside),
    "npy-wrong-dim-in-test-split": Case("epic", npy_wrong_dim_in("test")),
    "npy-nan-in-test-split": Case("epic", npy_nan_in("test")),
}


def _broken(bases: dict[str, Path], tmp_path: Path, case: Case) -> tuple[Path, list[str]]:
    root = tmp_path / case.dataset
    shutil.copytree(bases[case.dataset], root)
    return root, case.edit(root)


@pytest.mark.parametrize("name", list(CASES))
def test_check_data_names_the_problem(bases, tmp_path, name):
    case = CASES[name]
    root, names = _broken(bases, tmp_path, case)
    config, options = CONFIGS[case.dataset]
    outcome = run_cli(["check-data", config, "--cfg-options", f"data_root={root}", *options])
    assert "OK: no problems found" not in outcome.output, outcome.output
    assert_clear_error(outcome, *names)


RUN_CASES = ["ave-category-typo", "ave-train-val-share-rows", "ave-order-fractional", "sounds-train-without-class-id",
             "epic-verb-out-of-range", "epic-id-parent-dirs", "npy-garbage", "ave-visual-truncated",
             "epic-timestamp-four-fields", "epic-val-header-only", "ave-empty-val-order",
             "perception-split-without-segments", "npy-wrong-dim-in-test-split", "npy-nan-in-test-split",
             "sounds-test-header-only"]


@pytest.mark.parametrize("name", RUN_CASES)
def test_run_refuses_the_same_input_before_training(bases, tmp_path, name):
    case = CASES[name]
    root, names = _broken(bases, tmp_path, case)
    config, options = CONFIGS[case.dataset]
    work = tmp_path / "work"
    outcome = run_cli(["run", config, "--work-dir", str(work), "--results-dir", str(tmp_path / "results"),
                       "--cfg-options", f"data_root={root}", "train_cfg.max_epochs=1", *options, *TINY_MODEL])
    assert_clear_error(outcome, *names, code=2)
    assert not list(work.rglob("*.pth")), "a checkpoint was written: training started on bad data"


#: case -> (dataset, option, what the message names): features of a layout the configured model cannot read
LAYOUT_CASES = {
    "maps-without-pooling": ("ave", "model.pool_features=False",
                             ["(10, 1, 7, 7, 8)", "model.pool_features=True", "features.visual"]),
    "vectors-with-pooling": ("perception", "model.pool_features=True",
                             ["model.pool_features=False", "features.visual", "[T, A, 7, 7, D]"]),
}


@pytest.mark.parametrize("command", ["check-data", "run", "train"])
@pytest.mark.parametrize("case", list(LAYOUT_CASES))
def test_features_the_model_cannot_read_are_refused_before_training(bases, tmp_path, case, command):
    """Visual maps [T, A, H, W, D] need model.pool_features (AVGA), vectors must not get it: one sentence naming
    the keys, before any training step (it was a RuntimeError traceback from the model's forward)."""
    dataset, option, names = LAYOUT_CASES[case]
    config, options = CONFIGS[dataset]
    argv = ["--cfg-options", f"data_root={bases[dataset]}", option, *options, *TINY_MODEL]
    if command == "check-data":
        outcome = run_cli(["check-data", config, *argv])
        assert "OK: no problems found" not in outcome.output, outcome.output
        assert_clear_error(outcome, *names)
        return
    work = tmp_path / "work"
    outcome = run_cli([command, config, "--work-dir", str(work), *(["--results-dir", str(tmp_path / "results")]
                                                                 if command == "run" else []),
                       *argv, "train_cfg.max_epochs=1"])
    assert_clear_error(outcome, *names, code=2)
    assert len([line for line in outcome.output.splitlines() if "model.pool_features" in line]) == 1
    assert not list(work.rglob("*.pth")), "a checkpoint was written: training started"


def test_a_damaged_window_cache_is_rebuilt_with_a_warning(bases, tmp_path):
    """A truncated cache file and a temp file left by a killed write: the next run warns, rebuilds, tidies up."""
    from tim_bench.config import load_config
    from tim_bench.runner.experiment import Experiment
    cfg = load_config("configs/perception_av.py", {"data_root": str(bases["perception"]), "features.visual.dim": 8,
                                                   "features.audio.dim": 4})
    cache = tmp_path / "cache"
    exp = Experiment(cfg, cache_dir=cache)
    clean = exp.load_split("val", train=False).windows
    [cached] = cache.glob("windows-*.npz")
    cached.write_bytes(cached.read_bytes()[:100])
    orphan = cache / ".windows-deadbeef.npz.abc.tmp"
    orphan.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    fresh = cache / ".windows-cafe.npz.xyz.tmp"  # a write still running in another process: left alone
    fresh.write_bytes(b"busy")

    import logging
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("tim_bench").addHandler(handler)
    try:
        rebuilt = Experiment(cfg, cache_dir=cache).load_split("val", train=False).windows
    finally:
        logging.getLogger("tim_bench").removeHandler(handler)
    np.testing.assert_array_equal(rebuilt.feat_idx, clean.feat_idx)
    np.testing.assert_array_equal(rebuilt.query_row, clean.query_row)
    assert any("unreadable" in r and cached.name in r for r in records), records
    assert any("temp files" in r for r in records), records
    assert not orphan.exists() and fresh.exists()
    with np.load(cached) as data:  # rewritten whole
        assert len(data["start"]) == len(clean)


@pytest.mark.slow
def test_a_garbage_window_cache_does_not_stop_run(bases, tmp_path):
    """Through the CLI: a garbage file in the run's window cache is rebuilt with a warning, and the run finishes."""
    cache = tmp_path / "cache"
    args = ["run", "configs/perception_av.py", "--results-dir", str(tmp_path / "results"), "--cfg-options",
            f"data_root={bases['perception']}", f"window_cache={cache}", "train_cfg.max_epochs=1", *DIMS, *TINY_MODEL]
    first = run_cli([*args[:2], "--work-dir", str(tmp_path / "one"), *args[2:]])
    assert first.code == 0, first.output
    for cached in cache.glob("windows-*.npz"):
        cached.write_bytes(b"PK\x03\x04 garbage")
    second = run_cli([*args[:2], "--work-dir", str(tmp_path / "two"), *args[2:]])
    assert second.code == 0 and "Traceback" not in second.output, second.output
    assert "unreadable" in second.output and "rebuilding it" in second.output, second.output


@pytest.mark.parametrize("video_id", ["../P01_13", "../../x/P01_13", "/etc/passwd", "a/b", "a\\b", "P01\x0013", "..",
                                      ".", "", " "])
def test_ids_that_would_leave_the_feature_folder_are_refused(tmp_path, video_id):
    from tim_bench_plugins.features.npy import NpyFeatures
    from tim_bench_registry import DataError
    (tmp_path / "feats" / "val").mkdir(parents=True)
    np.save(tmp_path / "feats" / "val" / "P01_13.npy", np.zeros((3, 1, 4), np.float32))
    source = NpyFeatures(str(tmp_path), "feats", "intervals_{split}.csv")
    with pytest.raises(DataError, match="cannot name a file"):
        source.open("val", video_id)


# ---------------------------------------------------------------- legal but suspicious data: warnings with counts

def sounds_test_far_past_end(root: Path) -> list[str]:
    """An unlabelled challenge test segment ending hours after its video (the official file has one 691 s past)."""
    path, table = _csv(root, f"{SOUNDS}/EPIC_Sounds_recognition_test_timestamps.csv")
    table.loc[2, "stop_timestamp"] = "05:00:00.000"
    table.to_csv(path, index=False)
    return [str(table.annotation_id[2]), "1 of ", "after their video's end"]


def epic_labelled_past_end_by_2s(root: Path) -> list[str]:
    """A long labelled segment ending 2 s after its video: mostly inside it, so clipped with a warning."""
    path, table = _csv(root, f"{EPIC}/EPIC_100_validation.csv")
    _, info = _csv(root, f"{EPIC}/EPIC_100_video_info.csv")
    duration = float(info.set_index("video_id").duration[table.video_id[3]])
    table.loc[3, "start_timestamp"] = "00:00:01.00"
    table.loc[3, "stop_timestamp"] = f"00:{int((duration + 2) // 60):02d}:{(duration + 2) % 60:05.2f}"
    table.to_csv(path, index=False)
    return [str(table.narration_id[3]), "after their video's end"]


def repeated_feature_row(root: Path, split: str = "val") -> list[str]:
    """Row 5 of one video's feature grid repeats row 4 (both streams, so the grids still agree)."""
    for stream in ("visual", "audio"):
        path, table = _csv(root, f"features/{stream}/intervals_{split}.csv")
        table.loc[5, ["start_sec", "stop_sec"]] = table.loc[4, ["start_sec", "stop_sec"]].to_numpy()
        table.to_csv(path, index=False)
    return [str(table.video_id[4]), "rows 4 and 5", "repeated feature rows"]


def epic_segments_shorter_than_a_step(root: Path) -> list[str]:
    """Every validation segment 0.05 s long: shorter than the 0.2-s feature step."""
    for rel in (f"{EPIC}/EPIC_100_validation.csv", f"{SOUNDS}/EPIC_Sounds_validation.csv"):
        path, table = _csv(root, rel)
        start = pd.to_timedelta(table["start_timestamp"])
        table["stop_timestamp"] = (start + pd.Timedelta(seconds=0.05)).map(
            lambda t: f"{t.components.hours:02d}:{t.components.minutes:02d}:{t.components.seconds:02d}."
                      f"{t.components.milliseconds:03d}")
        table.to_csv(path, index=False)
    return ["shorter than one feature step", "segments are"]


def feature_times_in_milliseconds(root: Path) -> list[str]:
    """Both streams' interval tables written in milliseconds: the grid runs far past every video's end."""
    for stream in ("visual", "audio"):
        path, table = _csv(root, f"features/{stream}/intervals_val.csv")
        table[["start_sec", "stop_sec"]] *= 1000
        table.to_csv(path, index=False)
    return [str(table.video_id[0]), "past the video's end", "1 of 1 videos"]


def _perception_extra_video(data: dict) -> list[str]:
    """A second val video with no segments at all: skipped, and said so."""
    _, entry = _first_video(data)
    data["video_9999"] = {"metadata": dict(entry["metadata"]), "action_segments": [], "sound_segments": []}
    return ["video_9999", "no segments"]


WARN_CASES = {
    "sounds-test-segment-far-past-end": Case("epic", sounds_test_far_past_end),
    "epic-labelled-segment-2s-past-end": Case("epic", epic_labelled_past_end_by_2s),
    "feature-grid-repeated-row": Case("epic", repeated_feature_row),
    "segments-shorter-than-a-feature-step": Case("epic", epic_segments_shorter_than_a_step),
    "feature-times-in-milliseconds": Case("epic", feature_times_in_milliseconds),
    "perception-video-without-segments": Case("perception", lambda root: [
        "val:", *perception_edit(_perception_extra_video)(root)[1:]]),
}


@pytest.mark.parametrize("name", list(WARN_CASES))
def test_check_data_warns_of_suspicious_data(bases, tmp_path, name):
    case = WARN_CASES[name]
    root, names = _broken(bases, tmp_path, case)
    config, options = CONFIGS[case.dataset]
    outcome = run_cli(["check-data", config, "--cfg-options", f"data_root={root}", *options])
    assert_warned(outcome, *names)
    assert "OK: no problems found" in outcome.output, outcome.output


def test_run_warns_when_it_loads_a_split(bases, tmp_path):
    """`run` prints the warnings when it loads a split: here the test split, loaded first, then a header-only val
    file stops the run before training (so the test stays fast)."""
    root, names = _broken(bases, tmp_path, Case("epic", lambda r: repeated_feature_row(r, "test")))
    header_only(f"{EPIC}/EPIC_100_validation.csv")(root)
    config, options = CONFIGS["epic"]
    outcome = run_cli(["run", config, "--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "res"),
                       "--cfg-options", f"data_root={root}", "train_cfg.max_epochs=1", *options, *TINY_MODEL])
    assert_clear_error(outcome, "EPIC_100_validation.csv", "no segments", code=2)
    assert "warning" in outcome.output and all(name in outcome.output for name in names), outcome.output


@pytest.mark.slow
def test_run_warns_of_suspicious_data_before_training(bases, tmp_path):
    """`run` prints the same warnings (with counts) when it loads the split, before its first epoch."""
    root, names = _broken(bases, tmp_path, WARN_CASES["feature-grid-repeated-row"])
    config, options = CONFIGS["epic"]
    outcome = run_cli(["run", config, "--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "res"),
                       "--cfg-options", f"data_root={root}", "train_cfg.max_epochs=1", *options, *TINY_MODEL])
    assert_warned(outcome, *names)
    warned = outcome.output.index("repeated feature rows")
    assert warned < outcome.output.index("epoch 1"), outcome.output


@pytest.mark.parametrize("dataset, file, prefix", [
    ("ave", "Annotations.txt", b"\xef\xbb\xbf"), ("perception", "all_valid.json", b"\xef\xbb\xbf"),
    ("ave", "Annotations.txt", b"Category&VideoID&Quality&StartTime&EndTime\n"),
    ("ave", "Annotations.txt", b"\xef\xbb\xbfCategory&VideoID&Quality&StartTime&EndTime\r\n")])
def test_a_byte_order_mark_or_header_line_is_read_as_the_csv_readers_do(bases, tmp_path, dataset, file, prefix):
    """Annotations.txt and the Perception Test JSON saved with a UTF-8 BOM (as some editors do), and an
    Annotations.txt that starts with its column names, read as the plain files do."""
    root = tmp_path / dataset
    shutil.copytree(bases[dataset], root)
    (root / file).write_bytes(prefix + (root / file).read_bytes())
    config, options = CONFIGS[dataset]
    clean = run_cli(["check-data", config, "--cfg-options", f"data_root={bases[dataset]}", *options])
    read = run_cli(["check-data", config, "--cfg-options", f"data_root={root}", *options])
    assert read.code == 0 and "OK: no problems found" in read.output, read.output
    assert read.output.replace(str(root), "ROOT") == clean.output.replace(str(bases[dataset]), "ROOT")


def test_a_symlink_inside_data_root_is_read(bases, tmp_path):
    """A feature file symlinked to a copy elsewhere *inside* data_root (git-annex, DVC layouts) is fine."""
    root = tmp_path / "epic"
    shutil.copytree(bases["epic"], root)
    path = first_file(root, "features/visual/val/*.npy")
    (root / "store").mkdir()
    shutil.move(path, root / "store" / path.name)
    path.symlink_to(root / "store" / path.name)
    config, options = CONFIGS["epic"]
    outcome = run_cli(["check-data", config, "--cfg-options", f"data_root={root}", *options])
    assert outcome.code == 0 and "OK: no problems found" in outcome.output, outcome.output


def test_the_engine_refuses_a_leak_whichever_split_is_loaded_first(bases, tmp_path):
    """The engine's train/eval disjointness check (no plugin checks it itself since contract 1.2) fires whichever
    split comes first: the training split second, or an evaluation split loaded alone (as `test` and `predict`
    do), which the engine checks against the config's training split."""
    from tim_bench.config import load_config
    from tim_bench.runner.experiment import Experiment
    from tim_bench_registry import DataError

    root = tmp_path / "perception"
    shutil.copytree(bases["perception"], root)
    train_file, val_file, video = perception_leak(root)
    cfg = load_config("configs/perception_av.py", {"data_root": str(root), "features.visual.dim": 8,
                                                   "features.audio.dim": 4})
    leak = f"{train_file} \\(training\\) and .*{val_file} share 1 videos \\({video}\\)"
    with pytest.raises(DataError, match=leak):
        Experiment(cfg).load_split("val", train=False)
    for stream in ("visual", "audio"):  # the leaked video's features in the training split too, so that it loads
        shutil.copy(root / stream / "val" / f"{video}.npy", root / stream / "train")
        intervals = [pd.read_csv(root / stream / f"intervals_{split}.csv") for split in ("train", "val")]
        pd.concat([intervals[0], intervals[1][intervals[1].video_id == video]]).to_csv(
            root / stream / "intervals_train.csv", index=False)
    exp = Experiment(cfg)
    exp.load_split("train", train=True)
    with pytest.raises(DataError, match=leak):
        exp.load_split("val", train=False)
