"""EPIC-KITCHENS-100 + EPIC-Sounds as one plugin: both dataset readers, the official metrics, the challenge
formats and submission writers, leaderboard tables, reference rows, the synthetic generator and the original
TIM's ``--dataset epic``. Imports ``tim_bench_registry`` only.
Its recipes (configs/, configs/extract/) are package data, declared as ``tim_bench.configs`` entry points."""
from . import (challenges, epic_kitchens, epic_sounds, generator, leaderboard, metrics, original,  # noqa: F401
               writers, zoo)
