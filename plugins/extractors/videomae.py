"""VideoMAE video features (1024-d for ViT-L), as TIM's VideoMAE extractor makes them, through ``transformers``.

TIM's ``feature_extractors/VideoMAE/feature_extraction.py`` embeds each interval with the
EPIC-fine-tuned ViT-L of ``modeling_finetune.py`` (``forward_features``: mean of the last block's
tokens, then ``fc_norm``). Here the network is ``transformers.VideoMAEModel`` plus that ``fc_norm``:

* ``weights="path/to/videomae_epic.pth.tar"`` (TIM's released checkpoint, timm layout; its key
  layout is ``manifests/videomae_epic.tsv``) is converted key by key (``convert_official``) and loads
  strictly; its verb/noun heads are dropped, since features do not use them.
* ``weights=`` a ``save_pretrained`` folder or a hub id the user names (e.g. a ``MCG-NJU/videomae-*``
  model) loads through ``from_pretrained``; a video-classification model brings its ``fc_norm``.
* ``weights="random"`` builds seeded random weights (tests; no download). ``config=dict(...)`` (VideoMAEConfig
  keys) changes the architecture from ViT-L, for random weights or another official-layout checkpoint.

Sampling and preprocessing follow ``feature_extraction.py``: 16 frames per interval at
``i * (n // 16) + (n // 16) // 2`` (``load_frame``), shorter side bilinearly resized to 224
(``int`` rounding, ``video_transforms.Resize``), centre crop 224 (``round`` offset), /255, ImageNet mean/std.
With ``num_copies`` A > 1 (``num_aug``), copies 1..A-1 get ``rand-m7-n4-mstd0.5-inc1`` RandAugment on the decoded
frames first, one draw per op for the whole clip (``enable_augmentation``; ``common.augment``), and
are then resized by Pillow's bilinear filter, not cv2's: the original's ``Resize`` meets PIL images there
(``functional.resize_clip``).
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from tim_bench_registry import EXTRACTORS, DataError, TimBenchError, VideoFeatures
from .common.augment import copy_rng, rand_augment_clip, video_key, videomae_policy
from .common.backbone import (Timing, batches, check_state_dict, grid_clips, read_state_dict,
                                           resolve_device, resolve_dtype, run_batched)
from .common.media import center_crop, iter_clips, resize_short_side

#: modeling_finetune.vit_large_patch16_224 with feature_extraction.py's arguments, as a VideoMAEConfig.
VIT_LARGE = dict(image_size=224, patch_size=16, num_channels=3, num_frames=16, tubelet_size=2, hidden_size=1024,
                 num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, hidden_act="gelu",
                 qkv_bias=True, layer_norm_eps=1e-6, use_mean_pooling=True)
#: Keys of the official checkpoint that features do not use (the classification heads), dropped on conversion.
HEAD_PREFIXES = ("verb_head.", "noun_head.", "head.")
#: official block key -> transformers layer key (the qkv weight is split separately).
BLOCK_KEYS = {"norm1": "layernorm_before", "norm2": "layernorm_after", "attn.proj": "attention.output.dense",
              "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}

TRANSFORMERS_FIX = 'install transformers (pip install transformers, or the extract extra: pip install -e ".[extract]")'


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise TimBenchError(f"VideoMAEVideo needs transformers, which is not installed; {TRANSFORMERS_FIX}.") from None
    return transformers


class VideoMAEFeatures(nn.Module):
    """[B, 3, T, H, W] clips -> [B, hidden]: VideoMAEModel's tokens averaged, then ``fc_norm`` when there is one."""

    def __init__(self, videomae: nn.Module, fc_norm: nn.Module | None) -> None:
        super().__init__()
        self.videomae = videomae
        self.fc_norm = fc_norm

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        tokens = self.videomae(pixel_values=clips.permute(0, 2, 1, 3, 4)).last_hidden_state
        pooled = tokens.mean(1)
        return self.fc_norm(pooled) if self.fc_norm is not None else pooled


