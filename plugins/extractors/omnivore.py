"""Omnivore Swin-B video features (1024-d), as TIM's Omnivore extractor makes them, in plain torch.

The model is the Video Swin Transformer trunk of the official Omnivore code
(facebookresearch/omnivore ``omnivore/models/swin_transformer.py``, copied into TIM as
``feature_extractors/omnivore/omnivore/models/swin_transformer.py``), written again here with the
same module names, so the official checkpoint (``{"trunk": ..., "heads": ...}``) loads strictly:
``manifests/omnivore_swinB_epic.tsv`` and ``manifests/omnivore_swinB.tsv`` list its keys and shapes.
The feature is the trunk's output, the final LayerNorm averaged over time and space (TIM's
``video_model_builder.py`` replaces the heads by Identity).

Sampling and preprocessing follow ``feature_extractors/omnivore/omnivore/datasets/frame_loader.py``
and ``epickitchens.py``/``ave.py``: per interval, ``num_frames`` frames "like omnivore" (segment
midpoints over ``stop_frame - start_frame``), frames bilinearly scaled as the original's dataset class
scales them (``scale_by``: "short_side", the shorter side to ``crop``, as ``ave.py`` and ``perception.py``;
"height", by ``crop / H``, as ``epickitchens.py``, which differs on portrait frames), cv2 rounding,
ImageNet mean/std, centre crop (ceil offset). With ``num_copies`` A > 1, copies 1..A-1 of each
interval get ``rand-m15-mstd0.5-inc1`` RandAugment on the decoded frames first, one draw per clip (the datasets'
``USE_RAND_AUGMENT`` branch; ``common.augment`` documents the recipe and its recorded differences).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tim_bench_registry import EXTRACTORS, TimBenchError, VideoFeatures
from .common.augment import copy_rng, omnivore_policy, rand_augment_clip, video_key
from .common.backbone import (Timing, batches, check_state_dict, grid_clips, read_state_dict,
                                           resolve_device, resolve_dtype, run_batched)
from .common.media import center_crop, iter_clips, resize_height, resize_short_side

#: ``scale_by`` values: how the original's dataset classes scale a frame before the centre crop ("height": crop / H,
#: epickitchens.py; "short_side": crop / min(H, W), ave.py and perception.py since TIM commit b739278)
SCALINGS = ("short_side", "height")
#: omnivore_model.py's two Swin-B builders TIM uses (omnivore_swinB_epic: EPIC-KITCHENS; omnivore_swinB: AVE,
#: Perception Test), with the heads their checkpoints carry.
VARIANTS: dict[str, dict[str, Any]] = {
    "epic": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=(16, 7, 7),
                 patch_size=(2, 4, 4), depth_mode=None, heads="epic"),
    "base": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=(16, 7, 7),
                 patch_size=(2, 4, 4), depth_mode="summed_rgb_d_tokens", heads="multimodal"),
}


def window_partition(x: torch.Tensor, ws: Sequence[int]) -> torch.Tensor:
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws[0] * ws[1] * ws[2], c)


def window_reverse(windows: torch.Tensor, ws: Sequence[int], b: int, d: int, h: int, w: int) -> torch.Tensor:
    x = windows.view(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def effective_window(size: Sequence[int], window: Sequence[int], shift: Sequence[int]) -> tuple[tuple, tuple]:
    """The original's get_window_size: a window no larger than the input, and no shift along such an axis."""
    ws, ss = list(window), list(shift)
    for i, n in enumerate(size):
        if n <= window[i]:
            ws[i], ss[i] = n, 0
    return tuple(ws), tuple(ss)


