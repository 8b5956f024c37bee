# Omnivore Swin-B (EPIC-KITCHENS fine-tuned) visual features for EPIC-KITCHENS-100, one 1024-d feature per 1-s
# interval every 0.2 s, as TIM's feature_extractors/omnivore extracts them:
#   tim-bench extract-features configs/extract/epic_omnivore.py --cfg-options data_root=DIR extract.split=train
# writes DIR/features/visual/{split}/{video_id}.npy ([T, A, 1024]: A = 4 copies on train, 1 on val/test) +
# intervals_{split}.csv, the folder
# configs/epic_av.py reads. Every parameter and where the original sets it (paths in JacobChalk/TIM):
data_root = "data/epic"
extract = dict(
    extractor=dict(
        type="OmnivoreVideo",
        # omnivore/omnivore/models/omnivore_model.py omnivore_swinB_epic; configs/EPIC-KITCHENS/OMNIVORE_feature.yaml
        # MODEL.ARCH. The checkpoint is swinB_epic_checkpoint.torch (docs/feature-extractors.md says where to get it).
        variant="epic", checkpoint="checkpoints/swinB_epic_checkpoint.torch",
        num_frames=32,             # OMNIVORE_feature.yaml DATA.NUM_FRAMES, sampled "like omnivore" (frame_loader.py)
        crop=224,                  # DATA.TEST_CROP_SIZE: centre crop 224 (epickitchens.py uniform_crop) after
        scale_by="height",         # scale = 224 / H (epickitchens.py, cv2.resize fx=fy=scale), not the shorter side
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),  # DATA.MEAN / DATA.STD
        # The interval grid: 0.2-s hop (make_framepickle.py HOP_SIZE; TIM's feat_gap 0.2). The EPIC interval pickle itself
        # is a download, not code: 1-s windows follow the 1-s inputs of TIM's audio model (auditory_slowfast/README.md,
        # CLIP_SECS 0.999), an assumption recorded here.
        window=1.0, hop=0.2, include_end=False,
        # EPIC's released RGB frames are 256 px high (frame_loader.py reads rgb_frames/); decoding the .MP4, each frame is
        # first scaled to that height with FFmpeg's bicubic scaler (their JPEG compression is not reproduced).
        source_height=256,
        # TEST.NUM_FEATURES (omnivore/README.md): 4 on train (copy 0 plain, 3 with RandAugment rand-m15-mstd0.5-inc1,
        # datasets/epickitchens.py), 1 on val/test; seed makes the copies reproducible (tim_bench_plugins/extractors/common/augment.py)
        num_copies=dict(train=4, val=1, test=1), seed=0,
        batch_size=4,              # TEST.BATCH_SIZE (speed only)
        device="auto", dtype="auto",  # a GPU in bfloat16 when there is one, else the CPU in float32
    ),
    inputs="videos/{video_id}.MP4",
    videos=None,
    split="train",
    out_folder="features/visual",
)
