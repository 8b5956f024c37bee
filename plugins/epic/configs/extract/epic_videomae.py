# VideoMAE-L (EPIC-KITCHENS fine-tuned) visual features for EPIC-KITCHENS-100, one 1024-d feature per 1-s interval
# every 0.2 s, as TIM's feature_extractors/VideoMAE/feature_extraction.py extracts them (through transformers):
#   tim-bench extract-features configs/extract/epic_videomae.py --cfg-options data_root=DIR extract.split=train
# writes DIR/features/visual_videomae/{split}/{video_id}.npy ([T, A, 1024]: A = 4 copies on train, 1 on val/test). The
# published EPIC recipe
# (configs/epic_av_omnivore_videomae.py) reads these concatenated with the Omnivore features (TIM merge_features.py):
# configs/extract/epic_omnivore_videomae.py makes both in one pass.
data_root = "data/epic"
extract = dict(
    extractor=dict(
        type="VideoMAEVideo",
        # feature_extraction.py --ckpt_path: videomae_epic.pth.tar (VideoMAE/README.md), the timm-layout ViT-L of
        # modeling_finetune.vit_large_patch16_224, converted to transformers' VideoMAEModel on load. A transformers folder
        # or hub id works too.
        weights="checkpoints/videomae_epic.pth.tar",
        num_frames=16,             # create_model(all_frames=16); load_frame(num_segment=16)
        crop=224,                  # video_transforms.Resize(224, bilinear) + CenterCrop(224)
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),  # video_transforms.Normalize
        window=1.0, hop=0.2, include_end=False,  # the grid of configs/extract/epic_omnivore.py (same interval pickle)
        source_height=256,         # EPIC's released frames are 256 px high (see epic_omnivore.py)
        # feature_extraction.py --num_aug (default 4) on train: copy 0 plain, 3 with RandAugment rand-m7-n4-mstd0.5-inc1
        # (enable_augmentation=i > 0); 1 on val/test; seed makes the copies reproducible (tim_bench_plugins/extractors/common/augment.py)
        num_copies=dict(train=4, val=1, test=1), seed=0,
        batch_size=8, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.MP4",
    videos=None,
    split="train",
    out_folder="features/visual_videomae",
)
