# Auditory SlowFast audio features for the Perception Test, as TIM's feature_extractors/auditory_slowfast extracts them
# (auditory_slowfast/README.md: the EPIC-Sounds checkpoint; configs/PERCEPTION/SLOWFAST_R50.yaml):
#   tim-bench extract-features configs/extract/perception_asf.py --cfg-options data_root=DIR extract.split=train
# writes DIR/audio/{split}/{video_id}.npy ([T, A, 2304]: A = 3 on train, 1 on val/test), the folder
# configs/perception_av.py reads.
data_root = "data/perception"
extract = dict(
    extractor=dict(
        type="AuditorySlowFastAudio",
        # asf_epicsounds.pyth has 44 classes (the yaml's NUM_CLASSES [67] head is not in it: the original loads the
        # checkpoint non-strictly and never uses the head for features)
        checkpoint="checkpoints/asf_epicsounds.pyth", num_classes=44,
        sample_rate=24000,         # auditory_slowfast/README.md: Perception Test audio used at 24 kHz
        clip_secs=0.999, num_frames=200,  # SLOWFAST_R50.yaml AUDIO_DATA
        n_fft=2048, window_ms=10, hop_ms=5, n_mels=128,  # audio_loader_aveperception._log_specgram
        window=1.1, hop=0.2, include_end=False,  # make_framepickle.py INTERVAL / HOP_SIZE (see perception_omnivore.py)
        # TEST.NUM_FEATURES (auditory_slowfast/README.md): 3 on train, 1 on val/test. Copy k starts
        # linspace(0, delta, 3)[k] samples into the interval (audio_loader_*.get_start_end_idx); copies 1.. get
        # SpecAugment: time warp, 2 frequency and 2 time masks
        # (datasets/perception.py, spec_augment.py; seed makes the copies reproducible,
        # tim_bench_plugins/extractors/common/augment.py).
        num_copies=dict(train=3, val=1, test=1), seed=0,
        batch_size=128, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="audio",
)
