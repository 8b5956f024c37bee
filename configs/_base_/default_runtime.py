# Shared by every recipe: the original TIM's optimisation and loss settings.
seed = 0
work_dir = None  # default: work_dirs/<config name>
splits = dict(train="train", val="val", test="test")  # set test=None when the dataset has no test split

loss = dict(label_smoothing=0.2, stream_weights=dict(visual=1.0, audio=1.0), lambda_drloc=0.3, m_drloc=32,
            mixup_alpha=0.2)

train_cfg = dict(
    max_epochs=100,
    batch_size=64,
    lr=1e-4,
    weight_decay=1e-4,
    warmup_epochs=2,
    min_lr=1e-6,
    grad_clip=1.0,          # max gradient norm; None turns clipping off
    amp=True,               # autocast on CUDA (bf16 where supported, else fp16 with a scaler); off on CPU
    early_stop_patience=None,  # epochs without a better main metric before stopping; None = never
    val_interval=1,
    num_workers=0,
    checkpoint_interval=1,  # write last.pth every N epochs (resume point)
)
test_cfg = dict(batch_size=128)
