# Omnivore Swin-B (ImageNet + Kinetics + SUN RGB-D) visual features for AVE, as TIM's feature_extractors/omnivore
# extracts them (configs/AVE/OMNIVORE_feature.yaml: MODEL.ARCH omnivore_swinB):
#   tim-bench extract-features configs/extract/ave_omnivore.py --cfg-options data_root=DIR extract.split=train
# writes DIR/omnivore/{split}/{video_id}.npy ([T, A, 1024]: A = 4 copies on train, 1 on val/test), the folder
# configs/ave_omnivore_asf.py reads.
data_root = "data/ave"
extract = dict(
    extractor=dict(
        type="OmnivoreVideo", variant="base", checkpoint="checkpoints/swinB_checkpoint.torch",  # omnivore_swinB
        num_frames=32, crop=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),  # OMNIVORE_feature.yaml DATA
        # TIM's AVE recipe reads features every 0.2 s (recognition README: --feat_gap default 0.2, --num_feats 25);
        # 1-s windows as for EPIC (the AVE interval pickle is a download, not code)
        window=1.0, hop=0.2, include_end=False,
        source_height=None,        # utils/ave/extract_frames.py: ffmpeg frames at the video's own size
        # TEST.NUM_FEATURES (omnivore/README.md): 4 on train (copy 0 plain, 3 with RandAugment rand-m15-mstd0.5-inc1,
        # datasets/ave.py), 1 on val/test; seed makes the copies reproducible (tim_bench_plugins/extractors/common/augment.py)
        num_copies=dict(train=4, val=1, test=1), seed=0,
        batch_size=4, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="omnivore",
)
