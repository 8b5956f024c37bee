"""Auditory SlowFast audio features (2304-d), as TIM's audio extractor makes them, in plain torch.

The network is ``SlowFast`` of ``feature_extractors/auditory_slowfast/slowfast/models/
audio_model_builder.py`` (with ``stem_helper.py``, ``resnet_helper.py``, ``head_helper.py``) in TIM,
itself from ekazakos/auditory-slow-fast, written again with the same module names so the official
``.pyth`` checkpoint's ``model_state`` loads strictly (``manifests/asf_epicsounds.tsv``: 44 EPIC-Sounds
classes; ``manifests/asf_vggsound.tsv``: 309 VGG-Sound classes, the AVE checkpoint). The feature is
the head's input: both pathways average-pooled and concatenated (2048 slow + 256 fast channels).

Input per interval, as ``slowfast/datasets/audio_loader_epic.py`` and ``audio_loader_aveperception.py``
make it: ``round(sample_rate * clip_secs)`` samples from the interval's start sample (minus the last
one: the original slices ``[start, start + clip - 1)``), a librosa-style STFT (``n_fft`` 2048, Hann
window of ``window_ms``, hop of ``hop_ms``, centred with zero padding), magnitude, a 128-band HTK mel
filterbank without normalisation, ``log(mel + 1e-6)``; ``[num_frames, 128]``, edge-padded if shorter.
The slow pathway sees every ``alpha``-th frame (``utils.pack_pathway_output``).

With ``num_copies`` A > 1 (``TEST.NUM_FEATURES``), copy ``k`` starts ``linspace(0, delta, A)[k]`` samples into the
interval (``get_start_end_idx``) and copies 1..A-1 get SpecAugment: time warp, frequency and time masks
(``epicsounds.py``, ``spec_augment.py``; ``common.augment``).
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures
from .common.augment import copy_rng, shifted_start, spec_augment, video_key
from .common.backbone import (Timing, batches, check_state_dict, read_state_dict, resolve_device,
                                           resolve_dtype, run_batched)
from .common.media import decode_audio, interval_grid, media_duration

#: audio_model_builder.py's _TEMPORAL_KERNEL_BASIS["slowfast"]: (slow, fast) temporal kernel of conv1, res2..res5.
TEMPORAL_KERNELS = ((1, 5), (1, 3), (1, 3), (3, 3), (3, 3))


class Stem(nn.Module):
    """ResNetBasicStem: conv (temporal x frequency), BN, ReLU, 3x3 max-pool stride 2."""

    def __init__(self, dim_in: int, dim_out: int, temporal: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim_in, dim_out, [temporal, 7], stride=[2, 2], padding=[temporal // 2, 3], bias=False)
        self.bn = nn.BatchNorm2d(dim_out, eps=1e-5, momentum=0.1)
        self.relu = nn.ReLU(True)
        self.pool_layer = nn.MaxPool2d([3, 3], [2, 2], [1, 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_layer(self.relu(self.bn(self.conv(x))))


class AudioModelStem(nn.Module):
    def __init__(self, dims_out: Sequence[int], temporal: Sequence[int]) -> None:
        super().__init__()
        for p in range(2):
            self.add_module(f"pathway{p}_stem", Stem(1, dims_out[p], temporal[p]))

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        return [getattr(self, f"pathway{p}_stem")(x[p]) for p in range(2)]


class FuseFastToSlow(nn.Module):
    """Concatenate a strided temporal conv of the fast pathway onto the slow one."""

    def __init__(self, dim_in: int, ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        self.conv_f2s = nn.Conv2d(dim_in, dim_in * ratio, [kernel, 1], stride=[alpha, 1], padding=[kernel // 2, 0],
                                  bias=False)
        self.bn = nn.BatchNorm2d(dim_in * ratio, eps=1e-5, momentum=0.1)
        self.relu = nn.ReLU(True)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.cat([x[0], self.relu(self.bn(self.conv_f2s(x[1])))], 1), x[1]]


class BottleneckTransform(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, temporal: int, stride: int, dim_inner: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(dim_in, dim_inner, [temporal, 1], stride=[1, 1], padding=[temporal // 2, 0], bias=False)
        self.a_bn = nn.BatchNorm2d(dim_inner, eps=1e-5, momentum=0.1)
        self.a_relu = nn.ReLU(True)
        self.b = nn.Conv2d(dim_inner, dim_inner, [1, 3], stride=[1, stride], padding=[0, 1], bias=False)
        self.b_bn = nn.BatchNorm2d(dim_inner, eps=1e-5, momentum=0.1)
        self.b_relu = nn.ReLU(True)
        self.c = nn.Conv2d(dim_inner, dim_out, [1, 1], bias=False)
        self.c_bn = nn.BatchNorm2d(dim_out, eps=1e-5, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, temporal: int, stride: int, dim_inner: int) -> None:
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv2d(dim_in, dim_out, 1, stride=[1, stride], bias=False)
            self.branch1_bn = nn.BatchNorm2d(dim_out, eps=1e-5, momentum=0.1)
        self.branch2 = BottleneckTransform(dim_in, dim_out, temporal, stride, dim_inner)
        self.relu = nn.ReLU(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


class ResStage(nn.Module):
    def __init__(self, dims_in: Sequence[int], dims_out: Sequence[int], dims_inner: Sequence[int],
                 temporal: Sequence[int], stride: Sequence[int], blocks: int) -> None:
        super().__init__()
        self.blocks = blocks
        for p in range(2):
            for i in range(blocks):
                self.add_module(f"pathway{p}_res{i}", ResBlock(dims_in[p] if i == 0 else dims_out[p], dims_out[p],
                                                               temporal[p], stride[p] if i == 0 else 1, dims_inner[p]))

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for p in range(2):
            y = x[p]
            for i in range(self.blocks):
                y = getattr(self, f"pathway{p}_res{i}")(y)
            out.append(y)
        return out


class Head(nn.Module):
    """ResNetBasicHead: the projection the checkpoint carries; the feature is its pooled input."""

    def __init__(self, dim_in: int, num_classes: int) -> None:
        super().__init__()
        self.projection = nn.Linear(dim_in, num_classes)


class AuditorySlowFast(nn.Module):
    """[B, 1, T, F] log-mel spectrograms -> [B, 8 * width + 8 * width / beta_inv] pooled features."""

    def __init__(self, num_classes: int = 44, width: int = 64, alpha: int = 4, beta_inv: int = 8,
                 fusion_ratio: int = 2, fusion_kernel: int = 7, depths: Sequence[int] = (3, 4, 6, 3),
                 frequency_strides: Sequence[int] = (1, 2, 2, 2)) -> None:
        super().__init__()
        self.alpha = alpha
        fast = width // beta_inv
        out_dim_ratio = beta_inv // fusion_ratio  # the fast->slow fusion adds 1 / out_dim_ratio channels
        self.s1 = AudioModelStem([width, fast], TEMPORAL_KERNELS[0])
        self.s1_fuse = FuseFastToSlow(fast, fusion_ratio, fusion_kernel, alpha)
        dims_in = [width + width // out_dim_ratio, fast]
        for i, mult in enumerate((4, 8, 16, 32)):
            out = [width * mult, width * mult // beta_inv]
            inner = [width * mult // 4, width * mult // 4 // beta_inv]
            stride = [frequency_strides[i]] * 2
            self.add_module(f"s{i + 2}", ResStage(dims_in, out, inner, TEMPORAL_KERNELS[i + 1], stride, depths[i]))
            if i < 3:
                self.add_module(f"s{i + 2}_fuse", FuseFastToSlow(out[1], fusion_ratio, fusion_kernel, alpha))
                dims_in = [out[0] + out[0] // out_dim_ratio, out[1]]
        self.dim = out[0] + out[1]
        self.head = Head(self.dim, num_classes)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        frames = spectrogram.shape[2]
        slow_index = torch.linspace(0, frames - 1, frames // self.alpha).long().to(spectrogram.device)
        x = [torch.index_select(spectrogram, 2, slow_index), spectrogram]
        x = self.s2(self.s1_fuse(self.s1(x)))
        x = self.s3(self.s2_fuse(x))  # pathway{0,1}_pool are 1x1 max-pools: identities
        x = self.s5(self.s4_fuse(self.s4(self.s3_fuse(x))))
        return torch.cat([p.mean((2, 3)) for p in x], 1)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """[n_mels, n_fft // 2 + 1] librosa.filters.mel(htk=True, norm=None, fmin=0, fmax=sr/2) weights."""
    freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_max = 2595.0 * np.log10(1.0 + (sample_rate / 2) / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(0.0, mel_max, n_mels + 2) / 2595.0) - 1.0)
    fdiff, ramps = np.diff(edges), edges[:, None] - freqs[None]
    weights = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return torch.from_numpy(weights.astype(np.float32))


