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
    amp=True,               # the original's fp16 autocast + GradScaler on CUDA, fp32 on CPU; "bf16": bf16 autocast on
                            # any device (faster on CPUs with bf16, rounds otherwise: recorded and marked in rows)
    early_stop_patience=None,  # validations without a better visual best (the original's criterion); None = never
    sampler="uniform",      # "uniform": the original's shuffling; "bucketed" (less padding) reweights the loss
    val_interval=1,
    num_workers=0,
    feature_store="auto",   # a split's features read once: "gpu" (gathered on the GPU), "host" (memory map); auto: GPU if they fit
    feature_dtype="auto",   # store dtype: auto = "float32" (the original's inputs); "bfloat16"/"float16" round them
    checkpoint_interval=1,  # write last.pth every N epochs (resume point)
    log_interval=50,        # a log.txt line (loss, lr, data/step time, GPU memory, ETAs) every N iterations
    tensorboard=False,      # True: also write TensorBoard scalars to WORK_DIR/tensorboard/ (needs `tensorboard`)
    compile="auto",         # torch.compile the training forward+loss: "auto" (on one CUDA device; eager on the CPU and
                            # under torchrun), False, True/"default", "reduce-overhead" (CUDA graphs) or
                            # "max-autotune-no-cudagraphs"; pads training queries to the split maximum (same loss); a
                            # compile that fails warns and the run goes on eagerly (the record says which ran)
)
test_cfg = dict(
    batch_size=128,
    probe_batch_size="auto",  # on one CUDA device, infer at the fastest of batch_size x 1..16 (a short timed probe;
                              # predictions are the same to float rounding; recorded): True on any device, False never
)
