# VGGish audio embeddings (128-d per second) for AVE, the audio features of configs/ave_vgg.py, as
# YapengTian/AVE-ECCV18 vggish_input.py wavfile_to_examples makes its inputs:
#   tim-bench extract-features configs/extract/ave_vggish.py --cfg-options data_root=DIR extract.split=train
# writes DIR/vggish/{split}/{video_id}.npy ([10, 1, 128] for a 10-s video).
data_root = "data/ave"
extract = dict(
    extractor=dict(
        type="VGGishAudio",
        # torchvggish's port of the TensorFlow VGGish (vggish-10086976.pth); AVE README: "Audio features are extracted
        # using vggish" (tensorflow/models research/audioset)
        checkpoint="checkpoints/vggish-10086976.pth",
        pca=None,                  # no PCA/quantisation: AVE's features are raw embeddings (a vggish_pca_params
                                   # path gives AudioSet's released-embedding format)
        final_relu=True,           # the 2017 TensorFlow VGGish AVE used ends in a ReLU (as torchvggish does)
        window=1.0, hop=1.0, include_end=True,  # vggish_input.py: T = 10 segments [i * sr, (i + 1) * sr)
        num_copies=1, batch_size=64, device="auto", dtype="auto",
    ),
    inputs="videos/{video_id}.mp4",
    videos=None,
    split="train",
    out_folder="vggish",
)