@EXTRACTORS.register_module()
class AuditorySlowFastAudio:
    """Extractor: one Auditory SlowFast feature (2304-d) per interval of TIM's feature grid."""

    stream = "audio"

    def __init__(self, checkpoint: str, num_classes: int = 44, sample_rate: int = 24000, clip_secs: float = 0.999,
                 num_frames: int = 200, n_fft: int = 2048, window_ms: float = 10, hop_ms: float = 5,
                 n_mels: int = 128, window: float = 1.0, hop: float = 0.2, include_end: bool = False,
                 num_copies: int = 1, seed: int = 0, batch_size: int = 64, device: str = "auto", dtype: str = "auto",
                 model: dict | None = None) -> None:
        if not isinstance(num_copies, int) or num_copies < 1:
            raise TimBenchError(f"AuditorySlowFastAudio num_copies must be a whole number >= 1 (copy 0 plain, the "
                                f"others shifted + SpecAugment); got {num_copies!r}.")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.model = AuditorySlowFast(num_classes=num_classes, **(model or {})).eval()
        if checkpoint != "random":
            state = read_state_dict(checkpoint, nested=("model_state",))
            check_state_dict(state, self.model.state_dict(), f"Auditory SlowFast checkpoint {checkpoint}")
            self.model.load_state_dict(state, strict=True)
        self.model.to(self.device, self.dtype)
        self.dim = self.model.dim
        self.sample_rate, self.num_frames, self.n_fft = sample_rate, num_frames, n_fft
        self.clip_samples = int(round(sample_rate * clip_secs))
        self.win_length = int(round(window_ms * sample_rate / 1e3))
        self.hop_length = int(round(hop_ms * sample_rate / 1e3))
        self.filterbank = mel_filterbank(sample_rate, n_fft, n_mels)
        self.window, self.hop, self.include_end = window, hop, include_end
        self.num_copies, self.seed = num_copies, seed
        self.batch_size = batch_size
        self.timing = Timing()

    def log_mel(self, samples: torch.Tensor) -> torch.Tensor:
        """[frames, n_mels] log-mel of one clip, padded with its last frame to ``num_frames``."""
        spec = torch.stft(samples.double(), self.n_fft, self.hop_length, self.win_length,
                          window=torch.hann_window(self.win_length, dtype=torch.float64), center=True,
                          pad_mode="constant", return_complex=True).abs()
        mel = torch.log(self.filterbank.double() @ spec + 1e-6).T.float()
        if len(mel) < self.num_frames:
            mel = torch.cat([mel, mel[-1:].expand(self.num_frames - len(mel), -1)])
        return mel[: self.num_frames]

    def inputs(self, samples: np.ndarray, times: np.ndarray, video: str) -> Iterator[torch.Tensor]:
        """Each interval's ``num_copies`` [1, num_frames, n_mels] spectrograms (the original's clip, shift and
        padding rules; SpecAugment masks on copies 1.., seeded per video and copy)."""
        audio = torch.from_numpy(samples)
        streams = [copy_rng(self.seed, video, c) for c in range(self.num_copies)]
        for start_sec, stop_sec in times:
            start, stop = int(round(start_sec * self.sample_rate)), int(round(stop_sec * self.sample_rate))
            for copy in range(self.num_copies):
                if stop - start < self.clip_samples:  # a short interval: all of it (the original's first branch)
                    clip = audio[start:stop]
                else:  # copy k starts int(linspace(0, delta, num_copies)[k]) samples in; copy 0 at the start
                    first = start + int(shifted_start(stop - start, self.clip_samples, copy, self.num_copies))
                    clip = audio[first:first + self.clip_samples - 1]
                if len(clip) < self.win_length:
                    raise DataError(f"The audio ends before the interval at {start_sec:.2f} s starts; the audio "
                                    f"stream is shorter than the video.")
                spec = self.log_mel(clip)
                if copy > 0:
                    spec = spec_augment(spec, streams[copy])
                yield spec[None]

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one media file: times ``[T, 2]`` of the grid, values ``[T, num_copies, 2304]``."""
        self.timing = Timing()
        tic = time.perf_counter()
        samples = decode_audio(media, self.sample_rate)
        times = interval_grid(media_duration(media, samples, self.sample_rate), self.window, self.hop, self.include_end)
        self.timing.decode_s = time.perf_counter() - tic
        self.timing.frames = math.ceil(len(samples) / self.hop_length)
        values = run_batched(self.model, batches(self.inputs(samples, times, video_key(media)), self.batch_size),
                             self.device, self.dtype, self.timing)
        return VideoFeatures(times=times, values=values.reshape(len(times), self.num_copies, -1))
