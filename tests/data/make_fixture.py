"""Rebuild this folder from the full annotation files: a few real rows of each, same names and layout.

    python tests/data/make_fixture.py /path/to/shared/data

Rows are copied unmodified (whole videos, in file order); the AVE order files are re-indexed to the kept lines.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
#: EPIC-100 validation videos that EPIC-Sounds also labels: the first four of the file (what `make-synthetic epic
#: --max-videos 4` keeps), the unseen participants P18 and P32 among them.
VAL_VIDEOS = ["P01_11", "P01_12", "P01_13", "P01_14", "P02_13", "P03_26", "P04_26", "P04_32", "P11_21", "P13_02", "P18_08", "P26_30", "P26_38", "P28_23",
              "P32_03", "P32_07"]
TRAIN_VIDEOS = 4  # the first videos of the UDA training subset
#: test-timestamp videos: the first of each file, and P34_103 (the official EPIC-Sounds segment past its video's end)
TEST_VIDEOS = {"epic-kitchens-100": ["P01_101", "P34_103"], "epic-sounds": ["P02_106", "P34_103"]}
AVE_LINES = {"train": 40, "val": 12, "test": 12}  # the first entries of each official split (and line 1, train)
WHOLE = ["EPIC_100_verb_classes.csv", "EPIC_100_noun_classes.csv", "EPIC_100_tail_verbs.csv",
         "EPIC_100_tail_nouns.csv", "EPIC_100_unseen_participant_ids_validation.csv",
         "EPIC_100_unseen_participant_ids_test.csv", "EPIC_100_video_info.csv", "license.txt"]


def copy_rows(source: Path, target: Path, videos: list[str] | int) -> None:
    """The header and the lines of ``videos`` (a list, or the first N videos in file order), byte for byte."""
    frame = pd.read_csv(source)
    lines = source.read_text().splitlines(keepends=True)
    assert len(lines) == len(frame) + 1, f"{source}: a row spans several lines"
    keep = videos if isinstance(videos, list) else list(dict.fromkeys(frame.video_id))[:videos]
    target.write_text(lines[0] + "".join(lines[i + 1] for i in frame.index[frame.video_id.isin(keep)]))


def main(source: Path) -> None:
    epic, sounds = HERE / "epic-kitchens-100", HERE / "epic-sounds"
    for folder in (epic, sounds, HERE / "ave"):
        folder.mkdir(exist_ok=True)
    for name in WHOLE:
        shutil.copyfile(source / "epic-kitchens-100" / name, epic / name)
    for sub, stem in (("epic-kitchens-100", "EPIC_100_validation"), ("epic-sounds", "EPIC_Sounds_validation")):
        copy_rows(source / sub / f"{stem}.csv", HERE / sub / f"{stem}.csv", VAL_VIDEOS)
        pickled = pd.read_pickle(source / sub / f"{stem}.pkl")
        pickled[pickled.video_id.isin(VAL_VIDEOS)].to_pickle(HERE / sub / f"{stem}.pkl")
    name = "EPIC_100_uda_source_train.csv"
    copy_rows(source / "epic-kitchens-100" / name, epic / name, TRAIN_VIDEOS)
    for sub, name in (("epic-kitchens-100", "EPIC_100_test_timestamps.csv"),
                      ("epic-sounds", "EPIC_Sounds_recognition_test_timestamps.csv")):
        copy_rows(source / sub / name, HERE / sub / name, TEST_VIDEOS[sub])
    lines = (source / "ave" / "Annotations.txt").read_text().splitlines()
    orders = {s: h5py.File(source / "ave" / f"{s}_order.h5", "r")["order"][:n] for s, n in AVE_LINES.items()}
    if 1 not in orders["train"]:  # MH3m4AwEcRY, a short 'Church bell' event at [6, 8) s
        orders["train"] = np.append(orders["train"], 1)
    kept = sorted({int(i) for order in orders.values() for i in order})
    (HERE / "ave" / "Annotations.txt").write_text("".join(lines[i] + "\n" for i in kept))
    new_index = {old: new for new, old in enumerate(kept)}
    for split, order in orders.items():
        with h5py.File(HERE / "ave" / f"{split}_order.h5", "w") as f:
            f["order"] = np.array([new_index[int(i)] for i in order], dtype=np.int64)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
