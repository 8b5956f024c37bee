"""Augmented feature copies as the original TIM extractors make them: RandAugment on video clips, shifted clips and
SpecAugment on audio. Shared by the extractor plugins (which must not import each other).

The original stores ``TEST.NUM_FEATURES`` (``num_aug`` for VideoMAE) copies per interval for the training split;
copy 0 is the plain clip, the others augmented. Paths below are in JacobChalk/TIM ``feature_extractors/``.

* **Omnivore** (``omnivore/omnivore/datasets/epickitchens.py``, ``ave.py``, ``perception.py``, all alike):
  ``rand-m15-mstd0.5-inc1`` from TIM's modified timm copy ``omnivore/omnivore/datasets/autoaugment.py``: 2 ops
  of the 15 "increasing" ops, chosen with replacement, each applied with probability 1 (``rand_augment_ops``
  there sets ``prob=1``, not timm's 0.5), magnitude ``gauss(15, 0.5)`` clipped to [0, 10], random bilinear or
  bicubic resampling, fill = the ImageNet mean in 0-255 (``img_mean``). A clip draws one ``seed =
  random.randint(0, 100000000)``; every op call re-seeds ``random`` and ``numpy.random`` with it, so magnitude,
  signs and resampling are the same for every frame and every op of the clip. The frames are cv2's BGR arrays
  (``utils.retry_load_images``), so the ops see BGR pixels; they run on the decoded frames, before the resize.
* **VideoMAE** (``VideoMAE/feature_extraction.py`` ``FeatureExtractionDataset``; ``video_transforms.py``
  ``create_random_augment``; ``rand_augment.py``): ``rand-m7-n4-mstd0.5-inc1`` (not m15): 4 ops with replacement,
  each with probability 0.5, magnitude ``gauss(7, 0.5)``, bicubic resampling, fill (128, 128, 128), one draw per
  op for the whole clip (``AugmentOp.__call__`` maps the op over the frame list); RGB frames, before the resize.
* **Auditory SlowFast** (``auditory_slowfast/slowfast/datasets/epicsounds.py``, ``ave.py``, ``perception.py``;
  ``audio_loader_epic.py`` ``get_start_end_idx``; ``spec_augment.py``): copy ``k`` of ``n`` starts
  ``linspace(0, delta, n)[k]`` samples into the interval (``delta`` = interval samples minus clip samples);
  copies ``k > 0`` then get ``combined_transforms``: time warp (``sparse_image_warp.py``, its arithmetic and quirks
  kept: ``spec_time_warp``), 2 frequency masks (``F=27``), 2 time masks (``T=25``), each filled with the mean.

Recorded differences (docs/feature-extractors.md says them too):

* The random streams are not the original's (its seeds chain through Python's and NumPy's global state and the
  DataLoader workers); here each video and copy has its own seeded stream (``copy_rng``), so a rerun gives the
  same features. The distributions of ops, magnitudes and masks are the original's.
* In the Omnivore original the first frame of a clip takes its two ops from the NumPy state the previous clip's
  seeding left (``RandAugment.__call__`` draws the ops before the first ``AugmentOp`` re-seeds); every later frame
  takes them from the clip's own seed. Here every frame takes them from the clip's seed (one draw per clip).
* torch's global generator, which the time warp's ``torch.randn`` uses, is replaced by a generator seeded from the
  copy's stream.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tim_bench_registry import TimBenchError

if TYPE_CHECKING:  # imported where used: torch and Pillow are not needed to import the registry
    import torch
    from PIL import Image

#: timm's _MAX_LEVEL: magnitudes are clipped to [0, 10] and scaled by it
MAX_LEVEL = 10.0
#: _RAND_INCREASING_TRANSFORMS of both copies of timm's auto_augment.py (the ``inc1`` op list), in order
RAND_INCREASING_OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
                       "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
                       "SharpnessIncreasing", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
#: the ops that call _check_args_tf (and so draw a resampling filter when it is random)
GEOMETRIC_OPS = ("Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")


@dataclass(frozen=True)
class RandAugmentPolicy:
    """One RandAugment recipe: its config string's numbers plus the settings its caller passes (see module doc)."""

    magnitude: float
    magnitude_std: float
    num_layers: int
    prob: float
    interpolation: str          # "random" (bilinear or bicubic per draw), "bilinear" or "bicubic"
    fill: tuple[int, int, int]  # fillcolor of the geometric ops, in the channel order the ops see
    channel_order: str          # "rgb" or "bgr": the pixel order the original's ops saw
    reseed_each_op: bool        # TIM's omnivore autoaugment.py re-seeds before every op; timm/VideoMAE do not

    @classmethod
    def parse(cls, desc: str, **settings: object) -> RandAugmentPolicy:
        """``rand-m15-mstd0.5-inc1``-style strings as timm's rand_augment_transform reads them (only ``inc1``)."""
        parts = desc.split("-")
        if parts[0] != "rand":
            raise TimBenchError(f"RandAugment config {desc!r} must start with 'rand-'.")
        values = dict(magnitude=MAX_LEVEL, magnitude_std=0.0, num_layers=2)
        increasing = False
        for part in parts[1:]:
            key, val = (re.split(r"(\d.*)", part) + [""])[:2]
            if key == "m":
                values["magnitude"] = int(val)
            elif key == "n":
                values["num_layers"] = int(val)
            elif key == "mstd":
                values["magnitude_std"] = float(val)
            elif key == "inc":
                increasing = bool(val)  # timm: bool("0") is True too
            else:
                raise TimBenchError(f"RandAugment config {desc!r}: section {part!r} is not one of m, n, mstd, inc.")
        if not increasing:
            raise TimBenchError(f"RandAugment config {desc!r}: only the 'inc1' op list of the TIM extractors is "
                                f"implemented.")
        return cls(**values, **settings)  # type: ignore[arg-type]


