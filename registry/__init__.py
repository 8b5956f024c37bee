"""tim-bench's plugin contract: registries, hookspecs, data contracts and errors.

Installed as ``tim_bench_registry``; it imports nothing from the engine or the plugins.
"""
from .contracts import (IGNORE_LABEL, STREAMS, DatasetPlugin, FeatureSource, SplitAnnotations, Task,
                        VideoFeatures)
from .errors import DataError, TimBenchError, UnknownPluginError
from .hookspecs import hookimpl, hookspec
from .plugin_manager import import_custom, origin_of, plugin_manager
from .registries import (DATASETS, FEATURES, HEADS, METRICS, MODELS, REGISTRIES, WRITERS, build, lookup,
                         register_rename)

__all__ = [
    "DATASETS", "FEATURES", "HEADS", "METRICS", "MODELS", "REGISTRIES", "WRITERS", "IGNORE_LABEL", "STREAMS",
    "DataError", "DatasetPlugin", "FeatureSource", "SplitAnnotations", "Task", "TimBenchError",
    "UnknownPluginError", "VideoFeatures", "build", "hookimpl", "hookspec", "import_custom", "lookup",
    "origin_of", "plugin_manager", "register_rename",
]
