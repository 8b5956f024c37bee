# Auditory SlowFast (VGG-Sound, 1-s input) audio features for AVE, as TIM's feature_extractors/auditory_slowfast
# extracts them (configs/AVE/SLOWFAST_R50.yaml):
#   tim-bench extract-features configs/extract/ave_asf.py --cfg-options data_root=DIR extract.split=train
# writes DIR/asf/{split}/{video_id}.npy ([T, A, 2304]: A = 5 on train, 1 on val/test), the folder
# configs/ave_omnivore_asf.py reads.
data_root = "data/ave"
extract = dict(
    extractor=dict(
        type="AuditorySlowFastAudio",
        # asf_vggsound.pyth (auditory_slowfast/README.md), trained on VGG-Sound's 309 classes (the yaml's [28] head is
        # not in it; the original loads non-strictly and never uses the head for features)
        checkpoint="checkpoints/asf_vggsound.pyth", num_classes=309,
        sample_rate=16000,         # SLOWFAST_R50.yaml AUDIO_DATA.SAMPLING_RATE (AVE audio is 16 kHz)
        clip_secs=0.999, num_frames=200,
        n_fft=2048, window_ms=10, hop_ms=5, n_mels=128,  # audio_loader_aveperception._log_specgram
        window=1.0, hop=0.2, include_end=False,  # the grid of configs/extract/ave_omnivore.py
        # TEST.NUM_FEATURES (auditory_slowfast/README.md): 5 on train, 1 on val/test. Copy k starts
        # linspace(0, delta, 5)[k] samples into the interval (audio_loader_*.get_start_end_idx); copies 1.. get
        # SpecAugment: time warp, 2 frequency and 2 time masks
        # (datasets/ave.py, spec_augment.py; seed makes the copies reproducible,
        # tim_bench_plugins/extractors/common/augment.py).
        num_copies=dict(train=5, val=1, test=1), seed=0,
        batch_size=128, device="auto", dtype="auto",   # TEST.BATCH_SIZE 128
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="asf",
)
