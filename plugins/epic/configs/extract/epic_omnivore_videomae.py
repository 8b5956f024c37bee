# The visual stream of the published EPIC recipe (configs/epic_av_omnivore_videomae.py): Omnivore and VideoMAE features
# of each interval concatenated, Omnivore first (TIM feature_extractors/merge_features.py), 1024 + 1024 = 2048-d:
#   tim-bench extract-features configs/extract/epic_omnivore_videomae.py --cfg-options data_root=DIR extract.split=train
# writes DIR/features/visual_omnivore_videomae/{split}/{video_id}.npy ([T, A, 2048]: A = 4 copies on train, 1 on
# val/test). Each part is the extractor of
# configs/extract/epic_omnivore.py and epic_videomae.py (see them for the source of every parameter).
data_root = "data/epic"
extract = dict(
    extractor=dict(
        type="ConcatFeatures",
        parts=[
            dict(type="OmnivoreVideo", variant="epic", checkpoint="checkpoints/swinB_epic_checkpoint.torch",
                 num_frames=32, crop=224, scale_by="height", window=1.0, hop=0.2, include_end=False,
                 source_height=256, num_copies=dict(train=4, val=1, test=1), seed=0,
                 batch_size=4, device="auto", dtype="auto"),
            dict(type="VideoMAEVideo", weights="checkpoints/videomae_epic.pth.tar", num_frames=16, crop=224,
                 window=1.0, hop=0.2, include_end=False, source_height=256,
                 num_copies=dict(train=4, val=1, test=1), seed=0, batch_size=8,
                 device="auto", dtype="auto"),
        ],
    ),
    inputs="videos/{video_id}.MP4",
    videos=None,
    split="train",
    out_folder="features/visual_omnivore_videomae",
)
