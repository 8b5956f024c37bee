"""The AVE reader on the real release files and on synthetic ones in the same layout."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from tim_bench.data.checked import load_annotations
from tim_bench_plugins.ave.synthetic import make_ave
from tim_bench_plugins.ave.dataset import AVE
from tim_bench_plugins.features.hdf5_rows import HDF5RowFeatures
from tim_bench_registry import DataError


def test_real_annotations_and_splits(shared_data):
    ave = AVE(shared_data / "ave")
    assert ave.splits() == ("train", "val", "test")
    assert ave.class_names[0] == "Church bell" and ave.class_names[1] == "Male speech, man speaking"
    assert ave.class_names[27] == "Mandolin" and ave.class_names[28] == "background"
    sizes = {}
    for split in ave.splits():
        ann = load_annotations(ave, split, "AVE")  # the engine's rules hold
        sizes[split] = len(ann.durations)
        assert len(ann.segments) == sizes[split] * 10 * 2
    orders = {s: len(h5py.File(shared_data / "ave" / f"{s}_order.h5", "r")["order"]) for s in ave.splits()}
    assert sizes == orders  # the full release: 3,339 / 402 / 402
    first = ave.load("train").segments
    row = first[first.video_id.str.startswith("MH3m4AwEcRY#")]  # 'Church bell' event at [6, 8)
    assert row[row.stream == "visual"].visual_event.tolist() == [28] * 6 + [0, 0] + [28] * 2


def test_synthetic_layout_matches_the_official_release(tmp_path):
    make_ave(tmp_path, videos=40, visual_dim=16, audio_dim=8)
    with h5py.File(tmp_path / "visual_feature.h5") as f:
        assert f["avadataset"].shape == (40, 10, 7, 7, 16) and f["avadataset"].dtype == np.float32
    with h5py.File(tmp_path / "audio_feature.h5") as f:
        assert f["avadataset"].shape == (40, 10, 8)
    with h5py.File(tmp_path / "labels.h5") as f:
        assert f["avadataset"].shape == (40, 10, 29)
    ave = AVE(tmp_path)
    assert ave.class_names[:3] == ("Church bell", "Male speech, man speaking", "Bark")
    total = sum(len(ave.load(s).durations) for s in ave.splits())
    assert total == 40  # labels.h5 agrees with Annotations.txt, or load would raise
    feats = HDF5RowFeatures(tmp_path, "visual_feature.h5")
    video = next(iter(ave.load("val").durations))
    vf = feats.open("val", video)
    assert isinstance(feats._rows(), np.memmap)  # contiguous HDF5 is memory-mapped, not read whole
    assert vf.values.shape == (10, 1, 7, 7, 16) and vf.times[3].tolist() == [3.0, 4.0]


def test_labels_file_that_disagrees_is_an_error(tmp_path):
    make_ave(tmp_path, videos=30, visual_dim=4, audio_dim=4)
    with h5py.File(tmp_path / "labels.h5", "r+") as f:
        onehot = f["avadataset"][...]
        onehot[0] = np.roll(onehot[0], 1, axis=1)
        f["avadataset"][...] = onehot
    ave = AVE(tmp_path)
    split = next(s for s in ave.splits() if 0 in ave._order(s))
    with pytest.raises(DataError, match="disagrees with Annotations.txt for row 0"):
        ave.load(split)


def test_malformed_annotation_line_names_the_line(tmp_path):
    (tmp_path / "Annotations.txt").write_text("Bark&abc&good&0&10\nBark&def&good&7&3\n")
    with pytest.raises(DataError, match=r"Annotations.txt:2: event \[7, 3\)"):
        AVE(tmp_path)
