"""The config hash names what a run computes: speed-only keys leave it alone, anything else changes it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tim_bench.config import config_hash, load_config, recipe_hash

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py"


def digest(**overrides) -> tuple[str, str]:
    cfg = load_config(CONFIG, {"data_root": "data/ave", **overrides})
    return config_hash(cfg), recipe_hash(cfg, "data-fingerprint")


@pytest.mark.parametrize("key, value", [("train_cfg.num_workers", 3), ("train_cfg.log_interval", 7),
                                        ("train_cfg.checkpoint_interval", 5), ("train_cfg.feature_store", "host")])
def test_speed_only_keys_keep_the_hash(key: str, value) -> None:
    assert digest(**{key: value}) == digest()


@pytest.mark.parametrize("key, value", [("train_cfg.lr", 1e-3), ("train_cfg.sampler", "bucketed"),
                                        ("train_cfg.feature_dtype", "bfloat16"), ("model.d_model", 64),
                                        ("loss.drop_partial_labels", False), ("train_cfg.amp", "bf16")])
def test_result_changing_keys_change_the_hash(key: str, value) -> None:
    changed, base = digest(**{key: value}), digest()
    assert changed[0] != base[0] and changed[1] != base[1]


def test_the_seed_changes_the_config_hash_but_not_the_recipe() -> None:
    (seeded, seeded_recipe), (base, base_recipe) = digest(seed=3), digest()
    assert seeded != base and seeded_recipe == base_recipe