def imagenet_fill(mean: Sequence[float]) -> tuple[int, int, int]:
    """``img_mean`` of the Omnivore datasets: ``min(255, round(255 * m))`` per channel."""
    return tuple(min(255, round(255 * m)) for m in mean)  # type: ignore[return-value]


def omnivore_policy(mean: Sequence[float]) -> RandAugmentPolicy:
    """``rand-m15-mstd0.5-inc1`` as TIM's Omnivore datasets call it (epickitchens.py ``__getitem__``)."""
    return RandAugmentPolicy.parse("rand-m15-mstd0.5-inc1", prob=1.0, interpolation="random", fill=imagenet_fill(mean),
                                   channel_order="bgr", reseed_each_op=True)


def videomae_policy() -> RandAugmentPolicy:
    """``rand-m7-n4-mstd0.5-inc1`` as VideoMAE/feature_extraction.py calls it (bicubic; no img_mean: 128 fill)."""
    return RandAugmentPolicy.parse("rand-m7-n4-mstd0.5-inc1", prob=0.5, interpolation="bicubic", fill=(128, 128, 128),
                                   channel_order="rgb", reseed_each_op=False)


def video_key(media: Path) -> str:
    """The name a video's augmentation seeds derive from: its folder and file name (not where data_root lies)."""
    media = Path(media)
    return f"{media.parent.name}/{media.name}"


