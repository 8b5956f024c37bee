"""Bad configs and --cfg-options: one clear error naming the key and what it must be, before any training.

Each case runs the real CLI in-process (tests/bad_input.py). The rules are a typed schema, so the
cases sample every kind of rule (integer ranges, numbers, fractions, booleans, dicts, unknown keys,
broken items) rather than list the few values first reported.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bad_input import assert_clear_error, assert_warned, run_cli
from helpers import TINY_MODEL
from tim_bench_plugins.ave.synthetic import make_ave

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> Path:
    return make_ave(tmp_path_factory.mktemp("ave"), videos=30, visual_dim=8, audio_dim=4)


def _train(ave: Path, wd: Path, *options: str, config: str = CONFIG):
    return run_cli(["train", config, "--work-dir", str(wd), "--cfg-options", f"data_root={ave}", *TINY_MODEL,
                    "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0", *options])


# (option, names the message must contain)
CFG_OPTIONS = [
    pytest.param("train_cfg.batch_size=0", ["train_cfg.batch_size", "integer >= 1"], id="batch-size-zero"),
    pytest.param("train_cfg.lr=abc", ["train_cfg.lr", "'abc'", "number >= 0"], id="lr-not-a-number"),
    pytest.param("train_cfg.max_epochs=1.5", ["train_cfg.max_epochs", "integer"], id="max-epochs-fractional"),
    pytest.param("train_cfg.lr=-1", ["train_cfg.lr", ">= 0"], id="lr-negative"),
    pytest.param("train_cfg.max_epochs=0", ["train_cfg.max_epochs", "nothing is trained"], id="max-epochs-zero"),
    pytest.param("train_cfg.max_epochs=-3", ["train_cfg.max_epochs", "integer >= 1"], id="max-epochs-negative"),
    pytest.param("train_cfg.batch_size=True", ["train_cfg.batch_size", "integer"], id="batch-size-bool"),
    pytest.param("train_cfg.lr=nan", ["train_cfg.lr", "number"], id="lr-nan"),
    pytest.param("train_cfg.weight_decay=[1,2]", ["train_cfg.weight_decay", "number"], id="weight-decay-list"),
    pytest.param("model.pool_features=1", ["model.pool_features", "True or False"], id="bool-not-int"),
    pytest.param("train_cfg.amp=1", ["train_cfg.amp", "one of True, False, 'bf16'"], id="amp-int"),
    pytest.param("train_cfg.amp=fp16", ["train_cfg.amp", "one of True, False, 'bf16'"], id="amp-unknown"),
    pytest.param("train_cfg.early_stop_patience=0", ["train_cfg.early_stop_patience", "or None"],
                 id="patience-zero"),
    pytest.param("train_cfg.num_workers=-1", ["train_cfg.num_workers", ">= 0"], id="workers-negative"),
    pytest.param("train_cfg.grad_clip=0", ["train_cfg.grad_clip", "> 0"], id="grad-clip-zero"),
    pytest.param("train_cfg.val_interval=0.5", ["train_cfg.val_interval", "integer"], id="val-interval-fraction"),
    pytest.param("test_cfg.batch_size=-4", ["test_cfg.batch_size", "integer >= 1"], id="test-batch-negative"),
    pytest.param("windows.num_feats=0", ["windows.num_feats", "integer >= 1"], id="num-feats-zero"),
    pytest.param("windows.feat_gap=0", ["windows.feat_gap", "> 0"], id="feat-gap-zero"),
    pytest.param("windows.feat_stride=2.5", ["windows.feat_stride", "integer"], id="feat-stride-fraction"),
    pytest.param("loss.label_smoothing=1.5", ["loss.label_smoothing", "[0, 1)"], id="smoothing-above-one"),
    pytest.param("loss.mixup_alpha=-0.1", ["loss.mixup_alpha", ">= 0"], id="mixup-negative"),
    pytest.param("loss.stream_weights.audio=x", ["loss.stream_weights.audio", "number"], id="stream-weight-text"),
    pytest.param("model.d_model=0", ["model.d_model", "integer >= 1"], id="d-model-zero"),
    pytest.param("model.nhead=two", ["model.nhead", "integer"], id="nhead-text"),
    pytest.param("model.enc_dropout=1.0", ["model.enc_dropout", "[0, 1)"], id="dropout-one"),
    pytest.param("model.pool_features=maybe", ["model.pool_features", "True or False"], id="pool-not-bool"),
    pytest.param("model.head=None", ["model.head", "dict"], id="head-none"),
    pytest.param("seed=-1", ["seed", "integer >= 0"], id="seed-negative"),
    pytest.param("train_cfg=5", ["train_cfg", "must be a dict"], id="section-not-dict"),
    pytest.param("seed.x=1", ["seed.x", "dotted key"], id="dotted-key-through-int"),
    pytest.param("train_cfg.max_epoch=3", ["train_cfg.max_epoch", "max_epochs"], id="unknown-section-key"),
    pytest.param("trian_cfg.lr=0.1", ["trian_cfg", "known keys"], id="unknown-top-level-key"),
    pytest.param("train_cfg.lr", ["train_cfg.lr", "KEY=VALUE"], id="item-without-equals"),
    pytest.param("=5", ["'=5'", "KEY=VALUE"], id="item-without-key"),
]


@pytest.mark.parametrize("option, names", CFG_OPTIONS)
def test_bad_cfg_option_is_one_clear_error(ave, tmp_path, option, names):
    outcome = _train(ave, tmp_path / "wd", option)
    assert_clear_error(outcome, *names, code=2)
    assert not (tmp_path / "wd" / "last.pth").exists()  # refused before training


# (config file name, its text, names the message must contain); {base} is the shipped configs folder
CONFIG_FILES = [
    pytest.param("broken.py", "_base_ = ['{base}/ave_vgg.py']\ntrain_cfg = dict(lr=\n", ["broken.py"],
                 id="syntax-error"),
    pytest.param("typed.py", "_base_ = ['{base}/ave_vgg.py']\ntrain_cfg = dict(lr='1e-3')\n",
                 ["typed.py", "train_cfg.lr", "number"], id="string-lr-in-file"),
    pytest.param("unknown.py", "_base_ = ['{base}/ave_vgg.py']\nmodle = dict(d_model=8)\n",
                 ["unknown.py", "modle", "model"], id="unknown-key-in-file"),
    pytest.param("bare.py", "seed = 0\n", ["bare.py", "does not define"], id="missing-required-keys"),
    pytest.param("().py", "_base_ = ['{base}/ave_vgg.py']\n", ["()", "rename the file"], id="name-without-letters"),
    pytest.param("epochs.py", "_base_ = ['{base}/ave_vgg.py']\ntrain_cfg = dict(max_epochs=0)\n",
                 ["epochs.py", "train_cfg.max_epochs", "nothing is trained"], id="max-epochs-zero-in-file"),
]


@pytest.mark.parametrize("name, text, names", CONFIG_FILES)
def test_bad_config_file_is_one_clear_error(ave, tmp_path, name, text, names):
    path = tmp_path / name
    path.write_text(text.format(base=REPO / "configs"))
    outcome = run_cli(["train", str(path), "--work-dir", str(tmp_path / "wd"), "--cfg-options", f"data_root={ave}"])
    assert_clear_error(outcome, *names, code=2)


def test_missing_config_file_is_named(tmp_path):
    assert_clear_error(run_cli(["train", str(tmp_path / "nope.py")]), "nope.py", code=2)


@pytest.mark.slow
def test_warmup_longer_than_training_warns(ave, tmp_path):
    outcome = _train(ave, tmp_path / "wd", "train_cfg.warmup_epochs=3")
    assert_warned(outcome, "train_cfg.warmup_epochs=3", "max_epochs=1", "warm-up")


@pytest.mark.slow
def test_more_workers_than_cpus_are_clamped_with_a_warning(ave, tmp_path):
    cpus = len(os.sched_getaffinity(0))
    outcome = _train(ave, tmp_path / "wd", f"train_cfg.num_workers={cpus + 50}")
    assert_warned(outcome, f"num_workers={cpus + 50}", f"using {cpus}")
    assert f"num_workers={cpus}" in (tmp_path / "wd" / "config.py").read_text().replace(" ", "")


@pytest.mark.slow
def test_config_name_that_cannot_be_a_run_id_is_sanitised(ave, tmp_path, monkeypatch):
    cfg = tmp_path / "ave_vgg (1).py"
    cfg.write_text(f"_base_ = ['{REPO / 'configs' / 'ave_vgg.py'}']\n")
    monkeypatch.chdir(tmp_path)
    outcome = run_cli(["train", str(cfg), "--cfg-options", f"data_root={ave}", *TINY_MODEL,
                       "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0"])
    assert_warned(outcome, "ave_vgg (1)", "'ave_vgg_1'")
    runs = [p for p in (tmp_path / "work_dirs" / "ave_vgg_1").iterdir() if p.name != "window_cache"]
    assert len(runs) == 1 and (runs[0] / "best.pth").is_file()
