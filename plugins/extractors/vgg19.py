"""VGG-19 pool5 maps (7 x 7 x 512 per second), the visual features of the AVE recipe, in plain torch.

AVE's released ``visual_feature.h5`` ([4143, 10, 7, 7, 512]) holds, for each 1-s segment of a 10-s
video, VGG-19's pool5 output averaged over 16 frames of the segment (Tian et al., ECCV 2018, Sec. 5;
the extraction scripts are a Google Drive archive linked from YapengTian/AVE-ECCV18's README, not
in the repository). The network here is torchvision's ``vgg19`` (``torchvision/models/vgg.py``,
configuration "E") with its module names, so torchvision's ImageNet checkpoint ``vgg19-dcbb9e9d.pth``
loads strictly (``manifests/vgg19.tsv``); only ``features`` runs.

The AVE authors used Keras' VGG-19, whose input is BGR with the Caffe means subtracted
(``normalise="caffe"``); torchvision's weights expect RGB scaled to [0, 1] with ImageNet mean/std
(``normalise="imagenet"``). Pick the one the checkpoint was trained with.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tim_bench_registry import EXTRACTORS, TimBenchError, VideoFeatures
from .common.backbone import (Timing, batches, check_state_dict, grid_clips, read_state_dict,
                                           resolve_device, resolve_dtype, run_batched, vgg_conv_stack)
from .common.media import iter_clips

#: torchvision vgg.py cfgs["E"]: VGG-19's convolution widths, "M" a 2x2 max-pool.
VGG19_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M")
#: RGB means (0-255) Caffe/Keras VGG subtracts after swapping to BGR (keras.applications.vgg19.preprocess_input).
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class VGG19(nn.Module):
    """torchvision's VGG with its key layout; ``forward`` returns the pool5 map [B, 512, H/32, W/32]."""

    def __init__(self, widths: tuple = VGG19_LAYERS, num_classes: int = 1000, hidden: int = 4096) -> None:
        super().__init__()
        self.features = vgg_conv_stack(widths, in_channels=3)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        width = [v for v in widths if v != "M"][-1]
        self.classifier = nn.Sequential(nn.Linear(width * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(hidden, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def segment_frame_indices(start_frame: int, stop_frame: int, per_segment: int, video_frames: int) -> np.ndarray:
    """``per_segment`` frames evenly spread over [start_frame, stop_frame), 0-based, within the video."""
    span = max(stop_frame - start_frame, 1)
    return np.minimum(start_frame + (np.arange(per_segment) * span) // per_segment, video_frames - 1)


@EXTRACTORS.register_module()
class VGG19Pool5:
    """Extractor: per interval, VGG-19 pool5 maps of ``frames_per_segment`` frames, averaged: [T, 1, 7, 7, 512]."""

    stream = "visual"

    def __init__(self, checkpoint: str, normalise: str = "imagenet", size: int = 224, frames_per_segment: int = 16,
                 window: float = 1.0, hop: float = 1.0, include_end: bool = True, num_copies: int = 1,
                 batch_size: int = 32, device: str = "auto", dtype: str = "auto", model: dict | None = None) -> None:
        if normalise not in ("imagenet", "caffe"):
            raise TimBenchError(f"VGG19Pool5 normalise must be 'imagenet' (torchvision weights) or 'caffe' "
                                f"(Keras/Caffe weights); got {normalise!r}.")
        if num_copies != 1:
            raise TimBenchError("VGG19Pool5 makes one copy per segment (num_copies=1), as AVE's features have.")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.model = VGG19(**(model or {})).eval()
        if checkpoint != "random":
            state = read_state_dict(checkpoint)
            check_state_dict(state, self.model.state_dict(), f"VGG-19 checkpoint {checkpoint}")
            self.model.load_state_dict(state, strict=True)
        self.model.to(self.device, self.dtype)
        self.dim = [m for m in self.model.features if isinstance(m, nn.Conv2d)][-1].out_channels
        self.normalise, self.size, self.per_segment = normalise, size, frames_per_segment
        self.window, self.hop, self.include_end = window, hop, include_end
        self.batch_size = batch_size
        self.timing = Timing()

    def to_input(self, frames: np.ndarray) -> torch.Tensor:
        """[N, 3, size, size] network input from [N, H, W, 3] uint8 RGB frames (resized to a square, bilinear)."""
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        if self.normalise == "caffe":
            return x.flip(1) - torch.tensor(CAFFE_MEANS_BGR).view(1, 3, 1, 1)
        return (x / 255.0 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def inputs(self, media: Path, clips: list[np.ndarray]) -> Iterator[torch.Tensor]:
        for _, frames in iter_clips(media, clips):
            yield from self.to_input(frames)

    def frame_indices(self, start_frame: int, stop_frame: int, video_frames: int) -> np.ndarray:
        """One segment's 0-based frame numbers (``per_segment`` frames averaged per second)."""
        return segment_frame_indices(start_frame, stop_frame, self.per_segment, video_frames)

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one video file: times ``[T, 2]`` of the segments, values ``[T, 1, 7, 7, 512]``."""
        times, clips, self.timing = grid_clips(media, self.window, self.hop, self.include_end, self.frame_indices)
        maps = run_batched(self.model, batches(self.inputs(media, clips), self.batch_size), self.device,
                           self.dtype, self.timing)  # [T * per_segment, 512, h, w]
        maps = maps.reshape(len(clips), self.per_segment, *maps.shape[1:]).mean(1)
        return VideoFeatures(times=times, values=maps.transpose(0, 2, 3, 1)[:, None])
