"""Visual features from a folder of video frames through a timm image backbone.

``TimmVideo`` reads one folder of JPEG/PNG frames per video (EPIC-KITCHENS' ``frame_0000000001.jpg``
layout; names sorted naturally, frame i shown at ``i / fps`` seconds), embeds every ``frame_stride``-th
frame with ``timm.create_model(model, num_classes=0)`` after timm's own eval preprocessing for that model
(shorter side resized to ``size / crop_pct``, centre crop, mean/std normalisation), and averages the
frame embeddings whose times fall in each feature span: feature k is centred at ``k * feat_gap`` s and
spans ``feat_span`` s, clipped to the video, like the original TIM's intervals. D is the backbone's
pooled width. ``pretrained`` is False (seeded random weights: for testing the pipeline), True (timm
downloads the weights) or the path of a local checkpoint. Video files are not decoded: extract frames
first (``ffmpeg -i V.mp4 -q:v 2 V/frame_%010d.jpg``).

timm is optional (``pip install -e ".[timm]"`` with the torchvision build matching your torch; see the
README); this module imports without it.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures
from .common.spans import pool_spans

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


def frame_paths(folder: Path) -> list[Path]:
    """The frame images of ``folder`` in natural order (frame_2 before frame_10)."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of frames; TimmVideo reads one folder of JPEG/PNG frames per "
                        f"video, so extract them (ffmpeg -i VIDEO -q:v 2 FOLDER/frame_%010d.jpg) or fix "
                        f"extract.inputs.")
    frames = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES]
    if not frames:
        raise DataError(f"{folder} holds no .jpg/.jpeg/.png frames; extract them or drop the video.")
    return sorted(frames, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])


@EXTRACTORS.register_module()
class TimmVideo:
    """Extractor: one timm-backbone feature (frame embeddings averaged over its span) every ``feat_gap`` s."""

    stream = "visual"

    def __init__(self, model: str, fps: float, pretrained: bool | str = False, feat_gap: float = 0.2,
                 feat_span: float = 1.0, frame_stride: int = 1, batch_size: int = 32, device: str = "cpu") -> None:
        try:
            import timm
        except ImportError:
            raise TimBenchError('TimmVideo needs timm, which is not installed; install the timm extra with '
                                'pip install -e ".[timm]" (with the torchvision build matching your torch).') from None
        if not timm.is_model(model):
            raise TimBenchError(f"timm has no model '{model}'; pick one from timm.list_models() and fix the "
                                f"extractor's model.")
        if isinstance(pretrained, str):
            if not Path(pretrained).is_file():
                raise DataError(f"Checkpoint {pretrained} does not exist; fix the extractor's pretrained path.")
            weights = dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(pretrained)))
        else:
            weights = dict(pretrained=pretrained)
        with torch.random.fork_rng(devices=[]):  # random weights (pretrained=False) are the same every run
            torch.manual_seed(0)
            self.model = timm.create_model(model, num_classes=0, **weights).eval().to(device)
        data = timm.data.resolve_model_data_config(self.model)
        self.crop = tuple(data["input_size"][1:])
        self.short_side = math.floor(min(self.crop) / data["crop_pct"])
        self.interpolation = "bicubic" if data["interpolation"] == "bicubic" else "bilinear"
        self.mean = torch.tensor(data["mean"]).view(3, 1, 1)
        self.std = torch.tensor(data["std"]).view(3, 1, 1)
        self.dim = int(getattr(self.model, "head_hidden_size", None) or self.model.num_features)
        self.fps, self.feat_gap, self.feat_span = fps, feat_gap, feat_span
        self.frame_stride, self.batch_size, self.device = frame_stride, batch_size, device

    def preprocess(self, path: Path) -> torch.Tensor:
        """[3, H, W] normalised input for the backbone from one image file."""
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"Frame {path} cannot be read as an image ({exc}); re-extract it.") from None
        x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255
        h, w = x.shape[-2:]
        scale = self.short_side / min(h, w)
        x = F.interpolate(x, size=(max(round(h * scale), self.crop[0]), max(round(w * scale), self.crop[1])),
                          mode=self.interpolation, antialias=True, align_corners=False)[0]
        top, left = (x.shape[1] - self.crop[0]) // 2, (x.shape[2] - self.crop[1]) // 2
        x = x[:, top:top + self.crop[0], left:left + self.crop[1]]
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def embed(self, paths: list[Path]) -> np.ndarray:
        """[len(paths), D] float32 backbone embeddings, computed ``batch_size`` frames at a time."""
        out = []
        for i in range(0, len(paths), self.batch_size):
            batch = torch.stack([self.preprocess(p) for p in paths[i:i + self.batch_size]]).to(self.device)
            out.append(self.model(batch).float().cpu().numpy())
        return np.concatenate(out)

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one frame folder: times ``[T, 2]`` seconds covering the video, values ``[T, 1, D]``."""
        paths = frame_paths(media)
        duration = len(paths) / self.fps
        frames = self.embed(paths[::self.frame_stride])
        times, values = pool_spans(frames, self.frame_stride / self.fps, duration, self.feat_gap, self.feat_span)
        return VideoFeatures(times=times, values=values)