@lru_cache
def shift_mask(d: int, h: int, w: int, ws: tuple, ss: tuple, device: torch.device) -> torch.Tensor:
    """The original's compute_mask: -100 between tokens of one shifted window that come from different regions."""
    img = torch.zeros((1, d, h, w, 1), device=device)
    cnt = 0
    for ds in (slice(-ws[0]), slice(-ws[0], -ss[0]), slice(-ss[0], None)):
        for hs in (slice(-ws[1]), slice(-ws[1], -ss[1]), slice(-ss[1], None)):
            for wsl in (slice(-ws[2]), slice(-ws[2], -ss[2]), slice(-ss[2], None)):
                img[:, ds, hs, wsl, :] = cnt
                cnt += 1
    windows = window_partition(img, ws).squeeze(-1)
    mask = windows.unsqueeze(1) - windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside 3-d windows with a learned relative position bias."""

    def __init__(self, dim: int, window: Sequence[int], heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1), heads))
        coords = torch.stack(torch.meshgrid(*(torch.arange(n) for n in window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        for i in range(3):
            rel[:, :, i] += window[i] - 1
        rel[:, :, 0] *= (2 * window[1] - 1) * (2 * window[2] - 1)
        rel[:, :, 1] *= 2 * window[2] - 1
        self.register_buffer("relative_position_index", rel.sum(-1))  # in the official state dict
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index[:n, :n].reshape(-1)]
        attn = attn + bias.reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0).to(attn.dtype))
            attn = attn.view(-1, self.heads, n, n)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class SwinTransformerBlock3D(nn.Module):
    def __init__(self, dim: int, heads: int, window: Sequence[int], shift: Sequence[int]) -> None:
        super().__init__()
        self.window, self.shift = tuple(window), tuple(shift)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def attend(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        x = self.norm1(x)
        pads = [(ws[i] - n % ws[i]) % ws[i] for i, n in enumerate((d, h, w))]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        _, dp, hp, wp, _ = x.shape
        shifted = any(s > 0 for s in ss)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in ss), dims=(1, 2, 3))
        windows = self.attn(window_partition(x, ws), mask if shifted else None)
        x = window_reverse(windows.view(-1, *ws, c), ws, b, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=ss, dims=(1, 2, 3))
        return x[:, :d, :h, :w, :].contiguous()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attend(x, mask)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:4]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, window: Sequence[int], downsample: bool) -> None:
        super().__init__()
        self.window, self.shift = tuple(window), tuple(i // 2 for i in window)
        self.blocks = nn.ModuleList(SwinTransformerBlock3D(dim, heads, window, (0, 0, 0) if i % 2 == 0 else self.shift)
                                    for i in range(depth))
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        x = x.permute(0, 2, 3, 4, 1)
        padded = tuple(int(np.ceil(n / ws[i])) * ws[i] for i, n in enumerate((d, h, w)))
        mask = shift_mask(*padded, ws, ss, x.device)
        for block in self.blocks:
            x = block(x, mask)
        if self.downsample is not None:
            x = self.downsample(x)
        return x.permute(0, 4, 1, 2, 3)


class PatchEmbed3D(nn.Module):
    def __init__(self, patch: Sequence[int], in_chans: int, dim: int) -> None:
        super().__init__()
        self.patch, self.dim = tuple(patch), dim
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, h, w = x.shape[2:]
        x = F.pad(x, (0, -w % self.patch[2], 0, -h % self.patch[1], 0, -d % self.patch[0]))
        x = self.proj(x)
        d, h, w = x.shape[2:]
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x.transpose(1, 2).view(-1, self.dim, d, h, w)


class SwinTransformer3D(nn.Module):
    """Omnivore's trunk: [B, 3, T, H, W] clips -> [B, 8 * embed_dim] (final LayerNorm, mean over T, H, W)."""

    def __init__(self, embed_dim: int, depths: Sequence[int], num_heads: Sequence[int], window_size: Sequence[int],
                 patch_size: Sequence[int], depth_mode: str | None) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed3D(patch_size, 3, embed_dim)
        if depth_mode == "summed_rgb_d_tokens":  # RGB-D inputs only; built so the checkpoint loads strictly
            self.depth_patch_embed = PatchEmbed3D(patch_size, 1, embed_dim)
        elif depth_mode is not None:
            raise TimBenchError(f"depth_mode {depth_mode!r} is not one of None, 'summed_rgb_d_tokens'.")
        self.layers = nn.ModuleList(BasicLayer(embed_dim * 2 ** i, depths[i], num_heads[i], window_size,
                                               downsample=i < len(depths) - 1) for i in range(len(depths)))
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x.contiguous())
        return self.norm(x.permute(0, 2, 3, 4, 1)).mean((1, 2, 3))


def omnivore_heads(kind: str, dim: int) -> nn.Module:
    """The heads the official checkpoints carry (unused for features; kept so the checkpoint loads strictly)."""
    if kind == "epic":  # omnivore_swinB_epic: Dropout + Linear to EPIC's 3806 actions
        return nn.Sequential(nn.Dropout(0.5), nn.Linear(dim, 3806))
    return nn.ModuleDict({"image": nn.Linear(dim, 1000), "rgbd": nn.Linear(dim, 19),
                          "video": nn.Sequential(nn.Dropout(0.5), nn.Linear(dim, 400))})


class Omnivore(nn.Module):
    """Trunk + heads with the official checkpoint's two top-level keys, ``trunk`` and ``heads``."""

    def __init__(self, heads: str, **trunk: Any) -> None:
        super().__init__()
        self.trunk = SwinTransformer3D(**trunk)
        self.heads = omnivore_heads(heads, self.trunk.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)


