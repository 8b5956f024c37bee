"""Perception Test action and sound recognition as one plugin: dataset reader, metric, leaderboard table,
reference rows, synthetic generator and the original TIM's ``--dataset perception``. Imports
``tim_bench_registry`` only."""
from . import dataset, generator, leaderboard, metrics, original, zoo  # noqa: F401  (each registers its parts)
