"""Code the extractor plugins share (one package, so extractor plugins never import each other): PyAV decoding
and the original feature grid (``media``), the original's augmented copies (``augment``), devices, checkpoints
and manifests (``backbone``), and span pooling (``spans``). Not part of the plugin contract."""
