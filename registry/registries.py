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

from mmengine.registry import Registry as _MMRegistry

from .catalog import Catalog
from .conformance import check_class
from .contracts import DatasetPlugin, FeatureSource
from .protocols import Challenge, FeatureExtractor, Metric, SubmissionWriter, SyntheticGenerator

SCOPE = "tim_bench"


class Registry(_MMRegistry):
    """An mmengine ``Registry`` that checks each class against ``protocol`` as it registers (``conformance``)."""

    def __init__(self, name: str, protocol: type | None = None, scope: str = SCOPE) -> None:
        super().__init__(name, scope=scope)
        self.protocol = protocol

    def _register_module(self, module: type, module_name: str | list[str] | None = None,
                         force: bool = False) -> None:
        check_class(module, self.protocol, self.name)
        super()._register_module(module, module_name, force)

    def remove(self, name: str) -> None:
        """Forget the entry ``name`` (a plugin that failed to load takes back what it registered)."""
        self._module_dict.pop(name, None)


#: either kind of registry: classes (``Registry``) or named objects (``Catalog``)
AnyRegistry = Registry | Catalog

DATASETS = Registry("dataset", DatasetPlugin)
FEATURES = Registry("feature", FeatureSource)
EXTRACTORS = Registry("extractor", FeatureExtractor)
HEADS = Registry("head")  # torch nn.Module classes: cls(in_dim=..., num_classes=..., **cfg)
MODELS = Registry("model")
METRICS = Registry("metric", Metric)
WRITERS = Registry("writer", SubmissionWriter)
GENERATORS = Registry("generator", SyntheticGenerator)
#: dataset name -> DatasetSpec: which metrics its leaderboard table shows
LEADERBOARDS = Catalog("leaderboard")
#: format name -> LeaderboardFormat: a renderer and its default output file
FORMATS = Catalog("format")
#: reference id -> Reference: a published row shown beside measured runs
REFERENCES = Catalog("reference")
#: `--challenge` name -> Challenge: a submission file format that `submit` writes and `evaluate` scores
CHALLENGES = Catalog("challenge", Challenge)
#: the original TIM's `--dataset` name -> OriginalDataset: what from-tim-args and --layout original need of it
ORIGINAL_DATASETS = Catalog("original dataset")
#: zoo name -> Weights: a released TIM checkpoint or extractor backbone (`tim-bench zoo`, `tim-bench download`)
WEIGHTS = Catalog("weights")

#: Every registry by its plural name, in the order `tim-bench plugins` prints them.
REGISTRIES: Mapping[str, AnyRegistry] = {
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
