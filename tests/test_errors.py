"""Bad input gets one clear sentence (exit code 2) naming the file, row or key, and the fix."""
from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from bad_input import run_cli
from helpers import TINY_MODEL
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def small_ave(tmp_path_factory) -> Path:
    return make_ave(tmp_path_factory.mktemp("ave"), videos=30, visual_dim=8, audio_dim=4)


def _run(*options: str, cwd: Path) -> str:
    """The one error line of `tim-bench train`, called in-process (the console script's exit codes and
    stderr are tested in test_cli_habits and test_bad_inputs_*)."""
    outcome = run_cli(["train", CONFIG, "--work-dir", str(cwd / "wd"), "--cfg-options", *TINY_MODEL,
                       "train_cfg.max_epochs=1", *options])
    assert outcome.code == 2, outcome.output
    assert "Traceback" not in outcome.output
    lines = [line for line in outcome.output.splitlines() if "error:" in line]
    assert len(lines) == 1, outcome.output
    return lines[0]


def test_missing_data_root_says_how_to_make_data(tmp_path):
    line = _run(f"data_root={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert "nowhere" in line and "make-synthetic" in line


def test_missing_feature_file(small_ave, tmp_path):
    line = _run(f"data_root={small_ave}", "features.audio.file=audio_missing.h5", cwd=tmp_path)
    assert "audio_missing.h5 does not exist" in line


def test_feature_dim_disagreeing_with_config(small_ave, tmp_path):
    line = _run(f"data_root={small_ave}", "features.visual.dim=512", cwd=tmp_path)
    assert "visual_feature.h5" in line and "8-d" in line and "dim=512" in line


def test_unknown_plugin_lists_the_registered_ones(small_ave, tmp_path):
    line = _run(f"data_root={small_ave}", "model.head.type=LinearHeed", cwd=tmp_path)
    assert "LinearHeed" in line and "Did you mean 'LinearHead'" in line and "Registered head plugins" in line


def test_config_key_that_does_not_exist(small_ave, tmp_path):
    line = _run(f"data_root={small_ave}", "train_cfg.max_epoch=3", cwd=tmp_path)
    assert "train_cfg.max_epoch" in line and "max_epochs" in line


def test_label_out_of_range(tmp_path):
    root = make_ave(tmp_path / "ave", videos=30, visual_dim=8, audio_dim=4)
    lines = (root / "Annotations.txt").read_text().splitlines()
    lines[3] = lines[3].replace("&0&10", "&4&12") if "&0&10" in lines[3] else lines[3].rsplit("&", 1)[0] + "&12"
    (root / "Annotations.txt").write_text("\n".join(lines) + "\n")
    line = _run(f"data_root={root}", cwd=tmp_path)
    assert "Annotations.txt:4" in line and "not inside" in line


def test_nan_features_name_the_video(tmp_path):
    root = make_ave(tmp_path / "ave", videos=30, visual_dim=8, audio_dim=4)
    with h5py.File(root / "audio_feature.h5", "r+") as f:
        f["avadataset"][:, 2] = float("nan")
    line = _run(f"data_root={root}", cwd=tmp_path)
    assert "NaN" in line and "audio stream" in line and "rows [2]" in line