def copy_rng(seed: int, video: str, copy: int) -> random.Random:
    """The random stream of one augmented copy of one video: the same for the same (seed, video, copy)."""
    digest = hashlib.sha256(f"{seed}/{video}/{copy}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def _negate(value: float, rng: random.Random) -> float:
    """timm's _randomly_negate: ``-v if random() > 0.5 else v``."""
    return -value if rng.random() > 0.5 else value


def level_args(name: str, magnitude: float, rng: random.Random) -> tuple:
    """The op's arguments at ``magnitude`` (timm's LEVEL_TO_ARG for the increasing ops), drawing signs from ``rng``."""
    m = magnitude / MAX_LEVEL
    if name in ("AutoContrast", "Equalize", "Invert"):
        return ()
    if name == "Rotate":
        return (_negate(m * 30.0, rng),)
    if name == "PosterizeIncreasing":
        return (4 - int(m * 4),)
    if name == "SolarizeIncreasing":
        return (256 - int(m * 256),)
    if name == "SolarizeAdd":
        return (int(m * 110),)
    if name.endswith("Increasing"):  # Color, Contrast, Brightness, Sharpness: 1 +- 0.9 m
        return (1.0 + _negate(m * 0.9, rng),)
    if name in ("ShearX", "ShearY"):
        return (_negate(m * 0.3, rng),)
    if name in ("TranslateXRel", "TranslateYRel"):
        return (_negate(m * 0.45, rng),)
    raise TimBenchError(f"RandAugment op {name!r} is not one of {RAND_INCREASING_OPS}.")


@dataclass(frozen=True)
class DrawnOp:
    """One op as drawn for a clip: its name, arguments and resampling filter ("bilinear"/"bicubic")."""

    name: str
    args: tuple
    resample: str = "bilinear"


def _draw_op(name: str, policy: RandAugmentPolicy, rng: random.Random) -> DrawnOp | None:
    """AugmentOp.__call__'s draws, in its order: the skip test, the magnitude, the signs, the resampling filter."""
    if policy.prob < 1.0 and rng.random() > policy.prob:
        return None
    magnitude = policy.magnitude
    if policy.magnitude_std > 0:
        magnitude = rng.gauss(magnitude, policy.magnitude_std)
    magnitude = min(MAX_LEVEL, max(0.0, magnitude))
    args = level_args(name, magnitude, rng)
    resample = policy.interpolation
    if name in GEOMETRIC_OPS and resample == "random":
        resample = rng.choice(("bilinear", "bicubic"))  # _RANDOM_INTERPOLATION = (BILINEAR, BICUBIC)
    return DrawnOp(name, args, "bilinear" if resample == "random" else resample)


def draw_clip_ops(policy: RandAugmentPolicy, seed: int) -> list[DrawnOp]:
    """The ops one clip gets from ``seed``: ``np.random.choice`` of ``num_layers`` op names with replacement (NumPy
    seeded with ``seed``), then each op's draws from Python's ``random`` seeded with ``seed`` (afresh per op when
    ``reseed_each_op``)."""
    names = np.random.RandomState(seed).choice(len(RAND_INCREASING_OPS), policy.num_layers, replace=True)
    rng = random.Random(seed)
    drawn = []
    for index in names:
        if policy.reseed_each_op:
            rng = random.Random(seed)
        op = _draw_op(RAND_INCREASING_OPS[int(index)], policy, rng)
        if op is not None:
            drawn.append(op)
    return drawn


def apply_op(img: Image.Image, op: DrawnOp, fill: tuple[int, int, int]) -> Image.Image:
    """One op on a PIL image, as timm's op functions call Pillow."""
    from PIL import Image, ImageEnhance, ImageOps
    resample = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}[op.resample]
    name, args = op.name, op.args

    def affine(matrix: tuple) -> Image.Image:
        return img.transform(img.size, Image.Transform.AFFINE, matrix, resample=resample, fillcolor=fill)

    if name == "AutoContrast":
        return ImageOps.autocontrast(img)
    if name == "Equalize":
        return ImageOps.equalize(img)
    if name == "Invert":
        return ImageOps.invert(img)
    if name == "Rotate":
        return img.rotate(args[0], resample=resample, fillcolor=fill)
    if name == "PosterizeIncreasing":  # ImageOps.posterize's LUT; Pillow >= 9 refuses the 0 bits it allowed then
        return img if args[0] >= 8 else img.point([i & ~(2 ** (8 - args[0]) - 1) for i in range(256)] * 3)
    if name == "SolarizeIncreasing":
        return ImageOps.solarize(img, args[0])
    if name == "SolarizeAdd":
        lut = [min(255, i + args[0]) if i < 128 else i for i in range(256)]
        return img.point(lut * 3)
    if name.endswith("Increasing"):
        enhancer = {"ColorIncreasing": ImageEnhance.Color, "ContrastIncreasing": ImageEnhance.Contrast,
                    "BrightnessIncreasing": ImageEnhance.Brightness, "SharpnessIncreasing": ImageEnhance.Sharpness}
        return enhancer[name](img).enhance(args[0])
    if name == "ShearX":
        return affine((1, args[0], 0, 0, 1, 0))
    if name == "ShearY":
        return affine((1, 0, 0, args[0], 1, 0))
    if name == "TranslateXRel":
        return affine((1, 0, args[0] * img.size[0], 0, 1, 0))
    if name == "TranslateYRel":
        return affine((1, 0, 0, 0, 1, args[0] * img.size[1]))
    raise TimBenchError(f"RandAugment op {name!r} is not one of {RAND_INCREASING_OPS}.")


