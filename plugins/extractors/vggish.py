"""VGGish audio embeddings (128-d per second), the audio features of the AVE recipe, in plain torch.

AVE's ``audio_feature.h5`` ([4143, 10, 128]) was made by ``wavfile_to_examples`` of
YapengTian/AVE-ECCV18 ``vggish_input.py``: for each second ``i`` of the clip, samples
``[i * sr, (i + 1) * sr)`` become one 0.96-s log-mel example (25 ms periodic-Hann frames every
10 ms, 512-point FFT magnitude, 64 HTK mel bands 125-7500 Hz built in the mel domain as
``mel_features.spectrogram_to_mel_matrix`` does, ``log(mel + 0.01)``) and VGGish embeds it.
The network is torchvggish's ``VGG(make_layers())`` (harritaylor/torchvggish ``torchvggish/vggish.py``,
a port of the TensorFlow release) with its module names, so ``vggish-10086976.pth`` loads strictly
(``manifests/vggish.tsv``). Its last layer keeps the ReLU of the 2017 TensorFlow model that AVE used
(``final_relu``). ``pca`` (a ``vggish_pca_params`` file) adds AudioSet's PCA + 8-bit quantisation.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures
from .common.backbone import (Timing, batches, check_state_dict, read_state_dict, resolve_device,
                                           resolve_dtype, run_batched, vgg_conv_stack)
from .common.media import decode_audio, interval_grid, media_duration

#: torchvggish make_layers(): VGGish's convolution widths, "M" a 2x2 max-pool.
VGGISH_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")
#: vggish_params.py: the input pipeline of VGGish.
SAMPLE_RATE, WINDOW_SECS, HOP_SECS, MEL_BANDS, MEL_MIN_HZ, MEL_MAX_HZ = 16000, 0.025, 0.010, 64, 125.0, 7500.0
LOG_OFFSET, EXAMPLE_FRAMES = 0.01, 96
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0


class VGGish(nn.Module):
    """[B, 1, 96, 64] log-mel examples -> [B, 128] embeddings, with torchvggish's ``features``/``embeddings`` keys."""

    def __init__(self, widths: tuple = VGGISH_LAYERS, hidden: int = 4096, embedding: int = 128,
                 final_relu: bool = True) -> None:
        super().__init__()
        self.features = vgg_conv_stack(widths, in_channels=1)
        channels = next(v for v in reversed(widths) if v != "M")
        pools = sum(v == "M" for v in widths)
        flat = channels * (EXAMPLE_FRAMES // 2 ** pools) * (MEL_BANDS // 2 ** pools)
        tail: list[nn.Module] = [nn.ReLU(True)] if final_relu else []
        self.embeddings = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(True), nn.Linear(hidden, hidden),
                                        nn.ReLU(True), nn.Linear(hidden, embedding), *tail)
        self.dim = embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).permute(0, 2, 3, 1)  # torchvggish's two transposes: TF's [B, H, W, C] flattening
        return self.embeddings(x.reshape(len(x), -1))


