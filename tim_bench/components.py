"""The engine's own registered parts (the TIM model, the built-in leaderboard formats), loaded as the 'core' plugin.

Everything specific to a benchmark (its datasets, metrics, writers, tables, reference rows,
generators) is registered by that benchmark's plugin, never here.
"""
from .leaderboard import builtin_formats  # noqa: F401  (registers FORMATS entries)
from .model import tim  # noqa: F401  (registers MODELS entries)
