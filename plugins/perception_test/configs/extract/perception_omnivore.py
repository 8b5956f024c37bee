# Omnivore Swin-B visual features for the Perception Test, as TIM's feature_extractors/omnivore extracts them
# (configs/PERCEPTION_TEST/OMNIVORE_feature.yaml: MODEL.ARCH omnivore_swinB_epic, the EPIC checkpoint):
#   tim-bench extract-features configs/extract/perception_omnivore.py --cfg-options data_root=DIR extract.split=train
# writes DIR/visual/{split}/{video_id}.npy ([T, A, 1024]: A = 4 copies on train, 1 on val/test), the folder
# configs/perception_av.py reads.
data_root = "data/perception"
extract = dict(
    extractor=dict(
        type="OmnivoreVideo", variant="epic", checkpoint="checkpoints/swinB_epic_checkpoint.torch",
        num_frames=32, crop=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),  # OMNIVORE_feature.yaml DATA
        # feature_extractors/make_framepickle.py (written for the Perception Test): INTERVAL = 1.1, HOP_SIZE = 0.2,
        # windows kept while start + INTERVAL < duration
        window=1.1, hop=0.2, include_end=False,
        source_height=None,        # utils/perception_test/extract_frames.py: ffmpeg frames at the video's own size
        # TEST.NUM_FEATURES (omnivore/README.md): 4 on train (copy 0 plain, 3 with RandAugment rand-m15-mstd0.5-inc1,
        # datasets/perception.py), 1 on val/test; seed makes the copies reproducible (tim_bench_plugins/extractors/common/augment.py)
        num_copies=dict(train=4, val=1, test=1), seed=0,
        batch_size=4, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="visual",
)