def omnivore_frame_indices(start_frame: int, stop_frame: int, num_frames: int, video_frames: int) -> np.ndarray:
    """frame_loader.py's "like omnivore" sampling: segment midpoints, clamped to JPEGs 1..N; returned 0-based."""
    seg = float(stop_frame - start_frame - 1) / num_frames
    seq = [(int(np.round(seg * i)) + int(np.round(seg * (i + 1)))) // 2 for i in range(num_frames)]
    return np.clip(start_frame + np.array(seq), 1, video_frames) - 1


@EXTRACTORS.register_module()
class OmnivoreVideo:
    """Extractor: one Omnivore Swin-B feature (1024-d) per interval of TIM's feature grid."""

    stream = "visual"

    def __init__(self, checkpoint: str, variant: str = "epic", num_frames: int = 32, crop: int = 224,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 window: float = 1.0, hop: float = 0.2, include_end: bool = False, source_height: int | None = None,
                 num_copies: int = 1, seed: int = 0, batch_size: int = 4, device: str = "auto", dtype: str = "auto",
                 model: dict | None = None, scale_by: str = "short_side") -> None:
        if variant not in VARIANTS:
            raise TimBenchError(f"OmnivoreVideo variant must be one of {sorted(VARIANTS)}; got {variant!r}.")
        if scale_by not in SCALINGS:
            raise TimBenchError(f"OmnivoreVideo scale_by must be one of {SCALINGS} ('height' for EPIC-KITCHENS, "
                                f"'short_side' for AVE and Perception Test, as the original); got {scale_by!r}.")
        if not isinstance(num_copies, int) or num_copies < 1:
            raise TimBenchError(f"OmnivoreVideo num_copies must be a whole number >= 1 (copy 0 plain, the others "
                                f"RandAugment); got {num_copies!r}.")
        arch = {**VARIANTS[variant], **(model or {})}
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.model = Omnivore(**arch).eval()
        if checkpoint != "random":
            state = read_state_dict(checkpoint)
            flat = {f"{part}.{k}": v for part in ("trunk", "heads") for k, v in state.get(part, {}).items()}
            check_state_dict(flat, self.model.state_dict(), f"Omnivore checkpoint {checkpoint}")
            self.model.load_state_dict(flat, strict=True)
        self.model.to(self.device, self.dtype)
        self.dim = self.model.trunk.num_features
        self.num_frames, self.crop, self.source_height, self.scale_by = num_frames, crop, source_height, scale_by
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)
        self.window, self.hop, self.include_end = window, hop, include_end
        self.num_copies, self.seed, self.policy = num_copies, seed, omnivore_policy(mean)
        self.batch_size = batch_size
        self.timing = Timing()

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        """Scaled as ``scale_by`` says (cv2.resize rounding), then the centre crop (uniform_crop's ceil offset)."""
        scaled = resize_height(frame, self.crop) if self.scale_by == "height" else \
            resize_short_side(frame, self.crop, "round")
        return center_crop(scaled, self.crop, "ceil")

    def frame_indices(self, start_frame: int, stop_frame: int, video_frames: int) -> np.ndarray:
        """One interval's 0-based frame numbers (the original's Omnivore sampling)."""
        return omnivore_frame_indices(start_frame, stop_frame, self.num_frames, video_frames)

    def inputs(self, media: Path, clips: list[np.ndarray]) -> Iterator[torch.Tensor]:
        """Each clip's ``num_copies`` model inputs [3, num_frames, crop, crop] (copy 0 plain, then the RandAugment
        copies, each seeded per video and copy), normalised, decoded lazily in order."""
        streams = [copy_rng(self.seed, video_key(media), c) for c in range(self.num_copies)]
        plain_only = self.num_copies == 1  # then each decoded frame is preprocessed once, not once per clip
        for _, raw in iter_clips(media, clips, self.preprocess if plain_only else None, self.source_height):
            for copy in range(self.num_copies):
                if plain_only:
                    clip = raw
                else:  # epickitchens.py: seed = random.randint(0, 100000000) per augmented clip
                    frames = raw if copy == 0 else rand_augment_clip(raw, self.policy,
                                                                     streams[copy].randint(0, 100000000))
                    clip = np.stack([self.preprocess(f) for f in frames])
                x = (torch.from_numpy(clip).float() / 255.0 - self.mean) / self.std
                yield x.permute(3, 0, 1, 2)

    def extract(self, media: Path) -> VideoFeatures:
        """Features of one video file: times ``[T, 2]`` of the grid, values ``[T, num_copies, 1024]``."""
        times, clips, self.timing = grid_clips(media, self.window, self.hop, self.include_end, self.frame_indices)
        values = run_batched(self.model, batches(self.inputs(media, clips), self.batch_size), self.device,
                             self.dtype, self.timing)
        return VideoFeatures(times=times, values=values.reshape(len(times), self.num_copies, -1))
