"""Decoding video and audio with PyAV for extractor plugins, and the original TIM feature grid.

Every extractor plugin reads its media through these functions, so all of them agree on what a
frame number, a duration and a feature interval are:

* **frames** are numbered as ``ffmpeg -i VIDEO frame_%010d.jpg`` numbers the JPEGs the original
  extractors read (TIM ``feature_extractors/omnivore/utils/ave/extract_frames.py``): every decoded
  frame, in order; here 0-based (JPEG ``frame_{k+1:010d}``). ``count_frames`` counts the video's
  packets without decoding them.
* **duration** is ``frames / fps`` when the file has a video stream (the original's
  ``len(framelist) / fps`` in ``feature_extractors/make_framepickle.py``), else ``samples / rate``;
  audio and visual extractors of one video therefore build the same grid.
* **the grid** (``interval_grid``) is ``make_framepickle.py``'s: windows of ``window`` s every
  ``hop`` s from 0, kept while ``start + window < duration`` (``include_end=True`` keeps a window
  that ends exactly at the end, which AVE's ten 1-s segments of a 10-s video need).

PyAV is the ``av`` package (``pip install av``, wheels bundle FFmpeg); it is imported when first used.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tim_bench_registry import DataError, TimBenchError

AV_FIX = 'install PyAV with pip install av (or the extract extra: pip install -e ".[extract]")'


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise TimBenchError(f"Decoding video and audio needs PyAV, which is not installed; {AV_FIX}.") from None
    return av


def open_media(path: Path) -> Any:
    """An open PyAV container for ``path``; a file FFmpeg cannot read is a DataError naming it."""
    av = _av()
    if not Path(path).is_file():
        raise DataError(f"{path} does not exist or is not a file; fix extract.inputs or drop the video.")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise DataError(f"{path} cannot be opened by FFmpeg ({exc}); re-encode it "
                        f"(ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4) or drop the video.") from None


@dataclass(frozen=True)
class VideoInfo:
    """What the grid needs to know of a video stream: its frame rate and frame count."""

    fps: float
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def video_info(path: Path) -> VideoInfo:
    """Frame rate (the stream's average rate) and frame count (its packets, counted without decoding)."""
    with open_media(path) as container:
        if not container.streams.video:
            raise DataError(f"{path} has no video stream; a visual extractor needs one (extract.inputs points at "
                            f"the wrong files?).")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise DataError(f"{path}: FFmpeg reports no frame rate for the video stream; re-encode it with one.")
        frames = sum(1 for packet in container.demux(stream) if packet.size)
    if frames == 0:
        raise DataError(f"{path} holds no video frames; re-encode it or drop the video.")
    return VideoInfo(fps=float(rate), frames=frames)


def media_duration(path: Path, samples: np.ndarray, sample_rate: int) -> float:
    """Seconds the feature grid covers: ``frames / fps`` of the video stream, else the length of ``samples``
    (the file's audio, already decoded at ``sample_rate``)."""
    with open_media(path) as container:
        has_video = bool(container.streams.video)
    return video_info(path).duration if has_video else len(samples) / sample_rate


def grid_starts(duration: float, window: float, hop: float, include_end: bool = False) -> list[float]:
    """Window starts as make_framepickle.py accumulates them (``start += HOP_SIZE``, float error included)."""
    if window <= 0 or hop <= 0:
        raise TimBenchError(f"The feature grid needs window > 0 and hop > 0; got window={window}, hop={hop}.")
    starts, start = [], 0.0
    while start + window < duration or (include_end and abs(start + window - duration) <= 1e-6):
        starts.append(start)
        start += hop
    return starts


def interval_grid(duration: float, window: float, hop: float, include_end: bool = False) -> np.ndarray:
    """``[T, 2]`` (start, stop) seconds: ``window``-s intervals every ``hop`` s, written with two decimals as
    make_framepickle.py writes its ``start_sec``/``stop_sec`` columns. A video shorter than one window is a
    DataError (the original makes no interval for it)."""
    starts = grid_starts(duration, window, hop, include_end)
    if not starts:
        raise DataError(f"The video is {duration:.3f} s long, shorter than one {window}-s feature window; drop it "
                        f"or use a shorter window.")
    return np.array([[round(s, 2), round(s + window, 2)] for s in starts])


def _timestamp_seconds(sec: float) -> float:
    """sec_to_timestamp then timestamp_to_sec of make_framepickle.py: hundredths truncated, not rounded."""
    return int(sec) + int((sec - int(sec)) * 100) / 100


def interval_frames(duration: float, window: float, hop: float, fps: float,
                    include_end: bool = False) -> np.ndarray:
    """``[T, 2]`` (start_frame, stop_frame) of the grid's intervals, as make_framepickle.py computes them:
    ``round(timestamp_to_sec(sec_to_timestamp(t)) * fps)`` (so 1.5999... s becomes frame ``round(1.59 * fps)``)."""
    starts = grid_starts(duration, window, hop, include_end)
    return np.array([[round(_timestamp_seconds(s) * fps), round(_timestamp_seconds(s + window) * fps)]
                     for s in starts], dtype=np.int64).reshape(-1, 2)


def resize_short_side(frame: np.ndarray, size: int, rounding: str = "round") -> np.ndarray:
    """Bilinear resize of one ``[H, W, 3]`` uint8 frame so its shorter side is ``size`` (as cv2.INTER_LINEAR).

    ``rounding`` says how the longer side is computed: ``"round"`` (cv2.resize with fx=fy=scale, the
    Omnivore extractor) or ``"floor"`` (int(size * long / short), VideoMAE's resize_clip).
    """
    h, w = frame.shape[:2]
    short = min(h, w)
    if short == size:
        return frame
    long_side = math.floor(size * max(h, w) / short) if rounding == "floor" else round(size * max(h, w) / short)
    return _bilinear(frame, (size, long_side) if h <= w else (long_side, size))


def resize_height(frame: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of one ``[H, W, 3]`` uint8 frame by ``size / H`` (cv2.resize with fx=fy=size/H, the original
    EPIC-KITCHENS Omnivore extractor): height ``size`` whatever the orientation, width ``round(W * size / H)``."""
    h, w = frame.shape[:2]
    if h == size:
        return frame
    return _bilinear(frame, (size, round(w * size / h)))


def _bilinear(frame: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """``[H, W, 3]`` uint8 -> ``[*out_hw, 3]`` uint8, bilinear without antialiasing (as cv2.INTER_LINEAR)."""
    import torch
    import torch.nn.functional as F
    x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
    y = F.interpolate(x, size=out_hw, mode="bilinear", align_corners=False, antialias=False)
    return y[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def center_crop(frames: np.ndarray, size: int, offset: str = "ceil") -> np.ndarray:
    """Centre ``size x size`` crop of ``[..., H, W, C]`` frames; ``offset`` "ceil" (SlowFast's uniform_crop) or
    "round" (VideoMAE's CenterCrop) places it when the margin is odd."""
    h, w = frames.shape[-3:-1]
    if h < size or w < size:
        raise DataError(f"Frames of {h}x{w} pixels are smaller than the {size}x{size} crop.")
    pick = {"ceil": lambda m: math.ceil(m / 2), "round": lambda m: int(round(m / 2))}[offset]
    top, left = pick(h - size), pick(w - size)
    return frames[..., top:top + size, left:left + size, :]


def iter_clips(path: Path, clips: Sequence[np.ndarray],
               transform: Callable[[np.ndarray], np.ndarray] | None = None,
               source_height: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(clip number, [T, H, W, 3] uint8 frames)`` for each clip of 0-based frame numbers, in order.

    The video is decoded once, front to back; only frames some clip still needs are kept (after
    ``transform``), so memory holds a few clips, not the video. ``source_height`` first scales each
    frame to that height with FFmpeg's bicubic scaler, as the released EPIC-KITCHENS frames (256 px
    high) were made. A frame number past the last decoded frame is a DataError.
    """
    av = _av()
    clips = [np.asarray(c, dtype=np.int64) for c in clips]
    if not clips:
        return
    needed = set(np.concatenate(clips).tolist())
    last_needed = [int(c.max()) for c in clips]
    first_after = np.minimum.accumulate([int(c.min()) for c in clips][::-1])[::-1]  # min over clips i..end
    kept: dict[int, np.ndarray] = {}
    nxt, index = 0, -1
    with open_media(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index in needed:
                    if source_height:
                        width = 2 * round(frame.width * source_height / frame.height / 2)
                        frame = frame.reformat(width=width, height=source_height, interpolation="BICUBIC")
                    rgb = frame.to_ndarray(format="rgb24")
                    kept[index] = transform(rgb) if transform else rgb
                while nxt < len(clips) and last_needed[nxt] <= index:
                    yield nxt, np.stack([kept[i] for i in clips[nxt].tolist()])
                    nxt += 1
                    if nxt < len(clips):
                        for i in [i for i in kept if i < first_after[nxt]]:
                            del kept[i]
                if nxt == len(clips):
                    return
        except av.error.FFmpegError as exc:
            raise DataError(f"{path}: decoding failed after frame {index} ({exc}); re-encode the video.") from None
    raise DataError(f"{path}: clip {nxt} needs frame {last_needed[nxt]} but the video decodes to fewer frames; "
                    f"the container's frame count is wrong, re-encode the video.")


def decode_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of the first audio stream at ``sample_rate``, resampled by FFmpeg (PyAV AudioResampler).

    The samples are those the originals read from the 16-bit WAV that ``ffmpeg -ac 1 -ar RATE`` writes (TIM
    ``feature_extractors/auditory_slowfast/utils/extract_audio.py``; torchvggish reads int16 / 32768): FFmpeg
    downmixes to 16-bit mono, which normalises the mix to (L + R) / 2; a float output would give (L + R) / sqrt(2).
    """
    av = _av()
    with open_media(path) as container:
        if not container.streams.audio:
            raise DataError(f"{path} has no audio stream; an audio extractor needs one (extract.inputs points at "
                            f"the wrong files?).")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise DataError(f"{path}: decoding the audio failed ({exc}); re-encode it or drop the video.") from None
    if not chunks:
        raise DataError(f"{path} holds no audio samples; re-encode it or drop the video.")
    return (np.concatenate(chunks).astype(np.float32) / 32768).astype(np.float32)
