"""A literal, loop-by-loop transcription of the original TIM window builder, used only to check ours."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def original_windows(actions: pd.DataFrame, durations: dict, feat_times: dict, num_feats: int, feat_gap: float,
                     feat_stride: int, window_stride: float, min_query_size: float) -> list[dict]:
    window_size = num_feats * feat_gap * feat_stride
    out = []
    groups = actions.groupby("video_id")
    for vid, duration in durations.items():
        if vid not in groups.groups:
            continue
        video_duration = math.ceil(duration)
        n = max(math.ceil((math.ceil(video_duration) - window_size) / window_stride) + 1, 1)
        va = groups.get_group(vid).copy()
        va["stop"] = va["stop"].apply(lambda x: min(x, video_duration))
        for w in range(n):
            ws = window_stride * w
            we = min(video_duration, ws + window_size)
            seg = va[(va["start"] < we) & (va["stop"] > ws)].copy()
            if seg.shape[0] == 0:
                continue
            seg["full"] = round(seg["stop"] - seg["start"], 3)
            seg["start"] = seg["start"].apply(lambda x: max(x, ws))
            seg["stop"] = seg["stop"].apply(lambda x: min(x, we))
            seg["part"] = round(seg["stop"] - seg["start"], 3)
            seg = seg[(seg["part"] == seg["full"]) | (seg["part"] >= min_query_size)]
            if seg.shape[0] == 0:
                continue
            ft = feat_times[vid]
            a = np.absolute(ft[:, 0] - max(0.0, ws)).argmin()
            b = np.absolute(ft[:, 1] - we).argmin()
            idx = np.clip(list(range(a, b, feat_stride)), 0, len(ft) - 1)
            idx = list(idx[:num_feats]) + [idx[-1]] * (num_feats - len(idx[:num_feats]))
            out.append(dict(video_id=vid, start=ws, stop=we, feat_idx=np.array(idx), rows=seg.index.tolist(),
                            q_start=seg["start"].to_numpy(), q_stop=seg["stop"].to_numpy()))
    return out
