"""The one feature time grid of a video's streams: every stream of a video is read at the same rows, so their
feature times must agree (a rule of the plugin contract that the engine checks on what feature plugins return)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tim_bench_registry import DataError

#: Seconds by which the feature times of two streams of one video may differ and still count as one grid.
GRID_TOLERANCE = 0.01


def common_grid(grids: Mapping[str, np.ndarray], video_id: str) -> np.ndarray:
    """The one feature grid of a video's streams (every stream is read at the same rows); DataError naming
    the video and streams when they differ in count or in times by more than ``GRID_TOLERANCE`` s."""
    (first, times), *others = grids.items()
    for stream, other in others:
        if len(other) != len(times):
            raise DataError(f"Video {video_id} has {len(times)} {first} features but {len(other)} {stream} "
                            f"features; both streams are read at the same rows, so extract them on one time grid.")
        off = np.abs(np.asarray(other, np.float64) - np.asarray(times, np.float64)).max(initial=0.0)
        if not off <= GRID_TOLERANCE:
            row = int(np.abs(np.asarray(other, np.float64) - times).max(1).argmax())
            raise DataError(f"Video {video_id}: feature {row} is {np.round(times[row], 3).tolist()} s in {first} but "
                            f"{np.round(other[row], 3).tolist()} s in {stream}; both streams are read at the same "
                            f"rows, so extract them on one time grid (within {GRID_TOLERANCE} s).")
    return np.asarray(times, np.float64)
