"""AVE (Audio-Visual Event localisation) as one plugin: dataset reader, metric, leaderboard table, reference
rows, synthetic generator and the original TIM's ``--dataset ave``. Imports ``tim_bench_registry`` only."""
from pathlib import Path

from tim_bench_registry import hookimpl

from . import dataset, generator, leaderboard, metrics, original, zoo  # noqa: F401  (each registers its parts)

#: this benchmark's recipes, shipped as package data
CONFIGS = Path(__file__).parent / "configs"


@hookimpl
def tim_bench_config_dirs() -> list[str]:
    """The AVE recipes (configs/) and extraction recipes (configs/extract/), found by name."""
    return [str(CONFIGS), str(CONFIGS / "extract")]