def convert_official(state: Mapping[str, Any], target_keys: Sequence[str]) -> dict[str, Any]:
    """TIM/VideoMAE (timm-layout) state dict -> VideoMAEFeatures keys; heads dropped, unknown keys refused.

    ``target_keys`` are the model's own keys, which say whether this transformers version names the q/v
    biases ``query.bias``/``value.bias`` (v5) or ``q_bias``/``v_bias`` (v4).
    """
    split_bias = any(k.endswith("attention.attention.q_bias") for k in target_keys)
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(HEAD_PREFIXES):
            continue
        if key.startswith("patch_embed.proj."):
            out["videomae.embeddings.patch_embeddings.projection." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("fc_norm."):
            out[key] = value
        elif key.startswith("blocks."):
            _, index, rest = key.split(".", 2)
            layer = f"videomae.encoder.layer.{index}."
            attention = layer + "attention.attention."
            if rest == "attn.qkv.weight":
                for name, part in zip(("query", "key", "value"), torch.chunk(value, 3, 0)):
                    out[f"{attention}{name}.weight"] = part
            elif rest in ("attn.q_bias", "attn.v_bias"):
                name = rest.split(".")[1]
                v5_name = {"q_bias": "query.bias", "v_bias": "value.bias"}[name]
                out[attention + (name if split_bias else v5_name)] = value
            else:
                module, param = rest.rsplit(".", 1)
                if module not in BLOCK_KEYS:
                    raise DataError(f"VideoMAE checkpoint key {key} is not part of the official layout "
                                    f"(manifests/videomae_epic.tsv).")
                out[f"{layer}{BLOCK_KEYS[module]}.{param}"] = value
        else:
            raise DataError(f"VideoMAE checkpoint key {key} is not part of the official layout "
                            f"(manifests/videomae_epic.tsv); is this a VideoMAE fine-tuned checkpoint?")
    return out


def build_official(config: Mapping[str, Any] | None = None) -> VideoMAEFeatures:
    """VideoMAEModel (+ fc_norm) shaped like the official ViT-L, or like ``config`` (random weights)."""
    tf = _transformers()
    cfg = tf.VideoMAEConfig(**{**VIT_LARGE, **(config or {})})
    return VideoMAEFeatures(tf.VideoMAEModel(cfg), nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps))


def from_pretrained(source: str) -> VideoMAEFeatures:
    """A transformers VideoMAE from a folder or hub id; a video-classification model lends its fc_norm."""
    tf = _transformers()
    try:
        cfg = tf.VideoMAEConfig.from_pretrained(source)
        if "VideoMAEForVideoClassification" in (cfg.architectures or []):
            clf = tf.VideoMAEForVideoClassification.from_pretrained(source)
            return VideoMAEFeatures(clf.videomae, clf.fc_norm)
        return VideoMAEFeatures(tf.VideoMAEModel.from_pretrained(source), None)
    except OSError as exc:
        raise DataError(f"VideoMAE weights {source!r} are neither a checkpoint file, a transformers folder nor a "
                        f"reachable hub id ({exc}).") from None


