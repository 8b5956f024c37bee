"""EPIC-KITCHENS-100 + EPIC-Sounds as one plugin: both dataset readers, the official metrics, the challenge
formats and submission writers, leaderboard tables, reference rows, the synthetic generator and the original
TIM's ``--dataset epic``. Imports ``tim_bench_registry`` only."""
from pathlib import Path

from tim_bench_registry import hookimpl

from . import (challenges, epic_kitchens, epic_sounds, generator, leaderboard, metrics, original,  # noqa: F401
               writers, zoo)

#: this benchmark's recipes, shipped as package data
CONFIGS = Path(__file__).parent / "configs"


@hookimpl
def tim_bench_config_dirs() -> list[str]:
    """The EPIC-100 and EPIC-Sounds recipes (configs/) and extraction recipes (configs/extract/), found by name."""
    return [str(CONFIGS), str(CONFIGS / "extract")]
