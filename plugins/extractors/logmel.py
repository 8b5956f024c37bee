"""Log-mel audio features from WAV files, computed with torch alone (no torchaudio, no librosa).

``LogMelAudio`` reads a PCM WAV (8/16/24/32-bit, any channel count: mixed down to mono), resamples it
to ``sample_rate`` with a windowed-sinc filter, takes a power spectrogram (``torch.stft``, Hann window,
``n_fft`` samples every ``hop`` samples) and a triangular HTK mel filterbank of ``n_mels`` bins, and
logs it. Feature k is centred at ``k * feat_gap`` seconds and spans ``feat_span`` seconds around that
centre, clipped to the clip (the original TIM's feature intervals); its value is the **average** of
the log-mel frames whose centres fall in the span, so D = ``n_mels``. Output is deterministic.

>>> extractor = LogMelAudio(n_mels=64, feat_gap=0.2)            # doctest: +SKIP
>>> features = extractor.extract(Path("P01_01.wav"))             # doctest: +SKIP
>>> features.times.shape, features.values.shape                  # doctest: +SKIP
((T, 2), (T, 1, 64))
"""
from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures
from .common.spans import pool_spans

#: Added before the log so that silent frames stay finite.
LOG_OFFSET = 1e-6
WAV_FIX = "convert it to a PCM WAV, e.g. ffmpeg -i IN -ac 1 -ar 16000 -c:a pcm_s16le OUT.wav"


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate of a PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as f:
            rate, width, channels = f.getframerate(), f.getsampwidth(), f.getnchannels()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as exc:
        raise DataError(f"{path} is not a PCM WAV file wave can read ({exc}); {WAV_FIX}.") from None
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 3:  # 24-bit little-endian: widen to int32 then shift back for the sign
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        samples = ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float32) / 2 ** 23
    else:
        samples = np.frombuffer(raw, f"<i{width}").astype(np.float32) / 2 ** (8 * width - 1)
    if samples.size == 0:
        raise DataError(f"{path} holds no audio samples; re-export it or drop the video.")
    return samples.reshape(-1, channels).mean(1), rate


def resample(x: torch.Tensor, orig: int, new: int, taps: int = 6, rolloff: float = 0.99) -> torch.Tensor:
    """Band-limited resampling of a 1-d signal by a Hann-windowed sinc filter (polyphase, one conv1d)."""
    if orig == new:
        return x
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    cutoff = min(orig, new) * rolloff  # in units of the reduced rates, below the lower Nyquist
    width = math.ceil(taps * orig / cutoff)
    t = (torch.arange(-width, width + orig, dtype=torch.float64)[None] / orig
         - torch.arange(new, dtype=torch.float64)[:, None] / new) * cutoff
    t = t.clamp(-taps, taps)
    window = torch.cos(t * math.pi / taps / 2) ** 2
    kernel = torch.special.sinc(t) * window * cutoff / orig  # [new phases, 2 * width + orig]
    padded = F.pad(x.float()[None, None], (width, width + orig))
    out = F.conv1d(padded, kernel[:, None].float(), stride=orig)  # [1, new, frames]: phase p of each output frame
    return out[0].T.reshape(-1)[: math.ceil(new * x.numel() / orig)]


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    """[n_fft // 2 + 1, n_mels] triangular filters evenly spaced on the HTK mel scale (unnormalised)."""
    def to_mel(f: torch.Tensor) -> torch.Tensor:
        return 2595.0 * torch.log10(1.0 + f / 700.0)

    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.linspace(to_mel(torch.tensor(f_min)), to_mel(torch.tensor(f_max)), n_mels + 2,
                           dtype=torch.float64)
    hz = 700.0 * (10 ** (edges / 2595.0) - 1.0)
    rise = (freqs[:, None] - hz[None, :-2]) / (hz[1:-1] - hz[:-2])
    fall = (hz[None, 2:] - freqs[:, None]) / (hz[2:] - hz[1:-1])
    return torch.minimum(rise, fall).clamp(min=0).float()


@EXTRACTORS.register_module()
class LogMelAudio:
    """Extractor: one log-mel feature (D = ``n_mels``, averaged over its span) every ``feat_gap`` s of a WAV."""

    stream = "audio"

    def __init__(self, sample_rate: int = 16000, n_mels: int = 64, n_fft: int = 400, hop: int = 160,
                 f_min: float = 0.0, f_max: float | None = None, feat_gap: float = 0.2,
                 feat_span: float = 1.0) -> None:
        if not 0 <= f_min < (f_max or sample_rate / 2) <= sample_rate / 2:
            raise TimBenchError(f"LogMelAudio needs 0 <= f_min < f_max <= sample_rate / 2; got f_min={f_min}, "
                             f"f_max={f_max}, sample_rate={sample_rate}; fix the extractor config.")
        self.sample_rate, self.n_fft, self.hop = sample_rate, n_fft, hop
        self.feat_gap, self.feat_span = feat_gap, feat_span
        self.dim = n_mels
        self.filterbank = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max or sample_rate / 2)

    def log_mel(self, samples: torch.Tensor) -> torch.Tensor:
        """[frames, n_mels] log-mel spectrogram; frame i is centred at ``i * hop / sample_rate`` seconds."""
        spec = torch.stft(samples, self.n_fft, self.hop, window=torch.hann_window(self.n_fft), center=True,
                          pad_mode="constant", return_complex=True)
        return torch.log(spec.abs().square().T @ self.filterbank + LOG_OFFSET)

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one WAV file: times ``[T, 2]`` seconds covering the clip, values ``[T, 1, n_mels]``."""
        samples, rate = read_wav(media)
        duration = len(samples) / rate
        audio = resample(torch.from_numpy(samples), rate, self.sample_rate)
        if audio.numel() < self.n_fft:
            raise DataError(f"{media} is {duration:.3f} s long, shorter than one {self.n_fft}-sample STFT frame; "
                            f"drop the video or lower n_fft.")
        frames = self.log_mel(audio).numpy()
        times, values = pool_spans(frames, self.hop / self.sample_rate, duration, self.feat_gap, self.feat_span)
        return VideoFeatures(times=times, values=values)
