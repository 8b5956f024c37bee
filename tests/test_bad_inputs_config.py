"""Bad configs and --cfg-options: one clear error naming the key and what it must be, before any training.

Each case runs the real CLI in-process (tests/bad_input.py). The rules are a typed schema, so the
cases sample every kind of rule (integer ranges, numbers, fractions, booleans, dicts, unknown keys,
broken items) rather than list the few values first reported.
"""
from __future__ import annotations

import os
import time
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
    # unknown keys below the first level: nested dicts and the arguments of every plugin a config builds
    pytest.param("loss.stream_weights.video=1.0", ["loss.stream_weights.video", "accepts visual, audio"],
                 id="nested-dict-unknown-stream"),
    pytest.param("features.visual.fle=x", ["features.visual.fle", "HDF5RowFeatures", "'features.visual.file'"],
                 id="feature-plugin-argument"),
    pytest.param("dataset.annotation=x", ["dataset.annotation", "AVE", "'dataset.annotations'"],
                 id="dataset-plugin-argument"),
    pytest.param("evaluator.main_metrc=acc", ["evaluator.main_metrc", "AVEAccuracy", "'evaluator.main_metric'"],
                 id="evaluator-argument"),
    pytest.param("model.d_modl=8", ["model.d_modl", "TIM", "'model.d_model'"], id="model-argument"),
    pytest.param("model.head.dropout=0.1", ["model.head.dropout", "LinearHead"], id="head-argument"),
    pytest.param("features.video.type=NpyFeatures", ["features.video", "visual, audio"], id="unknown-stream"),
    pytest.param("features.visual.type=Npy", ["features.visual.type", "NpyFeatures"], id="unknown-plugin-name"),
    pytest.param("splits.tset=test", ["splits.tset", "'splits.test'"], id="splits-key"),
    pytest.param("train_cfg.sampler=random", ["train_cfg.sampler", "'uniform'", "'bucketed'"], id="sampler-choice"),
    pytest.param("custom_imports.import=[]", ["custom_imports.import", "'custom_imports.imports'"],
                 id="custom-imports-key"),
    # parts that are not dicts or lists of them (an IndexError or a wrong message before)
    pytest.param("dataset=[]", ["dataset=[]", "non-empty list"], id="dataset-empty-list"),
    pytest.param("evaluator=[]", ["evaluator=[]", "non-empty list"], id="evaluator-empty-list"),
    pytest.param("features.visual=abc", ["features.visual='abc'", "dict naming a feature plugin", "NpyFeatures"],
                 id="feature-not-a-dict"),
    pytest.param("writers=x", ["writers='x'", "list of dicts"], id="writers-not-a-list"),
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
    pytest.param("nested.py", "_base_ = ['{base}/ave_vgg.py']\nloss = dict(stream_weights=dict(video=1.0))\n",
                 ["nested.py", "loss.stream_weights.video", "visual"], id="nested-typo-in-file"),
    pytest.param("plugin.py", "_base_ = ['{base}/ave_vgg.py']\nfeatures = dict(audio=dict(dimm=4))\n",
                 ["plugin.py", "features.audio.dimm", "'features.audio.dim'"], id="plugin-argument-in-file"),
    pytest.param("self.py", "_base_ = ['self.py']\n", ["_base_ cycle", "self.py -> ", "self.py"],
                 id="base-inherits-itself"),
]


@pytest.mark.parametrize("name, text, names", CONFIG_FILES)
def test_bad_config_file_is_one_clear_error(ave, tmp_path, name, text, names):
    path = tmp_path / name
    path.write_text(text.format(base=REPO / "configs"))
    outcome = run_cli(["train", str(path), "--work-dir", str(tmp_path / "wd"), "--cfg-options", f"data_root={ave}"])
    assert_clear_error(outcome, *names, code=2)


def test_base_cycle_is_refused_at_once_naming_the_files(tmp_path):
    (tmp_path / "a.py").write_text(f"_base_ = ['{REPO / 'configs' / 'ave_vgg.py'}', 'b.py']\n")
    (tmp_path / "b.py").write_text("_base_ = ['c.py']\n")
    (tmp_path / "c.py").write_text("_base_ = ['b.py']\n")
    t0 = time.perf_counter()
    outcome = run_cli(["check-data", str(tmp_path / "a.py")])
    assert_clear_error(outcome, "_base_ cycle", "b.py -> ", "c.py -> ", code=2)
    assert time.perf_counter() - t0 < 10  # mmengine's own recursion took ~20 s to fail


