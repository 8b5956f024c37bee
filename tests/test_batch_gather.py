"""The vectorised batch gather from a feature store gives exactly the former per-window dataset's batches."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import tiny_epic_experiment
from tim_bench_plugins.epic.synthetic import make_epic
from tim_bench.config import load_config
from tim_bench.data.dataset import WindowBatches
from tim_bench.data.store import FeatureStore
from tim_bench.runner.experiment import Experiment
from tim_bench.distributed import DistInfo
from tim_bench_plugins.ave.synthetic import make_ave
from tim_bench_registry import DataError

from reference_dataset import WindowDataset, collate_windows

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SMALL = {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2}


@pytest.fixture(scope="module")
def epic(tmp_path_factory) -> Experiment:
    return tiny_epic_experiment(tmp_path_factory.mktemp("epic"), SMALL)


def _batches(exp: Experiment, split: str, train: bool, dtype: str, epoch: int):
    data = exp.load_split(split, train=train)
    videos = list(dict.fromkeys(data.windows.video_ids.tolist()))
    store = FeatureStore(exp.sources, split, videos, torch.device("cpu"), "host", dtype)
    new = WindowBatches(data.windows, data.queries, store, train, seed=3)
    old = WindowDataset(data.windows, data.queries, exp.sources, split, train, seed=3)
    new.set_epoch(epoch)
    old.set_epoch(epoch)
    order = np.random.default_rng(epoch).permutation(len(data.windows))
    return [(new[b.tolist()], collate_windows([old[i] for i in b])) for b in np.array_split(order, 7)]


def _checked_packing_removed(batch: dict) -> dict:
    """The batch without ``query_index`` (the per-window reference has no packing), which must list exactly the
    real queries (no mixup in these datasets)."""
    real = batch.pop("query_index")
    for stream, rows in batch["query_rows"].items():
        assert torch.equal(real[stream], (rows.reshape(-1) >= 0).nonzero().squeeze(1))
    return batch


def _assert_same(got, want, path=""):
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _assert_same(got[k], want[k], f"{path}.{k}")
    else:
        assert got.dtype == want.dtype and got.shape == want.shape, path
        assert torch.equal(got, want), path


@pytest.mark.parametrize("split,train", [("train", True), ("val", False)], ids=["train-augmented", "val"])
def test_gather_equals_per_window_dataset_on_epic(epic, split, train):
    for epoch in (1, 2):
        for new, old in _batches(epic, split, train, "float32", epoch):
            del new["feature_rows"]  # empty: a host store gathers the features in the batch itself
            _assert_same(_checked_packing_removed(new), old)


def test_augmentation_copies_differ_between_epochs(epic):
    first = _batches(epic, "train", True, "float32", 1)[0][0]["features"]["visual"]
    second = _batches(epic, "train", True, "float32", 2)[0][0]["features"]["visual"]
    assert not torch.equal(first, second)


@pytest.mark.parametrize("dtype,torch_dtype", [("bfloat16", torch.bfloat16), ("float16", torch.float16)])
def test_half_stores_hold_the_rounded_features(epic, dtype, torch_dtype):
    for new, old in _batches(epic, "train", True, dtype, 1):
        for s, x in new["features"].items():
            assert x.dtype == torch_dtype
            assert torch.equal(x.float(), old["features"][s].to(torch_dtype).float())


def test_gather_equals_per_window_dataset_on_ave_maps(tmp_path):
    root = make_ave(tmp_path / "ave", videos=30, visual_dim=8, audio_dim=4)
    cfg = load_config(CONFIGS / "ave_vgg.py", {"data_root": str(root), **SMALL, "windows.num_feats": 5})
    for new, old in _batches(Experiment(cfg), "train", True, "float32", 1):
        del new["feature_rows"]
        _assert_same(_checked_packing_removed(new), old)


def test_loader_hands_over_float32_batches_and_sets_epochs(epic):
    data = epic.load_split("train", train=True)
    loader = epic.loader(data, 4, True, DistInfo(), num_workers=1)
    loader.batch_sampler.set_epoch(1)
    data.dataset.set_epoch(1)
    batches = list(loader)
    assert len(batches) == len(loader)
    assert sorted(torch.cat([b["index"] for b in batches]).tolist()) == list(range(len(data.windows)))
    assert all(x.dtype == torch.float32 for b in batches for x in b["features"].values())


def test_persistent_workers_draw_every_epochs_own_batches(epic):
    """A loader's worker lives across epochs and keeps its first copy of the dataset: each batch carries its epoch
    (EpochBatch), so the worker's epoch-2 batches (mixup draws, augmentation copies) are the main process's."""
    data = epic.load_split("train", train=True)
    in_worker = epic.loader(data, 4, True, DistInfo(), num_workers=1)
    in_process = epic.loader(data, 4, True, DistInfo())
    assert in_worker.loader.persistent_workers
    for epoch in (1, 2):
        for loader in (in_worker, in_process):
            loader.batch_sampler.set_epoch(epoch)
        data.dataset.set_epoch(epoch)  # the main process's dataset only
        pairs = list(zip(in_worker, in_process, strict=True))
        assert pairs and all("mix" in a for a, _ in pairs)
        for a, b in pairs:
            assert torch.equal(a["index"], b["index"]) and torch.equal(a["mix"]["lam"], b["mix"]["lam"])
            assert torch.equal(a["mix"]["perm"], b["mix"]["perm"])
            assert all(torch.equal(a["features"][s], b["features"][s]) for s in b["features"])


def test_worker_error_is_the_workers_one_line_message(epic, tmp_path):
    data = epic.load_split("val", train=False)
    loader = epic.loader(data, 4, False, DistInfo(), num_workers=1)
    data.dataset.windows.feat_idx[2, 0] = 10 ** 9  # a broken index: the worker's IndexError
    with pytest.raises(Exception) as info:
        list(loader)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)
    assert "index" in str(info.value)


@pytest.mark.slow  # writes a synthetic EPIC dataset
def test_non_finite_features_name_the_video(tmp_path):
    root = make_epic(tmp_path / "epic", videos=3, visual_dim=6, audio_dim=5)
    bad = next((root / "features" / "audio" / "val").glob("*.npy"))
    x = np.load(bad)
    x[3] = np.nan
    np.save(bad, x)
    cfg = load_config(CONFIGS / "epic_av.py", {"data_root": str(root), "features.visual.dim": 6,
                                               "features.audio.dim": 5, **SMALL})
    exp = Experiment(cfg)
    data = exp.load_split("val", train=False)
    with pytest.raises(DataError, match=f"video {bad.stem} .audio stream.* rows \\[3\\]"):
        exp.loader(data, 4, False, DistInfo())
