# TIM on AVE with Omnivore (1024-d) visual + Auditory SlowFast (2304-d) audio features every 0.2 s
# (original README: feat_stride 2, num_feats 25, feat_dropout 0.1, d_model 256, lr 5e-4, lambda_drloc 0.1,
# mixup_alpha 0.5, no verb/noun; that command passes no --seq_dropout, so the default 0.5 applies, and
# no --lambda_audio, so 1.0).
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

features = dict(
    visual=dict(type="NpyFeatures", folder="omnivore", intervals="omnivore/intervals_{split}.csv", dim=1024),
    audio=dict(type="NpyFeatures", folder="asf", intervals="asf/intervals_{split}.csv", dim=2304),
)
windows = dict(num_feats=25, feat_gap=0.2, feat_stride=2, window_stride=1.0, min_query_size=0.2)
model = dict(d_model=256, feat_dropout=0.1, seq_dropout=0.5, pool_features=False)
loss = dict(stream_weights=dict(visual=1.0, audio=1.0), lambda_drloc=0.1, mixup_alpha=0.5)
train_cfg = dict(lr=5e-4)
