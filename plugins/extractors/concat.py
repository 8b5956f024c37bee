"""Features of several extractors on one grid, concatenated along the feature axis (TIM ``merge_features.py``).

The published EPIC recipe's visual stream is Omnivore and VideoMAE concatenated per interval, Omnivore
first (JacobChalk/TIM ``feature_extractors/merge_features.py``: ``np.concatenate([omnivore, videomae],
axis=-1)``, 1024 + 1024 = 2048-d). ``ConcatFeatures`` builds each part from its config through the
``EXTRACTORS`` registry, runs them on the same file, and refuses parts whose grids or copy counts differ.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures, build
from .common.backbone import Timing


@EXTRACTORS.register_module()
class ConcatFeatures:
    """Extractor: the features of ``parts`` (extractor configs of one stream), concatenated in order."""

    def __init__(self, parts: Sequence[Mapping[str, Any]]) -> None:
        if len(parts) < 2:
            raise TimBenchError(f"ConcatFeatures needs at least two parts; got {len(parts)}.")
        self.parts = [build(EXTRACTORS, dict(part)) for part in parts]
        streams = {p.stream for p in self.parts}
        if len(streams) != 1:
            raise TimBenchError(f"ConcatFeatures parts make different streams {sorted(streams)}; concatenate "
                                f"features of one stream only.")
        self.stream = streams.pop()
        self.dim = sum(p.dim for p in self.parts)
        self.names = [part["type"] for part in parts]
        self.timing = Timing()

    def extract(self, media: Path) -> VideoFeatures:
        """Every part's features of one file, checked to share the grid, then ``[T, A, sum of D]``."""
        self.timing = Timing()
        outputs = []
        for name, part in zip(self.names, self.parts):
            features = part.extract(media)
            outputs.append((name, np.asarray(features.times), np.asarray(features.values)))
            timing = getattr(part, "timing", None)
            if timing is not None:
                self.timing.decode_s += timing.decode_s
                self.timing.model_s += timing.model_s
                self.timing.frames += timing.frames
        first, times, values = outputs[0]
        for name, other_times, other_values in outputs[1:]:
            if other_times.shape != times.shape or not np.allclose(other_times, times, atol=1e-6):
                raise DataError(f"{media}: {name} made {len(other_times)} intervals and {first} {len(times)} (or at "
                                f"other times); give the parts the same window, hop and include_end.")
            if other_values.shape[:-1] != values.shape[:-1]:
                raise DataError(f"{media}: {name} values {other_values.shape} and {first} values {values.shape} "
                                f"differ before the feature axis (copies or maps); they cannot be concatenated.")
        return VideoFeatures(times=times, values=np.concatenate([v for _, _, v in outputs], axis=-1))