def test_epic_writer_argument_typo_is_refused(ave, tmp_path):
    outcome = _train(ave, tmp_path / "wd", "writers.0.timestamp=x.csv", config=str(REPO / "configs" / "epic_av.py"))
    assert_clear_error(outcome, "writers.0.timestamp", "EPIC100ActionSubmission", "'writers.0.timestamps'", code=2)


def test_resolved_config_fills_defaults_once(tmp_path):
    """The schema's defaults are written into the one resolved config: a key left out and the same key set to
    its default are the same run (hash), and the trainer and the record read the value, not a fallback."""
    from tim_bench.config import config_hash, load_config
    left_out = load_config(CONFIG, {"data_root": "x"})
    written = load_config(CONFIG, {"data_root": "x", "loss.drop_partial_labels": True, "train_cfg.compile": "auto"})
    assert left_out.loss.drop_partial_labels is True and left_out.train_cfg.compile == "auto"
    assert config_hash(left_out) == config_hash(written)


def test_too_many_window_features_are_refused_with_the_estimate(ave, tmp_path):
    """windows.num_feats=10**6 would allocate far more than the machine has (OOM-killed before): the estimate by
    part and the budget are named before any window or batch is built."""
    outcome = _train(ave, tmp_path / "wd", "windows.num_feats=1000000")
    assert_clear_error(outcome, "windows.num_feats=1000000", "GiB", "available", "model activations", code=2)
    assert not (tmp_path / "wd" / "last.pth").exists()


@pytest.mark.parametrize("inside", [False, True], ids=["equal", "inside"])
def test_work_dir_in_data_root_is_refused(ave, tmp_path, inside):
    wd = ave / "runs" if inside else ave
    before = sorted(p.name for p in ave.iterdir())
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", f"data_root={ave}", *TINY_MODEL])
    assert_clear_error(outcome, f"--work-dir {wd}", "data_root", str(ave), code=2)
    assert sorted(p.name for p in ave.iterdir()) == before  # nothing written into the dataset


# (command line after `tim-bench`, names the message must contain): every command's numeric options are finite and
# in range (a NaN tolerance disabled a check and printed OK before)
CLI_NUMBERS = [
    pytest.param(["check-data", CONFIG, "--time-tolerance", "nan"], ["--time-tolerance", "'nan'", "number >= 0"],
                 id="check-data-nan"),
    pytest.param(["check-data", CONFIG, "--time-tolerance", "-1"], ["--time-tolerance", "number >= 0"],
                 id="check-data-negative"),
    pytest.param(["compare", "a", "b", "--confidence", "1.5"], ["--confidence", "(0, 1)"], id="compare-confidence"),
    pytest.param(["compare", "a", "b", "--reps", "0"], ["--reps", "integer >= 1"], id="compare-reps"),
    pytest.param(["check-parity", "x.pt", "--atol", "inf"], ["--atol", "'inf'"], id="parity-atol-inf"),
    pytest.param(["run", CONFIG, "--seed", "-2"], ["--seed", "integer >= 0"], id="run-seed-negative"),
    pytest.param(["suite", CONFIG, "--tolerance", "-0.5"], ["--tolerance", ">= 0"], id="suite-tolerance"),
    pytest.param(["suite", CONFIG, "--seeds", "0", "x"], ["--seeds", "'x'", "integer"], id="suite-seed-text"),
]


@pytest.mark.parametrize("argv, names", CLI_NUMBERS)
def test_numeric_cli_options_are_range_checked(argv, names):
    assert_clear_error(run_cli(argv), *names, code=2)


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


def test_training_without_a_train_split_is_refused_before_a_work_dir_exists(ave, tmp_path):
    outcome = _train(ave, tmp_path / "wd", "splits.train=None")
    assert_clear_error(outcome, "splits.train", "training needs one", code=2)
    assert not (tmp_path / "wd").exists()



@pytest.mark.slow
def test_testing_with_no_split_to_score_names_the_key(ave, tmp_path):
    assert _train(ave, tmp_path / "run").code == 0
    outcome = run_cli(["test", CONFIG, str(tmp_path / "run" / "best.pth"), "--work-dir", str(tmp_path / "wd"),
                       "--cfg-options", f"data_root={ave}", *TINY_MODEL, "splits.val=None", "splits.test=None"])
    assert_clear_error(outcome, "splits.test", "this command needs", "'train', 'val', 'test'", code=2)