def rand_augment_clip(frames: np.ndarray, policy: RandAugmentPolicy, seed: int) -> np.ndarray:
    """``[T, H, W, 3]`` uint8 RGB frames with the clip's ops (``draw_clip_ops``) applied to every frame, in the
    channel order the original's ops saw (BGR for Omnivore); returned RGB."""
    from PIL import Image
    ops = draw_clip_ops(policy, seed)
    if not ops:
        return frames
    out = []
    for frame in frames:
        pixels = np.ascontiguousarray(frame[..., ::-1] if policy.channel_order == "bgr" else frame)
        img = Image.fromarray(pixels, "RGB")
        for op in ops:
            img = apply_op(img, op, policy.fill)
        pixels = np.asarray(img)
        out.append(pixels[..., ::-1] if policy.channel_order == "bgr" else pixels)
    return np.ascontiguousarray(np.stack(out))


def shifted_start(interval_samples: int, clip_samples: int, copy: int, num_copies: int) -> float:
    """Where copy ``copy`` of ``num_copies`` starts in an interval (get_start_end_idx: ``linspace(0, delta, n)[k]``)."""
    delta = max(interval_samples - clip_samples, 0)
    return float(np.linspace(0, delta, num=num_copies)[copy])


def _mask(spec: torch.Tensor, axis: int, width: int, num_masks: int, rng: random.Random) -> torch.Tensor:
    """spec_augment.py's freq_mask/time_mask on ``[frames, mels]``: ``num_masks`` bands of ``axis`` set to the mean."""
    cloned = spec.clone()
    size = cloned.shape[axis]
    for _ in range(num_masks):
        f = rng.randrange(0, width)
        f_zero = rng.randrange(0, size - f)
        if f == 0:  # the original returns here, skipping any remaining mask
            return cloned
        mask_end = rng.randrange(f_zero, f_zero + f)
        band = cloned[:, f_zero:mask_end] if axis == 1 else cloned[f_zero:mask_end]
        band[...] = cloned.mean()
    return cloned


