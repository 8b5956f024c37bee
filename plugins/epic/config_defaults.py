# EPIC-KITCHENS-100 + EPIC-Sounds: the data layout the EPIC recipes share and the original's EPIC windows
# (num_feats 50 x feat_gap 0.2 s x feat_stride 3 = 30-s windows, one every second).
# data_root holds epic-kitchens-100/ and epic-sounds/ (the official annotation CSVs) and features/visual/,
# features/audio/ (one <video_id>.npy [T, A, D] per video under a folder per split, plus intervals_{split}.csv);
# `tim-bench make-synthetic epic DIR` writes exactly this layout.
data_root = "data/epic"
windows = dict(num_feats=50, feat_gap=0.2, feat_stride=3, window_stride=1.0, min_query_size=0.2)
