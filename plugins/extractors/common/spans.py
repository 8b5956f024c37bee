"""Pooling per-frame features into TIM's feature intervals: a helper every extractor plugin may use."""
from __future__ import annotations

import math

import numpy as np


def pool_spans(frames: np.ndarray, frame_step: float, duration: float, feat_gap: float,
               feat_span: float) -> tuple[np.ndarray, np.ndarray]:
    """Average frames sampled every ``frame_step`` s over spans of ``feat_span`` s centred every ``feat_gap`` s.

    Returns times ``[T, 2]`` (clipped to [0, duration]) and values ``[T, 1, D]`` float32; a span that
    holds no frame centre takes the nearest frame.
    """
    eps = 1e-9  # keeps k * gap / step from rounding one frame past an exact boundary
    centres = np.round(np.arange(math.ceil(duration / feat_gap - eps)) * feat_gap, 6)  # 0.6, not 0.6000000000000001
    times = np.stack([np.maximum(centres - feat_span / 2, 0.0), np.minimum(centres + feat_span / 2, duration)], 1)
    lo = np.clip(np.ceil(times[:, 0] / frame_step - eps).astype(int), 0, len(frames) - 1)
    hi = np.clip(np.ceil(times[:, 1] / frame_step - eps).astype(int), lo + 1, len(frames))
    cumulative = np.concatenate([np.zeros((1, frames.shape[1])), np.cumsum(frames, 0, dtype=np.float64)])
    values = (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]
    return times, values[:, None].astype(np.float32)
