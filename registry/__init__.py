"""tim-bench's plugin contract: registries, hookspecs, public types, Protocols and errors.

Everything a plugin needs is importable from here (or a submodule: ``tables``, ``paths``, ``files``,
``scores``, ``checkpoints``, ``synthetic``, ``options``, ``leaderboard``, ``original``, ``zoo``). Installed as
``tim_bench_registry``; it imports nothing from the engine or the plugins. docs/writing-plugins.md section 7 says
which names are stable and which provisional; a retired name keeps working, with a ``DeprecationWarning``, until
the next major ``CONTRACT_VERSION`` (``retired``).
"""
from typing import TYPE_CHECKING

from .building import build, lookup, register_rename
from .catalog import Catalog
from .checkpoints import UntrustedCheckpointError, check_checkpoint_file, load_checkpoint
from .conformance import PluginContractError
from .contracts import (IGNORE_LABEL, STREAMS, DatasetPlugin, FeatureSource, SplitAnnotations, Task,
                        VideoFeatures)
from .errors import DataError, LeaderboardError, TimBenchError, UnknownPluginError
from .hookspecs import hookimpl, hookspec
from .leaderboard import Chance, LeaderboardFormat, LeaderboardSpec, Reference
from .references import register_reference_files
from .plugin_manager import import_custom, origin_of, plugin_manager
from .predictions import Predictions, TaskPredictions, rows_in_order
from .protocols import (Challenge, ChallengeScorer, FeatureExtractor, Metric, StreamBest, SubmissionWriter,
                        SyntheticGenerator)
from .run_record import RUN_RECORD_SCHEMA, RunRecord
from .retired import retired_name
from .registries import (CHALLENGES, DATASETS, EXTRACTORS, FEATURES, FORMATS, GENERATORS, HEADS, LEADERBOARDS,
                         METRICS, MODELS, ORIGINAL_DATASETS, REFERENCES, REGISTRIES, WEIGHTS, WRITERS)
from .version import CONTRACT_VERSION
from .zoo import Weights

__all__ = [
    "CHALLENGES", "DATASETS", "EXTRACTORS", "FEATURES", "FORMATS", "GENERATORS", "HEADS", "LEADERBOARDS", "METRICS",
    "MODELS", "ORIGINAL_DATASETS", "REFERENCES", "REGISTRIES", "WEIGHTS", "WRITERS", "IGNORE_LABEL", "STREAMS",
    "Catalog", "Challenge", "Chance", "ChallengeScorer", "DataError", "DatasetPlugin", "LeaderboardSpec",
    "FeatureExtractor", "FeatureSource", "LeaderboardError", "LeaderboardFormat", "Metric", "Predictions",
    "Reference",
    "SplitAnnotations", "StreamBest", "SubmissionWriter", "SyntheticGenerator", "Task", "TaskPredictions",
    "TimBenchError", "UnknownPluginError", "VideoFeatures", "Weights", "build", "hookimpl", "hookspec",
    "import_custom", "lookup", "origin_of", "plugin_manager", "register_reference_files", "register_rename",
    "rows_in_order", "RunRecord", "RUN_RECORD_SCHEMA", "CONTRACT_VERSION", "PluginContractError",
]
__all__ += ["UntrustedCheckpointError", "check_checkpoint_file", "load_checkpoint"]  # the checkpoint trust gate

if TYPE_CHECKING:  # retired names (retired.py), for type checkers; at run time ``__getattr__`` warns and answers
    from .leaderboard import DatasetSpec


def __getattr__(name: str) -> object:
    return retired_name(globals(), name)