def videomae_frame_indices(start_frame: int, stop_frame: int, num_segment: int, video_frames: int) -> np.ndarray:
    """load_frame's indices, 0-based: ``start + i * (n // num_segment) + (n // num_segment) // 2``."""
    step = (stop_frame - start_frame) // num_segment
    return np.minimum(start_frame + np.arange(num_segment) * step + step // 2, video_frames - 1)


@EXTRACTORS.register_module()
class VideoMAEVideo:
    """Extractor: VideoMAE features per interval of TIM's feature grid ([T, num_copies, hidden])."""

    stream = "visual"

    def __init__(self, weights: str, config: dict | None = None, num_frames: int = 16, crop: int = 224,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 window: float = 1.0, hop: float = 0.2, include_end: bool = False, source_height: int | None = None,
                 num_copies: int = 1, seed: int = 0, batch_size: int = 8, device: str = "auto",
                 dtype: str = "auto") -> None:
        if not isinstance(num_copies, int) or num_copies < 1:
            raise TimBenchError(f"VideoMAEVideo num_copies must be a whole number >= 1 (copy 0 plain, the others "
                                f"RandAugment); got {num_copies!r}.")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if weights == "random" or Path(weights).is_file():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.model = build_official(config)
            if weights != "random":
                own = self.model.state_dict()
                raw = read_state_dict(weights, nested=("model", "module"), allow=(argparse.Namespace,))
                state = convert_official(raw, list(own))
                check_state_dict(state, own, f"VideoMAE checkpoint {weights}")
                self.model.load_state_dict(state, strict=True)
        else:
            self.model = from_pretrained(weights)
        self.model.eval().to(self.device, self.dtype)
        model_cfg = self.model.videomae.config
        if model_cfg.num_frames != num_frames or model_cfg.image_size != crop:
            raise TimBenchError(f"The VideoMAE model takes {model_cfg.num_frames} frames of {model_cfg.image_size} px "
                                f"but the extractor samples {num_frames} of {crop}; set num_frames and crop to match.")
        self.dim = model_cfg.hidden_size
        self.num_frames, self.crop, self.source_height = num_frames, crop, source_height
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)
        self.window, self.hop, self.include_end = window, hop, include_end
        self.num_copies, self.seed, self.policy = num_copies, seed, videomae_policy()
        self.batch_size = batch_size
        self.timing = Timing()

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        """Shorter side to ``crop`` (int rounding, video_transforms.Resize) then the centre crop (round offset)."""
        return center_crop(resize_short_side(frame, self.crop, "floor"), self.crop, "round")

    def preprocess_augmented(self, frame: np.ndarray) -> np.ndarray:
        """``preprocess`` of an augmented frame: resize_clip's PIL branch (``img.resize(size, BILINEAR)``), then the
        same centre crop."""
        from PIL import Image
        h, w = frame.shape[:2]
        if min(h, w) != self.crop:
            long_side = int(self.crop * max(h, w) / min(h, w))  # get_resize_sizes
            size = (self.crop, long_side) if w < h else (long_side, self.crop)  # PIL's (width, height)
            frame = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))
        return center_crop(frame, self.crop, "round")

    def inputs(self, media: Path, clips: list[np.ndarray]) -> Iterator[torch.Tensor]:
        """Each clip's ``num_copies`` inputs [3, num_frames, crop, crop] (copy 0 plain, then the RandAugment copies,
        seeded per video and copy), normalised (ClipToTensor + Normalize), decoded lazily."""
        streams = [copy_rng(self.seed, video_key(media), c) for c in range(self.num_copies)]
        plain_only = self.num_copies == 1  # then each decoded frame is preprocessed once, not once per clip
        for _, raw in iter_clips(media, clips, self.preprocess if plain_only else None, self.source_height):
            for copy in range(self.num_copies):
                if plain_only:
                    clip = raw
                elif copy == 0:
                    clip = np.stack([self.preprocess(f) for f in raw])
                else:
                    frames = rand_augment_clip(raw, self.policy, streams[copy].getrandbits(32))
                    clip = np.stack([self.preprocess_augmented(f) for f in frames])
                x = (torch.from_numpy(clip).float() / 255.0 - self.mean) / self.std
                yield x.permute(3, 0, 1, 2)

    def frame_indices(self, start_frame: int, stop_frame: int, video_frames: int) -> np.ndarray:
        """One interval's 0-based frame numbers (the original's VideoMAE segment sampling)."""
        return videomae_frame_indices(start_frame, stop_frame, self.num_frames, video_frames)

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one video file: times ``[T, 2]`` of the grid, values ``[T, num_copies, hidden]``."""
        times, clips, self.timing = grid_clips(media, self.window, self.hop, self.include_end, self.frame_indices)
        values = run_batched(self.model, batches(self.inputs(media, clips), self.batch_size), self.device,
                             self.dtype, self.timing)
        return VideoFeatures(times=times, values=values.reshape(len(times), self.num_copies, -1))
