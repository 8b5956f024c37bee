"""AVE (Audio-Visual Event localisation) as one plugin: dataset reader, metric, leaderboard table, reference
rows, synthetic generator and the original TIM's ``--dataset ave``. Imports ``tim_bench_registry`` only.
Its recipes (configs/, configs/extract/) are package data, declared as ``tim_bench.configs`` entry points."""
from . import dataset, generator, leaderboard, metrics, original, zoo  # noqa: F401  (each registers its parts)
