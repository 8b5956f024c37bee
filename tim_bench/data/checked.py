"""The one way the engine reads a plugin's data: every split a dataset plugin loads and every video a feature
plugin opens passes the rules of ``data.rules`` here, so no path (run, train, test, predict, check-data, joint
datasets, fingerprints, the original layout) can skip one, whether or not the plugin checked its data itself."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tim_bench_registry import DataError, DatasetPlugin, FeatureSource, SplitAnnotations, VideoFeatures

from .rules import check_annotations, check_features

T = TypeVar("T")


def load_annotations(plugin: DatasetPlugin, split: str, name: str, training: bool = False) -> SplitAnnotations:
    """``plugin.load(split)`` checked by the rules (``training``: also labelled for every task); a message names
    the split's ``source`` when the plugin set one, else ``"{name} {split}"``."""
    call = f"{type(plugin).__name__}.load('{split}')"
    annotations = _plugin_call(lambda: plugin.load(split), f"{call} ({name})", "the dataset plugin")
    if not isinstance(annotations, SplitAnnotations):
        raise DataError(f"{name}: load('{split}') returned {type(annotations).__name__}, not a SplitAnnotations; "
                        f"fix the dataset plugin.")
    check_annotations(annotations, annotations.source or f"{name} {split}", training)
    return annotations


def open_features(source: FeatureSource, split: str, video_id: str, stream: str,
                  dim: int | None = None) -> VideoFeatures:
    """``source.open(split, video_id)`` checked by the rules (``dim``: also that width); a message names the
    features' ``source`` when the plugin set one, else the stream, video and split."""
    call = f"{type(source).__name__}.open('{split}', '{video_id}')"
    features = _plugin_call(lambda: source.open(split, video_id), f"{call} ({stream} features)", "the feature plugin")
    if not isinstance(features, VideoFeatures):
        raise DataError(f"{call} returned {type(features).__name__}, not a VideoFeatures; fix the {stream} feature "
                        f"plugin.")
    check_features(features, features.source or f"{stream} features of video {video_id} ({split})", dim)
    return features


def _plugin_call(call: Callable[[], T], what: str, plugin: str) -> T:
    """``call()``; a plugin's own exception (a bug, or an unreadable file it did not name) becomes one sentence
    saying ``what`` failed, the cause chained; a DataError, already one sentence, passes as it is."""
    try:
        return call()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{what} failed: {type(exc).__name__}: {exc}; fix {plugin} or its files.") from exc
