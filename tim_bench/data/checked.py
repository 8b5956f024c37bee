"""The one way the engine reads a plugin's data: every split a dataset plugin loads and every video a feature
plugin opens passes the rules of ``data.rules`` here, so no path (run, train, test, predict, check-data, joint
datasets, fingerprints, the original layout) can skip one, whether or not the plugin checked its data itself."""
from __future__ import annotations

from tim_bench_registry import DataError, DatasetPlugin, FeatureSource, SplitAnnotations, VideoFeatures

from .rules import check_annotations, check_features


def load_annotations(plugin: DatasetPlugin, split: str, name: str, training: bool = False) -> SplitAnnotations:
    """``plugin.load(split)`` checked by the rules (``training``: also labelled for every task); a message names
    the split's ``source`` when the plugin set one, else ``"{name} {split}"``."""
    try:
        annotations = plugin.load(split)
    except DataError:
        raise
    except Exception as exc:  # a plugin bug or an unreadable file it did not name: one sentence, the cause chained
        raise DataError(f"{type(plugin).__name__}.load('{split}') ({name}) failed: {type(exc).__name__}: {exc}; fix "
                        f"the dataset plugin or its files.") from exc
    if not isinstance(annotations, SplitAnnotations):
        raise DataError(f"{name}: load('{split}') returned {type(annotations).__name__}, not a SplitAnnotations; "
                        f"fix the dataset plugin.")
    check_annotations(annotations, annotations.source or f"{name} {split}", training)
    return annotations


def open_features(source: FeatureSource, split: str, video_id: str, stream: str,
                  dim: int | None = None) -> VideoFeatures:
    """``source.open(split, video_id)`` checked by the rules (``dim``: also that width); a message names the
    features' ``source`` when the plugin set one, else the stream, video and split."""
    try:
        features = source.open(split, video_id)
    except DataError:
        raise
    except Exception as exc:  # a plugin bug or an unreadable file it did not name: one sentence, the cause chained
        raise DataError(f"{type(source).__name__}.open('{split}', '{video_id}') ({stream} features) failed: "
                        f"{type(exc).__name__}: {exc}; fix the feature plugin or its files.") from exc
    if not isinstance(features, VideoFeatures):
        raise DataError(f"{type(source).__name__}.open('{split}', '{video_id}') returned {type(features).__name__}, "
                        f"not a VideoFeatures; fix the {stream} feature plugin.")
    check_features(features, features.source or f"{stream} features of video {video_id} ({split})", dim)
    return features
