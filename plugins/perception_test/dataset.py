"""Perception Test action and sound segments (Patraucean et al., 2023) from the official annotation JSON.

Each split is one JSON object keyed by video id (``video_xxxx``). A video holds ``metadata``
(``frame_rate``, ``num_frames``, ``audio_samples``, ``audio_sample_rate``, ...) and the lists
``action_segments`` (visual stream, task ``action``, 63 classes) and ``sound_segments`` (audio
stream, task ``sound``, 17 classes). A segment has ``id``, ``label``, ``label_id`` and
``timestamps`` ``[start, end]`` in **microseconds**.

Segment ids: the official ``id`` counts segments within one video, so it is not unique in a split;
a segment's id here is ``{video_id}_a{id}`` (action) or ``{video_id}_s{id}`` (sound).
A video lasts ``num_frames / frame_rate`` or ``audio_samples / audio_sample_rate`` seconds, the
longer of the two that the metadata gives (a sound may run into the audio's last frame).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import DATASETS, IGNORE_LABEL, DataError, SplitAnnotations, Task

log = logging.getLogger(__name__)

#: Classes of the action (visual) and sound (audio) tasks of the official release
NUM_ACTIONS, NUM_SOUNDS = 63, 17
MICROSECONDS = 1e6
#: Official file of each split (from train_annotations.zip, valid_annotations.zip, test_annotations.zip).
SPLIT_FILES = {"train": "all_train.json", "val": "all_valid.json", "test": "all_test.json"}
#: JSON list -> (stream, task name, id prefix).
SEGMENT_LISTS = {"action_segments": ("visual", "action", "a"), "sound_segments": ("audio", "sound", "s")}
INVALID_MODES = ("error", "skip")
#: Seconds a segment may end after the video's end: microsecond timestamps round frame times.
ROUNDING = 1e-3
#: One frame of the 30 fps videos: no annotated action or sound lasts this little at the median, so a split whose
#: median segment is shorter gave its timestamps in another unit (seconds or milliseconds) than microseconds.
ONE_FRAME = 1 / 30
_SHOWN = 5


def video_duration(video_id: str, metadata: Mapping[str, Any], source: str) -> float:
    """Seconds of one video from its metadata: the longer of the frame and the audio-sample durations."""
    spans = []
    for count, rate in (("num_frames", "frame_rate"), ("audio_samples", "audio_sample_rate")):
        if metadata.get(count) and metadata.get(rate):
            spans.append(float(metadata[count]) / float(metadata[rate]))
    if not spans:
        raise DataError(f"{source}: video {video_id} has neither num_frames/frame_rate nor "
                        f"audio_samples/audio_sample_rate in its metadata; add them so its duration is known.")
    return max(spans)


def read_split(path: Path) -> dict[str, Any]:
    """The JSON object of one split file."""
    if not path.is_file():
        raise DataError(f"Perception Test annotation file {path} does not exist; set data_root to the folder "
                        f"holding it or run `tim-bench make-synthetic perception {path.parent}`.")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark is read, as CSV readers do
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); download the annotation file again.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); download the annotation file again.") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold one JSON object keyed by video id; it holds a {type(data).__name__}.")
    return data


def _seconds(timestamps: Any) -> tuple[float, float]:
    """[start, end] microseconds -> seconds; (nan, nan) when they are not two numbers."""
    try:
        if any(isinstance(t, (bool, str)) for t in timestamps):
            raise TypeError("timestamps are numbers")
        start, end = (float(t) / MICROSECONDS for t in timestamps)
    except (TypeError, ValueError):
        return np.nan, np.nan
    return start, end


def _label(value: Any) -> Any:
    """A segment's label_id as read (None -> no label); booleans and strings are not class ids (NaN)."""
    if value is None:
        return IGNORE_LABEL
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


