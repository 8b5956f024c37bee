# TIM on AVE with the official VGG-19 7x7x512 maps + VGGish 128-d features and AVGA pooling
# (original README: feat_stride 1, feat_gap 1.0, num_feats 10, feat/seq dropout 0.1, d_model 256,
# apply_feature_pooling, lr 5e-4, lambda_audio 0.1, lambda_drloc 0.1, mixup_alpha 0.5, no verb/noun).
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

features = dict(
    visual=dict(type="HDF5RowFeatures", file="visual_feature.h5", feat_gap=1.0),
    audio=dict(type="HDF5RowFeatures", file="audio_feature.h5", feat_gap=1.0),
)
windows = dict(num_feats=10, feat_gap=1.0, feat_stride=1, window_stride=1.0, min_query_size=0.2)
model = dict(d_model=256, feat_dropout=0.1, seq_dropout=0.1, pool_features=True)
loss = dict(stream_weights=dict(visual=1.0, audio=0.1), lambda_drloc=0.1, mixup_alpha=0.5)
train_cfg = dict(lr=5e-4)
