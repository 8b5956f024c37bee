"""Small real video files with audio, written with PyAV, for the extractor tests and bench/extractors.py.

Each class has its own moving shape (colour, size, direction) and its own tone, so features of a
working pipeline separate the classes while random weights still see the difference.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

#: class -> (RGB colour, square side in pixels, pixels moved per frame (x, y), tone Hz)
CLASSES = {
    0: ((230, 30, 30), 20, (2, 0), 440.0),
    1: ((30, 210, 50), 26, (0, 2), 1200.0),
    2: ((30, 60, 240), 14, (-2, 1), 3000.0),
}


def frame_of(cls: int, i: int, height: int, width: int, rng: np.random.Generator | None = None,
             visible: bool = True) -> np.ndarray:
    """Frame ``i`` of a class-``cls`` video: its square (if ``visible``) moving over a lightly noisy grey."""
    colour, side, (dx, dy), _ = CLASSES[cls]
    frame = np.full((height, width, 3), 90, np.uint8)
    if rng is not None:
        frame = np.clip(frame + rng.integers(-12, 13, frame.shape), 0, 255).astype(np.uint8)
    if not visible:
        return frame
    x = (5 + dx * i) % (width - side)
    y = (5 + dy * i) % (height - side)
    frame[y:y + side, x:x + side] = colour
    return frame


def write_video(path: Path, cls: int, seconds: float, fps: int = 10, size: tuple[int, int] = (48, 64),
                sample_rate: int = 16000, audio: bool = True, seed: int = 0,
                event: tuple[float, float] | None = None) -> Path:
    """An H.264 MP4 (yuv420p) of ``seconds`` s at ``fps`` with a mono AAC tone track at ``sample_rate``.

    With ``event=(start, end)`` the class's square and tone are there only within [start, end) s.
    """
    start, end = event or (0.0, seconds)
    av = pytest.importorskip("av", reason="PyAV is not installed; it is the optional extract extra (pip install -e '.[extract]')")  # skips the test that writes a video
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "18", "preset": "ultrafast"}
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
        for i in range(round(seconds * fps)):
            visible = start <= i / fps < end
            frame = av.VideoFrame.from_ndarray(frame_of(cls, i, height, width, rng, visible), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if astream is not None:
            t = np.arange(round(seconds * sample_rate)) / sample_rate
            on = (t >= start) & (t < end)
            tone = 0.4 * np.sin(2 * np.pi * CLASSES[cls][3] * t) * on + 0.01 * rng.standard_normal(t.size)
            samples = tone.astype(np.float32)[None]
            step = 1024
            for start in range(0, samples.shape[1], step):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + step]),
                                                   format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = sample_rate, start, Fraction(1, sample_rate)
                for packet in astream.encode(chunk):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return path
