"""Which metrics each dataset's leaderboard shows, in the official order: the one place to extend.

A dataset plugin that adds a benchmark registers its own spec::

    >>> from tim_bench.leaderboard.headline import DatasetSpec, register_headline
    >>> register_headline(DatasetSpec("MyData", "My dataset", ("top1", "top5"), {"top1": "top-1"}))

Higher is better for every metric; all are percentages except EPIC-Sounds mAUC, a fraction in [0, 1]
(as the official evaluator reports it), so a tolerance in points is meaningless for it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetSpec:
    """How one dataset (a dataset plugin type name, as in a run record) appears in leaderboards.

    ``references`` names the datasets whose published reference rows apply to this one's table
    (by default the dataset itself); a joint dataset lists the benchmarks it covers.
    """

    name: str
    title: str
    metrics: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()

    @property
    def reference_datasets(self) -> tuple[str, ...]:
        """Datasets whose reference rows are shown in (and give deltas to) this table."""
        return self.references or (self.name,)

    def label(self, metric: str) -> str:
        """Short column heading of ``metric`` (the metric name itself when none is registered)."""
        return self.labels.get(metric, metric)


_EPIC100_METRICS = tuple(f"all_{t}_accuracy_at_{k}" for k in (1, 5) for t in ("verb", "noun", "action")) + tuple(
    f"{split}_{t}_accuracy_at_1" for split in ("tail", "unseen") for t in ("verb", "noun", "action")) + (
    "tim_action_head_top1",)
_EPIC100_LABELS = {
    **{f"all_{t}_accuracy_at_{k}": f"{t}@{k}" for k in (1, 5) for t in ("verb", "noun", "action")},
    **{f"{s}_{t}_accuracy_at_1": f"{s} {t}@1" for s in ("tail", "unseen") for t in ("verb", "noun", "action")},
    "tim_action_head_top1": "TIM action head@1",
}
_SOUNDS_METRICS = ("all_interaction_accuracy_at_1", "all_interaction_accuracy_at_5", "all_interaction_mCA",
                   "all_interaction_mAP", "all_interaction_mAUC")
_SOUNDS_LABELS = {"all_interaction_accuracy_at_1": "sound@1", "all_interaction_accuracy_at_5": "sound@5",
                  "all_interaction_mCA": "sound mCA", "all_interaction_mAP": "sound mAP",
                  "all_interaction_mAUC": "sound mAUC"}

HEADLINES: dict[str, DatasetSpec] = {}


def register_headline(spec: DatasetSpec) -> None:
    """Add or replace the leaderboard spec of ``spec.name``."""
    HEADLINES[spec.name] = spec


def headline_for(dataset: str, present: Iterable[str] = (), main_metric: str | None = None) -> DatasetSpec:
    """The registered spec of ``dataset``; an unregistered one shows its main metric, then the rest by name."""
    if dataset in HEADLINES:
        return HEADLINES[dataset]
    rest = sorted(set(present) - {main_metric})
    return DatasetSpec(dataset, dataset, ((main_metric,) if main_metric else ()) + tuple(rest))


for _spec in (
    DatasetSpec("AVE", "AVE (Audio-Visual Event), 1-s segment accuracy", ("acc_fused", "acc_visual", "acc_audio"),
                {"acc_fused": "fused", "acc_visual": "visual", "acc_audio": "audio"}),
    DatasetSpec("EPIC100", "EPIC-KITCHENS-100 action recognition", _EPIC100_METRICS, _EPIC100_LABELS),
    DatasetSpec("EPICSounds", "EPIC-Sounds audio interaction recognition", _SOUNDS_METRICS, _SOUNDS_LABELS),
    DatasetSpec("EPIC100+EPICSounds", "EPIC-KITCHENS-100 + EPIC-Sounds (one joint model)", _EPIC100_METRICS + _SOUNDS_METRICS,
                {**_EPIC100_LABELS, **_SOUNDS_LABELS}, references=("EPIC100", "EPICSounds")),
    DatasetSpec("PerceptionTest", "Perception Test action and sound recognition",
                ("action_top1", "action_top5", "sound_top1", "sound_top5", "action_mca", "sound_mca"),
                {"action_top1": "action@1", "action_top5": "action@5", "sound_top1": "sound@1",
                 "sound_top5": "sound@5", "action_mca": "action mCA", "sound_mca": "sound mCA"}),
):
    register_headline(_spec)
