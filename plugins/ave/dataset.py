"""AVE (Audio-Visual Event, Tian et al. ECCV 2018) from its official release.

Reads ``Annotations.txt`` (``Category&VideoID&Quality&StartTime&EndTime``, one line per video; a first line
holding these column names is skipped; a UTF-8 byte-order mark is read),
``{train,val,test}_order.h5`` (dataset ``order``: row indices) and, if present, ``labels.h5``
([N, 10, 29] one-hot, checked against the annotations). Every 1-s segment of a 10-s video is one
query in each stream, labelled with the video's event inside [start, end) and background
(id 28) elsewhere. Class ids number the 28 official events (``CATEGORIES``, the order of first
appearance in the official file); a category outside that list (or the ``categories`` given) is an
error naming its line and the closest known category, never a silent extra class. Order files hold
whole, in-range, distinct row indices, and the training split shares no row with val or test.
"""
from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from tim_bench_registry import DATASETS, DataError, SplitAnnotations, Task

log = logging.getLogger("tim_bench")
SECONDS = 10
SPLIT_FILES = {"train": "train_order.h5", "val": "val_order.h5", "test": "test_order.h5"}
BACKGROUND = "background"
HEADER = "Category&VideoID&Quality&StartTime&EndTime"
#: The 28 AVE event categories, numbered as in the official labels.h5.
CATEGORIES = (
    "Church bell", "Male speech, man speaking", "Bark", "Fixed-wing aircraft, airplane", "Race car, auto racing",
    "Female speech, woman speaking", "Helicopter", "Violin, fiddle", "Flute", "Ukulele", "Frying (food)", "Truck",
    "Shofar", "Motorcycle", "Acoustic guitar", "Train horn", "Clock", "Banjo", "Goat", "Baby cry, infant cry", "Bus",
    "Chainsaw", "Cat", "Horse", "Toilet flush", "Rodents, rats, mice", "Accordion", "Mandolin",
)
#: The official events and background: the class count of both streams, which the original TIM forces.
NUM_CLASSES = len(CATEGORIES) + 1
_SHOWN = 5


