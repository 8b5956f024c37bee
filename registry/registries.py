"""The registries every tim-bench part is registered in: one per kind of part, declared here and nowhere else.

Classes (datasets, feature readers, extractors, heads, models, metrics, submission writers, synthetic
generators) live in mmengine ``Registry`` objects with the explicit scope ``tim_bench`` so that lookups
never depend on the caller's stack (mmengine's most reported failure). Named data (leaderboard specs,
leaderboard formats, published reference rows, challenge formats, the original TIM's datasets) live in
``Catalog`` objects.

>>> from tim_bench_registry import HEADS
>>> sorted(HEADS.module_dict)  # doctest: +SKIP
['LinearHead']
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmengine.registry import Registry

from .catalog import Catalog

SCOPE = "tim_bench"

DATASETS = Registry("dataset", scope=SCOPE)
FEATURES = Registry("feature", scope=SCOPE)
EXTRACTORS = Registry("extractor", scope=SCOPE)
HEADS = Registry("head", scope=SCOPE)
MODELS = Registry("model", scope=SCOPE)
METRICS = Registry("metric", scope=SCOPE)
WRITERS = Registry("writer", scope=SCOPE)
GENERATORS = Registry("generator", scope=SCOPE)
#: dataset name -> DatasetSpec: which metrics its leaderboard table shows
LEADERBOARDS = Catalog("leaderboard")
#: format name -> LeaderboardFormat: a renderer and its default output file
FORMATS = Catalog("format")
#: reference id -> Reference: a published row shown beside measured runs
REFERENCES = Catalog("reference")
#: `--challenge` name -> Challenge: a submission file format that `submit` writes and `evaluate` scores
CHALLENGES = Catalog("challenge")
#: the original TIM's `--dataset` name -> OriginalDataset: what from-tim-args and --layout original need of it
ORIGINAL_DATASETS = Catalog("original dataset")
#: zoo name -> Weights: a released TIM checkpoint or extractor backbone (`tim-bench zoo`, `tim-bench download`)
WEIGHTS = Catalog("weights")

#: Every registry by its plural name, in the order `tim-bench plugins` prints them.
REGISTRIES: Mapping[str, Any] = {
    "datasets": DATASETS,
    "features": FEATURES,
    "extractors": EXTRACTORS,
    "heads": HEADS,
    "models": MODELS,
    "metrics": METRICS,
    "writers": WRITERS,
    "challenges": CHALLENGES,
    "generators": GENERATORS,
    "leaderboards": LEADERBOARDS,
    "formats": FORMATS,
    "references": REFERENCES,
    "original_datasets": ORIGINAL_DATASETS,
    "weights": WEIGHTS,
}
