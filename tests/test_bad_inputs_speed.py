"""Bad options of the fast data path and the full-scale EPIC generator: one clear sentence naming the option or
file, exit 2, never a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bad_input import assert_clear_error, run_cli
from helpers import TINY_MODEL
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> Path:
    return make_ave(tmp_path_factory.mktemp("speed") / "ave", videos=30, visual_dim=8, audio_dim=4)


STORE_CASES = [
    pytest.param(["train_cfg.feature_store=disk"], ("train_cfg.feature_store", "disk", "host"), id="unknown-store"),
    pytest.param(["train_cfg.feature_dtype=int8"], ("train_cfg.feature_dtype", "int8", "bfloat16"), id="unknown-dtype"),
]
if not torch.cuda.is_available():
    STORE_CASES.append(pytest.param(["train_cfg.feature_store=gpu"], ("feature_store='gpu'", "CUDA"),
                                    id="gpu-store-without-cuda"))


@pytest.mark.parametrize("options,names", STORE_CASES)
def test_feature_store_options(ave, tmp_path, options, names):
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path / "wd"), "--cfg-options", f"data_root={ave}",
                       *TINY_MODEL, "train_cfg.max_epochs=1", *options])
    assert_clear_error(outcome, *names, code=2)


def _no_video_info(tmp_path: Path) -> Path:
    (tmp_path / "ann" / "epic-kitchens-100").mkdir(parents=True)
    return tmp_path / "ann"


GENERATOR_CASES = [
    pytest.param(["--dims", "8"], ("--dims", "8"), id="dims-one-number"),
    pytest.param(["--dims", "8,x"], ("--dims", "8,x"), id="dims-not-a-number"),
    pytest.param(["--dims", "0,8"], ("--dims", "0,8"), id="dims-zero"),
    pytest.param(["--full"], ("--full", "--annotations"), id="full-without-annotations"),
    pytest.param(["--full", "--annotations", "{shared}", "--max-videos", "3"], ("--full", "--max-videos"),
                 id="full-with-max-videos"),
    pytest.param(["--full", "--annotations", "{empty}"], ("EPIC_100_video_info.csv",), id="full-without-video-info"),
]


@pytest.mark.parametrize("extra,names", GENERATOR_CASES)
def test_full_scale_generator_options(tmp_path, shared_data, extra, names):
    empty = _no_video_info(tmp_path)
    argv = [a.format(shared=shared_data, empty=empty) for a in extra]
    outcome = run_cli(["make-synthetic", "epic", str(tmp_path / "out"), *argv])
    assert_clear_error(outcome, *names, code=2)
