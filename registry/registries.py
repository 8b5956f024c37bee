"""The registries every tim-bench part is registered in, one per kind of part, declared here and nowhere else.

Classes live in mmengine ``Registry`` objects with the explicit scope ``tim_bench``, so that a lookup never depends
on the caller's stack (mmengine's most reported failure); named objects live in ``Catalog`` objects."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mmengine.registry import Registry as _MMRegistry

from .catalog import Catalog
from .conformance import check_class
from .contracts import DatasetPlugin, FeatureSource
from .protocols import Challenge, FeatureExtractor, Metric, SubmissionWriter, SyntheticGenerator

if TYPE_CHECKING:  # entry types only: these modules import the registries themselves
    from torch import nn

    from .leaderboard import LeaderboardFormat, LeaderboardSpec, Reference
    from .original import OriginalDataset
    from .zoo import Weights

_SCOPE = "tim_bench"
T = TypeVar("T")


class Registry(_MMRegistry, Generic[T]):
    """An mmengine ``Registry`` of classes building ``T``, each checked against ``protocol`` as it registers
    (``conformance``); ``lookup`` gives ``type[T]`` and ``build`` a ``T``, so a type checker follows both."""

    def __init__(self, name: str, protocol: type | None = None, scope: str = _SCOPE) -> None:
        super().__init__(name, scope=scope)
        self.protocol = protocol

    def _register_module(self, module: type, module_name: str | list[str] | None = None,
                         force: bool = False) -> None:
        check_class(module, self.protocol, self.name)
        super()._register_module(module, module_name, force)

    def remove(self, name: str) -> None:
        """Forget the entry ``name`` (a plugin that failed to load takes back what it registered)."""
        self._module_dict.pop(name, None)


#: either kind of registry, of any entry type: classes (``Registry``) or named objects (``Catalog``)
AnyRegistry = Registry[Any] | Catalog[Any]

DATASETS: Registry[DatasetPlugin] = Registry("dataset", DatasetPlugin)
FEATURES: Registry[FeatureSource] = Registry("feature", FeatureSource)
EXTRACTORS: Registry[FeatureExtractor] = Registry("extractor", FeatureExtractor)
HEADS: Registry[nn.Module] = Registry("head")  # built as cls(in_dim=..., num_classes=..., **cfg)
MODELS: Registry[nn.Module] = Registry("model")
METRICS: Registry[Metric] = Registry("metric", Metric)
WRITERS: Registry[SubmissionWriter] = Registry("writer", SubmissionWriter)
GENERATORS: Registry[SyntheticGenerator] = Registry("generator", SyntheticGenerator)
#: dataset name -> LeaderboardSpec: which metrics its leaderboard table shows
LEADERBOARDS: Catalog[LeaderboardSpec] = Catalog("leaderboard")
#: format name -> LeaderboardFormat: a renderer and its default output file
FORMATS: Catalog[LeaderboardFormat] = Catalog("format")
#: reference id -> Reference: a published row shown beside measured runs
REFERENCES: Catalog[Reference] = Catalog("reference")
#: `--challenge` name -> Challenge: a submission file format that `submit` writes and `evaluate` scores
CHALLENGES: Catalog[Challenge] = Catalog("challenge", Challenge)
#: the original TIM's `--dataset` name -> OriginalDataset: what from-tim-args and --layout original need of it
ORIGINAL_DATASETS: Catalog[OriginalDataset] = Catalog("original dataset")
#: zoo name -> Weights: a released TIM checkpoint or extractor backbone (`tim-bench zoo`, `tim-bench download`)
WEIGHTS: Catalog[Weights] = Catalog("weights")

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
