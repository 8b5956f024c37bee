"""Perception Test action and sound recognition as one plugin: dataset reader, metric, leaderboard table,
reference rows and synthetic generator. Imports ``tim_bench_registry`` only."""
from . import dataset, generator, leaderboard, metrics  # noqa: F401  (each registers its parts on import)
