# VGG-19 pool5 maps (7 x 7 x 512 per second) for AVE, the visual features of configs/ave_vgg.py:
#   tim-bench extract-features configs/extract/ave_vgg19.py --cfg-options data_root=DIR extract.split=train
# writes DIR/vgg19/{split}/{video_id}.npy ([10, 1, 7, 7, 512] for a 10-s video). To train on them instead of the
# released visual_feature.h5, set features.visual=dict(type="NpyFeatures", folder="vgg19",
# intervals="vgg19/intervals_{split}.csv", dim=512) in configs/ave_vgg.py.
data_root = "data/ave"
extract = dict(
    extractor=dict(
        type="VGG19Pool5",
        # torchvision's ImageNet vgg19-dcbb9e9d.pth (torchvision/models/vgg.py). The AVE authors used Keras' VGG-19
        # (YapengTian/AVE-ECCV18 README: Keras; Tian et al. ECCV 2018 Sec. 5); with Keras weights converted to this
        # layout set normalise="caffe" (BGR, Caffe means): the released features are not bit-for-bit reproducible.
        checkpoint="checkpoints/vgg19-dcbb9e9d.pth", normalise="imagenet",
        size=224,                  # VGG-19's input; frames resized to 224 x 224
        frames_per_segment=16,     # ECCV 2018 Sec. 5: pool5 of 16 frames per 1-s segment, averaged
        window=1.0, hop=1.0, include_end=True,  # ten 1-s segments of a 10-s video (vggish_input.py T = 10)
        num_copies=1, batch_size=32, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="vgg19",
)