def read_annotations(path: Path, categories: Sequence[str] = CATEGORIES) -> pd.DataFrame:
    """Annotations.txt -> one row per video: category, youtube_id, quality, start, end (int seconds)."""
    if not path.is_file():
        raise DataError(f"AVE annotation file {path} does not exist; set data_root to the AVE folder or run "
                        f"`tim-bench make-synthetic ave {path.parent}`.")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is read, as the CSV readers do
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); give the official Annotations.txt.") from None
    rows: list[tuple[str, str, str, int, int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (not rows and line.strip() == HEADER):  # some copies start with the column names
            continue
        parts = [p.strip() for p in line.strip().split("&")]
        if len(parts) != 5:
            raise DataError(f"{path}:{lineno}: expected Category&VideoID&Quality&StartTime&EndTime, got '{line}'.")
        if parts[0] not in categories:
            close = difflib.get_close_matches(parts[0], categories, n=1, cutoff=0.0)
            raise DataError(f"{path}:{lineno}: category '{parts[0]}' of video {parts[1]} is not one of the "
                            f"{len(categories)} AVE categories (closest: '{close[0] if close else ''}'); fix the "
                            f"spelling or pass categories=[...] to the dataset.")
        if not parts[1]:
            raise DataError(f"{path}:{lineno}: the video id is empty; give Category&VideoID&Quality&StartTime&EndTime.")
        try:
            start, end = int(parts[3]), int(parts[4])
        except ValueError:
            raise DataError(f"{path}:{lineno}: start and end must be whole seconds, got '{parts[3]}', '{parts[4]}'.") \
                from None
        if not 0 <= start <= end <= SECONDS:
            raise DataError(f"{path}:{lineno}: event [{start}, {end}) of video {parts[1]} is not inside "
                            f"the {SECONDS}-s video.")
        if start == end:  # the official release has one such line (VWi2ENBuTbw): every second is background
            log.warning("%s:%d: video %s has an empty event [%d, %d); all its seconds are background",
                        path, lineno, parts[1], start, end)
        rows.append((parts[0], parts[1], parts[2], start, end))
    if not rows:
        raise DataError(f"{path} holds no annotation lines; give the official Annotations.txt (one "
                        f"Category&VideoID&Quality&StartTime&EndTime line per video).")
    return pd.DataFrame(rows, columns=["category", "youtube_id", "quality", "start", "end"])


@DATASETS.register_module()
class AVE:
    """The AVE dataset: 28 events + background, visual and audio streams labelled per second."""

    def __init__(self, data_root: str, annotations: str = "Annotations.txt", labels_file: str = "labels.h5",
                 categories: Sequence[str] = CATEGORIES) -> None:
        self.root = Path(data_root)
        if len(set(categories)) != len(categories) or not categories:
            raise DataError(f"AVE categories must be distinct names; got {list(categories)}.")
        self.annotations = self.root / annotations
        self.table = read_annotations(self.annotations, tuple(categories))
        self.categories = tuple(categories)
        self.class_names = self.categories + (BACKGROUND,)
        self.labels_file = self.root / labels_file

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s, f in SPLIT_FILES.items() if (self.root / f).is_file())

    def tasks(self) -> tuple[Task, ...]:
        n = len(self.class_names)
        return (Task("visual", "event", n, self.class_names), Task("audio", "event", n, self.class_names))

    def _order(self, split: str) -> np.ndarray:
        if split not in SPLIT_FILES:
            raise DataError(f"AVE has splits {tuple(SPLIT_FILES)}; the config asks for '{split}'.")
        path = self.root / SPLIT_FILES[split]
        if not path.is_file():
            raise DataError(f"AVE split file {path} does not exist.")
        try:
            with h5py.File(path, "r") as f:
                if "order" not in f or not isinstance(f["order"], h5py.Dataset):
                    raise DataError(f"{path} has no dataset 'order'; it holds {sorted(f)}.")
                raw = np.asarray(f["order"]).reshape(-1)
        except OSError as exc:
            raise DataError(f"{path} is not a readable HDF5 file ({exc}); replace it with the official one.") from None
        if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
            raise DataError(f"{path}: 'order' holds {raw.dtype} values; it must hold integer row indices.")
        bad = ~np.isfinite(raw.astype(np.float64)) | (raw != np.round(raw.astype(np.float64)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: entry {i} of 'order' is {raw[i]}, not a whole row index; fix the split file.")
        order = raw.astype(np.int64)
        bad = (order < 0) | (order >= len(self.table))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: entry {i} of 'order' is row {order[i]}, outside 0..{len(self.table) - 1} "
                            f"({self.annotations} has {len(self.table)} lines); fix the split file.")
        values, counts = np.unique(order, return_counts=True)
        if (counts > 1).any():
            raise DataError(f"{path} lists rows {values[counts > 1][:_SHOWN].tolist()} more than once; each video "
                            f"belongs in a split once.")
        return order

    def _check_disjoint(self, split: str, rows: np.ndarray) -> None:
        """The training split must share no row with val or test (the same video scored that it trained on)."""
        others = [s for s in self.splits() if s != split and "train" in (s, split)]
        for other in others:
            shared = np.intersect1d(rows, self._order(other))
            if len(shared):
                files = " and ".join(str(self.root / SPLIT_FILES[s]) for s in sorted((split, other)))
                raise DataError(f"{files} share {len(shared)} rows (e.g. {shared[:_SHOWN].tolist()}); a video must "
                                f"be in one split only: fix the split files.")

    def per_second_labels(self, rows: np.ndarray) -> np.ndarray:
        """[len(rows), 10] class ids: the event inside [start, end), background elsewhere."""
        sub = self.table.iloc[rows]
        event = sub["category"].map({c: i for i, c in enumerate(self.categories)}).to_numpy()
        t = np.arange(SECONDS)
        inside = (t >= sub["start"].to_numpy()[:, None]) & (t < sub["end"].to_numpy()[:, None])
        return np.where(inside, event[:, None], len(self.categories))

    def _check_labels_file(self, rows: np.ndarray, labels: np.ndarray) -> None:
        if not self.labels_file.is_file():
            return
        try:
            with h5py.File(self.labels_file, "r") as f:
                if "avadataset" not in f:
                    raise DataError(f"{self.labels_file} has no dataset 'avadataset'; it holds {sorted(f)}.")
                onehot = f["avadataset"]
                if onehot.ndim != 3 or onehot.shape[1:] != (SECONDS, len(self.class_names)) or \
                        onehot.shape[0] != len(self.table):
                    raise DataError(f"{self.labels_file} has shape {onehot.shape}; expected [{len(self.table)}, 10, "
                                    f"{len(self.class_names)}].")
                stored = np.asarray(onehot[np.sort(rows)]).argmax(-1)
        except OSError as exc:
            raise DataError(f"{self.labels_file} is not a readable HDF5 file ({exc}); replace it or remove it (it "
                            f"only double-checks Annotations.txt).") from None
        ours = labels[np.argsort(rows, kind="stable")]
        bad = np.nonzero((stored != ours).any(1))[0]
        if len(bad):
            row = int(np.sort(rows)[bad[0]])
            raise DataError(f"{self.labels_file} disagrees with Annotations.txt for row {row} (video "
                            f"{self.table.youtube_id[row]}): {stored[bad[0]].tolist()} vs {ours[bad[0]].tolist()}.")

    def load(self, split: str) -> SplitAnnotations:
        rows = np.unique(self._order(split))
        if not len(rows):
            raise DataError(f"{self.root / SPLIT_FILES[split]}: 'order' is empty, so split '{split}' has no video; "
                            f"give the official {SPLIT_FILES[split]} or drop the split from the config's splits.")
        self._check_disjoint(split, rows)
        labels = self.per_second_labels(rows)
        self._check_labels_file(rows, labels)
        video_ids = np.array([f"{yt}#{r}" for yt, r in zip(self.table.youtube_id.to_numpy()[rows], rows)])
        vid = np.repeat(video_ids, SECONDS)
        sec = np.tile(np.arange(SECONDS), len(rows))
        flat = labels.reshape(-1)
        one = pd.DataFrame({"segment_id": [f"{v}_{s}" for v, s in zip(vid, sec)], "video_id": vid,
                            "start": sec.astype(float), "stop": sec + 1.0})
        visual = one.assign(stream="visual", visual_event=flat, audio_event=-1)
        audio = one.assign(stream="audio", visual_event=-1, audio_event=flat)
        segments = pd.concat([visual, audio], ignore_index=True)
        source = f"{self.annotations} (the rows {self.root / SPLIT_FILES[split]} lists)"
        return SplitAnnotations(segments=segments, durations={v: float(SECONDS) for v in video_ids},
                                tasks=self.tasks(), source=source)