@lru_cache
def vggish_mel_matrix(fft_bins: int) -> np.ndarray:
    """mel_features.spectrogram_to_mel_matrix: [fft_bins, 64] triangles in the mel domain, DC row zeroed."""
    def to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)

    bins_mel = to_mel(np.linspace(0.0, SAMPLE_RATE / 2, fft_bins))
    edges = np.linspace(to_mel(MEL_MIN_HZ), to_mel(MEL_MAX_HZ), MEL_BANDS + 2)
    lower = (bins_mel[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    upper = (edges[None, 2:] - bins_mel[:, None]) / (edges[2:] - edges[1:-1])
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights[0, :] = 0.0
    return weights


def log_mel_examples(samples: np.ndarray) -> np.ndarray:
    """vggish_input.waveform_to_examples at 16 kHz: [examples, 96, 64] log-mel patches (no padding)."""
    window = int(round(SAMPLE_RATE * WINDOW_SECS))
    hop = int(round(SAMPLE_RATE * HOP_SECS))
    fft = 2 ** int(np.ceil(np.log(window) / np.log(2.0)))
    if len(samples) < window:
        raise DataError(f"An audio segment of {len(samples)} samples is shorter than one {window}-sample frame.")
    count = 1 + (len(samples) - window) // hop
    frames = np.lib.stride_tricks.as_strided(samples.astype(np.float64), (count, window),
                                             (8 * hop, 8))
    hann = 0.5 - 0.5 * np.cos(2 * np.pi / window * np.arange(window))
    spectrum = np.abs(np.fft.rfft(frames * hann, fft))
    log_mel = np.log(spectrum @ vggish_mel_matrix(fft // 2 + 1) + LOG_OFFSET)
    examples = 1 + (len(log_mel) - EXAMPLE_FRAMES) // EXAMPLE_FRAMES
    if examples < 1:
        raise DataError(f"An audio segment of {len(samples)} samples makes {len(log_mel)} frames, fewer than one "
                        f"{EXAMPLE_FRAMES}-frame VGGish example (0.96 s).")
    return np.stack([log_mel[i * EXAMPLE_FRAMES:(i + 1) * EXAMPLE_FRAMES] for i in range(examples)])


@EXTRACTORS.register_module()
class VGGishAudio:
    """Extractor: one VGGish embedding (128-d) per interval (AVE: each second), [T, 1, 128]."""

    stream = "audio"

    def __init__(self, checkpoint: str, pca: str | None = None, final_relu: bool = True, window: float = 1.0,
                 hop: float = 1.0, include_end: bool = True, num_copies: int = 1, batch_size: int = 64,
                 device: str = "auto", dtype: str = "auto", model: dict | None = None) -> None:
        if num_copies != 1:
            raise TimBenchError("VGGishAudio makes one copy per segment (num_copies=1), as AVE's features have.")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.model = VGGish(final_relu=final_relu, **(model or {})).eval()
        if checkpoint != "random":
            state = read_state_dict(checkpoint)
            check_state_dict(state, self.model.state_dict(), f"VGGish checkpoint {checkpoint}")
            self.model.load_state_dict(state, strict=True)
        self.model.to(self.device, self.dtype)
        self.pca = self.read_pca(pca) if pca else None
        self.dim = self.model.dim
        self.window, self.hop, self.include_end = window, hop, include_end
        self.batch_size = batch_size
        self.timing = Timing()

    @staticmethod
    def read_pca(path: str) -> tuple[np.ndarray, np.ndarray]:
        """(eigen vectors [128, 128], means [128, 1]) of a torchvggish ``vggish_pca_params`` checkpoint."""
        state = read_state_dict(path)
        if "pca_eigen_vectors" not in state or "pca_means" not in state:
            raise DataError(f"{path} has keys {sorted(state)}, not pca_eigen_vectors and pca_means; it is not "
                            f"torchvggish's vggish_pca_params file.")
        vectors = np.asarray(state["pca_eigen_vectors"], np.float64)
        return vectors, np.asarray(state["pca_means"], np.float64).reshape(-1, 1)

    def postprocess(self, embeddings: np.ndarray) -> np.ndarray:
        """AudioSet's PCA, clipping to [-2, 2] and 8-bit quantisation (torchvggish Postprocessor), as float32."""
        assert self.pca is not None, "postprocess needs the PCA parameters (pca=...)"
        vectors, means = self.pca
        pca = (vectors @ (embeddings.T - means)).T
        clipped = np.clip(pca, QUANTIZE_MIN, QUANTIZE_MAX)
        return np.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN))).astype(np.float32)

    def inputs(self, samples: np.ndarray, times: np.ndarray) -> Iterator[torch.Tensor]:
        """The first 0.96-s example of each interval, as AVE's one example per second: [1, 96, 64]."""
        for start_sec, stop_sec in times:
            segment = samples[int(round(start_sec * SAMPLE_RATE)):int(round(stop_sec * SAMPLE_RATE))]
            yield torch.from_numpy(log_mel_examples(segment)[0]).float()[None]

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one media file: times ``[T, 2]`` of the segments, values ``[T, 1, 128]``."""
        self.timing = Timing()
        tic = time.perf_counter()
        samples = decode_audio(media, SAMPLE_RATE)
        times = interval_grid(media_duration(media, samples, SAMPLE_RATE), self.window, self.hop, self.include_end)
        self.timing.decode_s = time.perf_counter() - tic
        self.timing.frames = math.ceil(len(samples) / (SAMPLE_RATE * HOP_SECS))
        values = run_batched(self.model, batches(self.inputs(samples, times), self.batch_size), self.device,
                             self.dtype, self.timing)
        if self.pca is not None:
            values = self.postprocess(values.astype(np.float64))
        return VideoFeatures(times=times, values=values[:, None])
