# Log-mel audio features for every WAV file in data/demo_audio/audio/, in the layout NpyFeatures reads:
#   tim-bench extract-features extract_logmel_demo [--cfg-options data_root=DIR extract.split=val]
# writes DIR/features/logmel/{split}/{video_id}.npy ([T, 1, 64] float32: one feature every 0.2 s, the mean
# log-mel frame of the 1 s around it) and DIR/features/logmel/intervals_{split}.csv. A training config reads
# them with features=dict(audio=dict(type="NpyFeatures", folder="features/logmel",
#                                    intervals="features/logmel/intervals_{split}.csv")).
data_root = "data/demo_audio"
extract = dict(
    extractor=dict(type="LogMelAudio", sample_rate=16000, n_mels=64, n_fft=400, hop=160, feat_gap=0.2,
                   feat_span=1.0),
    inputs="audio/{video_id}.wav",
    videos=None,  # every WAV found; or a list of ids, or a text file of ids ("lists/{split}.txt")
    split="train",
    out_folder="features/logmel",
)
