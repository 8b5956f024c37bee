# TIM on Perception Test action + sound with Omnivore (1024-d) visual + Auditory SlowFast (2304-d) audio
# features every 0.2 s (original README: --dataset perception, feat_stride 2 (20-s windows of 50 features
# 0.2 s apart), feat_dropout 0.1, seq_dropout 0.1, include_verb_noun False; no --lambda_audio, so 1.0).
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

features = dict(
    visual=dict(type="NpyFeatures", folder="visual", intervals="visual/intervals_{split}.csv", dim=1024),
    audio=dict(type="NpyFeatures", folder="audio", intervals="audio/intervals_{split}.csv", dim=2304),
)
windows = dict(num_feats=50, feat_gap=0.2, feat_stride=2, window_stride=1.0, min_query_size=0.2)
model = dict(feat_dropout=0.1, seq_dropout=0.1)
loss = dict(stream_weights=dict(visual=1.0, audio=1.0))
splits = dict(train="train", val="val", test=None)  # no public test labels: runs are scored on val
