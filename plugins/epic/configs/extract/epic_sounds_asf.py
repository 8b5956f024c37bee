# Auditory SlowFast (EPIC-Sounds, 1-s input) audio features for EPIC-KITCHENS-100 / EPIC-Sounds, one 2304-d feature per
# 1-s interval every 0.2 s, as TIM's feature_extractors/auditory_slowfast extracts them:
#   tim-bench extract-features configs/extract/epic_sounds_asf.py --cfg-options data_root=DIR extract.split=train
# writes DIR/features/audio/{split}/{video_id}.npy ([T, A, 2304]: A = 3 on train, 1 on val/test), the folder
# configs/epic_av.py reads.
data_root = "data/epic"
extract = dict(
    extractor=dict(
        type="AuditorySlowFastAudio",
        # asf_epicsounds.pyth (auditory_slowfast/README.md): SlowFast R50 of configs/EPIC-SOUNDS/SLOWFAST_R50.yaml,
        # MODEL.NUM_CLASSES [44]
        checkpoint="checkpoints/asf_epicsounds.pyth", num_classes=44,
        sample_rate=24000,         # slowfast/config/defaults.py AUDIO_DATA.SAMPLING_RATE (EPIC-Sounds audio is 24 kHz)
        clip_secs=0.999,           # SLOWFAST_R50.yaml AUDIO_DATA.CLIP_SECS
        num_frames=200,            # AUDIO_DATA.NUM_FRAMES
        n_fft=2048, window_ms=10, hop_ms=5, n_mels=128,  # audio_loader_epic._log_specgram; defaults.py WINDOW/HOP_LENGTH
        window=1.0, hop=0.2, include_end=False,  # the grid of configs/extract/epic_omnivore.py (same interval pickle)
        # TEST.NUM_FEATURES (auditory_slowfast/README.md): 3 on train, 1 on val/test. Copy k starts
        # linspace(0, delta, 3)[k] samples into the interval (audio_loader_*.get_start_end_idx); copies 1.. get
        # SpecAugment: time warp, 2 frequency and 2 time masks
        # (datasets/epicsounds.py, spec_augment.py; seed makes the copies reproducible,
        # tim_bench_plugins/extractors/common/augment.py).
        num_copies=dict(train=3, val=1, test=1), seed=0,
        batch_size=64, device="auto", dtype="auto",   # TEST.BATCH_SIZE 64
    ),
    inputs="videos/{video_id}.MP4",  # or the extracted WAVs (ffmpeg -ac 1 -ar 24000): any file FFmpeg reads
    videos=None,
    split="train",
    out_folder="features/audio",
)
