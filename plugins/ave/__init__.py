"""AVE (Audio-Visual Event localisation) as one plugin: dataset reader, metric, leaderboard table, reference
rows, synthetic generator and the original TIM's ``--dataset ave``. Imports ``tim_bench_registry`` only."""
from . import dataset, generator, leaderboard, metrics, original  # noqa: F401  (each registers its parts on import)