def _bilinear_clamped(image: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``image`` [H, W] sampled at float (rows, cols) as spec_augment's dense_image_warp does (TensorFlow's
    interpolate_bilinear): floors clamped to [0, size - 2], weights clamped to [0, 1], so outside points take the
    border values."""
    import torch
    corners, weights = [], []
    for coords, size in ((rows, image.shape[0]), (cols, image.shape[1])):
        floor = torch.clamp(torch.floor(coords), min=0.0, max=float(size - 2))
        weights.append(torch.clamp(coords - floor, 0.0, 1.0))
        corners.append(floor.long())
    (r0, c0), (a_row, a_col) = corners, weights
    top_left, top_right = image[r0, c0], image[r0, c0 + 1]
    bottom_left, bottom_right = image[r0 + 1, c0], image[r0 + 1, c0 + 1]
    top = a_col * (top_right - top_left) + top_left
    bottom = a_col * (bottom_right - bottom_left) + bottom_left
    return a_row * (bottom - top) + top


def spec_time_warp(spec: torch.Tensor, rng: random.Random, generator: torch.Generator, window: int = 5
                   ) -> torch.Tensor:
    """spec_augment.py's time_warp (W=5) on a ``[frames, mels]`` log-mel, re-implemented with the same arithmetic.

    What the original computes (``sparse_image_warp.py``, a port of TensorFlow's): one control point on the middle
    mel row, at the *value* of that row at a random frame taken as a time coordinate, moved by
    ``randrange(-W, W)`` frames; a polyharmonic spline (order 2) fitted to it, whose linear system has the zeros block
    replaced by ``torch.randn(3, 3) / 1e10`` (so the flow is a random affine field through the control point, not a
    local warp), evaluated with its cross_squared_distance_matrix (which sums the squared norms of *all* query points);
    then every pixel is sampled bilinearly at its position minus the flow, clamped at the borders. ``generator``
    stands in for torch's global generator, ``rng`` for Python's ``random``.
    """
    import torch
    image = spec.T.contiguous()  # the original's [mels, frames] (C F T without C)
    rows, frames = image.shape
    y = rows // 2
    point = image[y][rng.randrange(window, frames - window)]
    shift = rng.randrange(-window, window)
    source = torch.tensor([[y, point]])
    dest = torch.tensor([[y, point + shift]])
    flow_at_point = (dest - source).float()  # [1, 2]
    # solve_interpolation: [[phi(0), c], [c^T, noise]] [w; v] = [f; 0] with c = (row, frame, 1), phi(0) = 0 (order 2)
    c = torch.cat((dest, torch.ones(1, 1)), 1).float()  # [1, 3]
    noise = torch.randn((3, 3), generator=generator) / 1e10  # the original's stand-in for the zeros block
    lhs = torch.cat((torch.cat((torch.zeros(1, 1), c.T), 0), torch.cat((c, noise), 0)), 1)
    solution = torch.linalg.solve(lhs[None], torch.cat((flow_at_point, torch.zeros(3, 2)), 0)[None])[0]
    w, v = solution[:1], solution[1:]
    # apply_interpolation on the pixel grid (flattened row-major, (row, frame) coordinates)
    grid = torch.tensor(np.stack(np.meshgrid(np.linspace(0, rows - 1, rows), np.linspace(0, frames - 1, frames),
                                             indexing="ij"), -1).reshape(-1, 2)).float()
    squared = torch.sum(grid * grid) - 2 * (grid @ dest.float().T) + torch.sum(dest * dest)
    rbf = (0.5 * squared * torch.log(torch.max(squared, torch.tensor(1e-10)))) @ w
    flows = (rbf + torch.cat((grid, torch.ones_like(grid[:, :1])), 1) @ v).reshape(rows, frames, 2)
    # dense_image_warp: each pixel from (row - flow_row, frame - flow_frame)
    row_grid, frame_grid = torch.meshgrid(torch.arange(rows).float(), torch.arange(frames).float(), indexing="ij")
    warped = _bilinear_clamped(image, (row_grid - flows[..., 0]).reshape(-1), (frame_grid - flows[..., 1]).reshape(-1))
    return warped.reshape(rows, frames).T.contiguous()


def spec_augment(spec: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """combined_transforms of spec_augment.py on a ``[frames, mels]`` log-mel: the time warp (torch's noise from a
    generator seeded by ``rng``), 2 frequency masks (F=27), then 2 time masks (T=25)."""
    import torch
    generator = torch.Generator().manual_seed(rng.getrandbits(63))
    return _mask(_mask(spec_time_warp(spec, rng, generator), 1, 27, 2, rng), 0, 25, 2, rng)