def segment_rows(data: Mapping[str, Any], source: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """One row per action and sound segment (times in seconds, raw label ids) and every video's duration."""
    rows: list[tuple] = []
    durations: dict[str, float] = {}
    for video_id, video in data.items():
        if not isinstance(video, dict) or not isinstance(video.get("metadata") or {}, dict):
            raise DataError(f"{source}: video {video_id} is a {type(video).__name__}, not an object with "
                            f"'metadata' and segment lists; fix the annotation file.")
        durations[video_id] = video_duration(video_id, video.get("metadata") or {}, source)
        for list_name, (stream, _, prefix) in SEGMENT_LISTS.items():
            segments = video.get(list_name) or []
            if not isinstance(segments, list) or not all(isinstance(seg, dict) for seg in segments):
                raise DataError(f"{source}: video {video_id} has a '{list_name}' that is not a list of segment "
                                f"objects; fix the annotation file.")
            for position, seg in enumerate(segments):
                if seg.get("id") is None or str(seg.get("id")).strip() == "":
                    raise DataError(f"{source}: segment {position} of {list_name} in video {video_id} has no 'id'; "
                                    f"every segment needs one.")
                label = _label(seg.get("label_id", IGNORE_LABEL))
                rows.append((f"{video_id}_{prefix}{seg.get('id')}", video_id, stream, *_seconds(seg.get("timestamps")),
                             label))
    table = pd.DataFrame(rows, columns=["segment_id", "video_id", "stream", "start", "stop", "label"])
    return table, durations


def invalid_reasons(table: pd.DataFrame, durations: Mapping[str, float],
                    num_classes: Mapping[str, int]) -> pd.Series:
    """Why each segment cannot be used ('' when it can): times outside the video, empty or reversed, bad label."""
    start, stop = table["start"].to_numpy(float), table["stop"].to_numpy(float)
    duration = table["video_id"].map(durations).to_numpy(float)
    label = pd.to_numeric(table["label"], errors="coerce").to_numpy(float)
    limit = table["stream"].map(num_classes).to_numpy(float)
    checks = [
        (~(np.isfinite(start) & np.isfinite(stop)), "has no [start, end] timestamps"),
        (np.isfinite(start) & np.isfinite(stop) & (stop <= start), "is empty or reversed"),
        ((start < 0) | (stop > duration + ROUNDING), "lies outside its video"),
        (~np.isfinite(label) | (label != np.round(label)) |
         ((label != IGNORE_LABEL) & ((label < 0) | (label >= limit))), "has a label_id outside the class list"),
    ]
    reasons = pd.Series("", index=table.index)
    for bad, reason in checks:
        reasons[bad & (reasons == "")] = reason
    return reasons


def check_units(table: pd.DataFrame, source: str) -> None:
    """Refuse a split whose median segment is shorter than one frame: its timestamps are not in microseconds."""
    lengths = (table["stop"] - table["start"]).to_numpy(float)
    if len(lengths) and np.median(lengths) < ONE_FRAME:
        longest = table["stop"].max() * MICROSECONDS
        raise DataError(f"{source}: its {len(lengths)} segments last {np.median(lengths) * MICROSECONDS:.4g} us at "
                        f"the median, less than one video frame, and the largest timestamp is {longest:.4g}: the "
                        f"timestamps look like seconds or milliseconds, but the Perception Test format gives "
                        f"[start, end] in microseconds; convert them (seconds x 1e6).")


@DATASETS.register_module()
class PerceptionTest:
    """Perception Test action (visual, 63 classes) and sound (audio, 17 classes) recognition.

    Args:
        data_root: folder holding the split files.
        files: split name -> JSON file under data_root (default: the official ``all_{train,valid,test}.json``).
        invalid_segments: ``"error"`` (default) names every unusable segment and stops; ``"skip"`` drops
            them and logs how many were dropped.
    """

    def __init__(self, data_root: str, files: Mapping[str, str] | None = None, invalid_segments: str = "error",
                 num_action_classes: int = NUM_ACTIONS, num_sound_classes: int = NUM_SOUNDS) -> None:
        if invalid_segments not in INVALID_MODES:
            raise DataError(f"PerceptionTest invalid_segments is '{invalid_segments}'; use one of {INVALID_MODES}.")
        self.root = Path(data_root)
        self.files = dict(SPLIT_FILES if files is None else files)
        self.invalid_segments = invalid_segments
        self.num_classes = {"visual": num_action_classes, "audio": num_sound_classes}

    def splits(self) -> tuple[str, ...]:
        return tuple(split for split, name in self.files.items() if (self.root / name).is_file())

    def tasks(self) -> tuple[Task, ...]:
        return tuple(Task(stream, name, self.num_classes[stream]) for stream, name, _ in SEGMENT_LISTS.values())

    def load(self, split: str) -> SplitAnnotations:
        if split not in self.files:
            raise DataError(f"PerceptionTest has split files for {tuple(self.files)}; the config asks for '{split}'.")
        path = self.root / self.files[split]
        table, durations = segment_rows(read_split(path), str(path))
        table = self._drop_invalid(table, durations, str(path))
        check_units(table, str(path))
        duplicated = table.duplicated(["stream", "segment_id"])
        if duplicated.any():
            raise DataError(f"{path}: segment id {table.segment_id[duplicated].iloc[0]} appears twice; each "
                            f"segment of a video needs its own id.")
        label = table.pop("label").astype(np.int64)
        for task in self.tasks():
            table[task.key] = np.where(table["stream"] == task.stream, label, IGNORE_LABEL)
        labelled = bool((label != IGNORE_LABEL).any())
        return SplitAnnotations(segments=table.reset_index(drop=True), durations=durations, tasks=self.tasks(),
                                labelled=labelled, source=str(path))

    def _drop_invalid(self, table: pd.DataFrame, durations: Mapping[str, float], source: str) -> pd.DataFrame:
        reasons = invalid_reasons(table, durations, self.num_classes)
        bad = reasons != ""
        if not bad.any():
            return table
        if self.invalid_segments == "skip":
            log.warning("%s: dropped %d invalid segments (first: %s)", source, int(bad.sum()),
                        ", ".join(table.segment_id[bad].iloc[:_SHOWN]))
            return table[~bad]
        shown = "; ".join(f"{sid} {why}" for sid, why in zip(table.segment_id[bad].iloc[:_SHOWN], reasons[bad]))
        raise DataError(f"{source} has {int(bad.sum())} invalid segments ({shown}); fix them or set "
                        f"invalid_segments='skip' in the dataset config to drop them.")
