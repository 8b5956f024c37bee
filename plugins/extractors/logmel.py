"""Log-mel audio features of a WAV (or any media file with an audio stream), computed with torch (no torchaudio,
no librosa).

``LogMelAudio`` decodes the first audio stream with the extractors' PyAV decoder (``common.media.decode_audio``:
FFmpeg mixes it down to mono and resamples it to ``sample_rate``, as ``ffmpeg -ac 1 -ar RATE`` does), takes a
power spectrogram (``torch.stft``, Hann window, ``n_fft`` samples every ``hop`` samples) and a triangular HTK
mel filterbank of ``n_mels`` bins, and logs it. Feature k is centred at ``k * feat_gap`` seconds and spans
``feat_span`` seconds around that centre, clipped to the clip (the original TIM's feature intervals); its value
is the **average** of the log-mel frames whose centres fall in the span, so D = ``n_mels``. Output is
deterministic. Decoding needs the optional ``av`` package (the extract extra).

>>> extractor = LogMelAudio(n_mels=64, feat_gap=0.2)            # doctest: +SKIP
>>> features = extractor.extract(Path("P01_01.wav"))             # doctest: +SKIP
>>> features.times.shape, features.values.shape                  # doctest: +SKIP
((T, 2), (T, 1, 64))
"""
from __future__ import annotations

from pathlib import Path

import torch

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures

from .common.media import decode_audio, media_duration
from .common.spans import pool_spans

#: Added before the log so that silent frames stay finite.
LOG_OFFSET = 1e-6


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
    """Extractor: one log-mel feature (D = ``n_mels``, averaged over its span) every ``feat_gap`` s of a file's audio."""

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
        """Features of one media file's audio: times ``[T, 2]`` seconds covering the clip, values
        ``[T, 1, n_mels]``."""
        samples = decode_audio(media, self.sample_rate)
        duration = media_duration(media, samples, self.sample_rate)
        audio = torch.from_numpy(samples)
        if audio.numel() < self.n_fft:
            raise DataError(f"{media} is {duration:.3f} s long, shorter than one {self.n_fft}-sample STFT frame; "
                            f"drop the video or lower n_fft.")
        frames = self.log_mel(audio).numpy()
        times, values = pool_spans(frames, self.hop / self.sample_rate, duration, self.feat_gap, self.feat_span)
        return VideoFeatures(times=times, values=values)
