"""The vectorised window builder against a literal transcription of the original on real EPIC timing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tim_bench.data.windows import WindowSpec, build_windows, cached_windows
from tim_bench_registry import DataError

from reference_windows import original_windows


def _seconds(ts: pd.Series) -> np.ndarray:
    parts = ts.str.split(":", expand=True).astype(float)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def _epic_subset(shared_data, n_videos):
    ann = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_validation.csv")
    info = pd.read_csv(shared_data / "epic-kitchens-100" / "EPIC_100_video_info.csv").set_index("video_id")
    videos = list(dict.fromkeys(ann.video_id))[:n_videos]
    ann = ann[ann.video_id.isin(videos)].reset_index(drop=True)
    seg = pd.DataFrame({"segment_id": ann.narration_id, "video_id": ann.video_id,
                        "start": _seconds(ann.start_timestamp), "stop": _seconds(ann.stop_timestamp)})
    durations = {v: float(info.loc[v, "duration"]) for v in videos}
    # Omnivore-style features every 0.2 s spanning 1 s, centred (as the original's feature pickles)
    feat = {}
    for v, d in durations.items():
        c = np.arange(0, d, 0.2)
        feat[v] = np.stack([np.maximum(c - 0.5, 0), c + 0.5], 1)
    return seg, durations, feat


@pytest.mark.slow  # window by window over every real EPIC validation video
@pytest.mark.parametrize("spec", [WindowSpec(50, 0.2, 3, 1.0, 0.2), WindowSpec(50, 0.2, 2, 1.0, 0.2),
                                  WindowSpec(10, 0.2, 1, 0.7, 0.5)])
def test_matches_original_semantics_on_real_epic(shared_data, spec):
    seg, durations, feat = _epic_subset(shared_data, 4)
    ours = build_windows(seg, durations, feat, spec)
    ref = original_windows(seg, durations, feat, spec.num_feats, spec.feat_gap, spec.feat_stride,
                           spec.window_stride, spec.min_query_size)
    assert len(ours) == len(ref)
    for w, r in enumerate(ref):
        a, b = ours.query_ptr[w], ours.query_ptr[w + 1]
        assert ours.video_ids[w] == r["video_id"] and ours.start[w] == r["start"] and ours.stop[w] == r["stop"]
        assert ours.query_row[a:b].tolist() == r["rows"]
        np.testing.assert_array_equal(ours.query_start[a:b], r["q_start"])
        np.testing.assert_array_equal(ours.query_stop[a:b], r["q_stop"])
        np.testing.assert_array_equal(ours.feat_idx[w], r["feat_idx"])


def test_every_segment_is_queried_and_cache_round_trips(shared_data, tmp_path):
    seg, durations, feat = _epic_subset(shared_data, 3)
    spec = WindowSpec()
    first = cached_windows(seg, durations, feat, spec, tmp_path)
    assert set(first.query_row) == set(range(len(seg)))
    again = cached_windows(seg, durations, feat, spec, tmp_path)
    assert len(list(tmp_path.glob("windows-*.npz"))) == 1
    np.testing.assert_array_equal(first.feat_idx, again.feat_idx)
    # any change of an input is a different cache entry
    cached_windows(seg, durations, feat, WindowSpec(min_query_size=0.3), tmp_path)
    assert len(list(tmp_path.glob("windows-*.npz"))) == 2


def test_unqueried_segment_is_an_error():
    seg = pd.DataFrame({"segment_id": ["long"], "video_id": ["v"], "start": [0.0], "stop": [100.0]})
    feat = {"v": np.stack([np.arange(0, 200, 1.0), np.arange(1, 201, 1.0)], 1)}
    spec = WindowSpec(num_feats=5, feat_gap=1.0, feat_stride=1, window_stride=1.0, min_query_size=10.0)
    with pytest.raises(DataError, match="queried by no window"):
        build_windows(seg, {"v": 200.0}, feat, spec)


def test_short_video_gets_one_window_padded_with_last_feature():
    seg = pd.DataFrame({"segment_id": ["a"], "video_id": ["v"], "start": [0.5], "stop": [2.0]})
    feat = {"v": np.stack([np.arange(0, 3, 1.0), np.arange(1, 4, 1.0)], 1)}
    w = build_windows(seg, {"v": 3.0}, feat, WindowSpec(num_feats=10, feat_gap=1.0, feat_stride=1))
    assert len(w) == 1 and w.stop[0] == 3.0
    # as the original: up to (not including) the feature whose stop is nearest the window stop
    assert w.feat_idx[0].tolist() == [0, 1] + [1] * 8
