"""What every backbone extractor plugin shares: devices, batched runs, official checkpoints and their manifests.

The extractor interface itself is the contract's ``FeatureExtractor`` Protocol. A backbone extractor also
keeps ``extractor.timing`` (a ``Timing``; optional for others): the seconds its last ``extract`` spent
decoding and in the model, and the frames it read, which the engine's progress bar and
``bench/extractors.py`` report. It streams: clips are decoded, batched and embedded a batch at a time
(``run_batched``), so a long video never sits decoded in memory.

Official checkpoints are read by ``read_state_dict`` (the contract's trust gate: ``weights_only``) and checked
against the key -> shape manifest kept beside the plugin (``read_manifest``), so a checkpoint of the
wrong model is refused with the keys that differ instead of loading half its weights.
"""
from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tim_bench_registry import DataError, TimBenchError, load_checkpoint

if TYPE_CHECKING:
    from torch import nn


@dataclass
class Timing:
    """Where one ``extract`` call spent its time: decoding media, running the model; and the frames it read."""

    decode_s: float = 0.0
    model_s: float = 0.0
    frames: int = 0


def grid_clips(media: Path, window: float, hop: float, include_end: bool,
               sample: Callable[[int, int, int], np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], Timing]:
    """A video's feature grid, times ``[T, 2]``; each interval's 0-based frame numbers, chosen by
    ``sample(start_frame, stop_frame, video_frames)``; and a fresh ``Timing`` holding the probe's time and
    the count of distinct frames the clips read."""
    from .media import interval_frames, interval_grid, video_info
    tic = time.perf_counter()
    info = video_info(media)
    times = interval_grid(info.duration, window, hop, include_end)
    frames = interval_frames(info.duration, window, hop, info.fps, include_end)
    clips = [sample(int(a), int(b), info.frames) for a, b in frames]
    timing = Timing(decode_s=time.perf_counter() - tic, frames=len(set(np.concatenate(clips).tolist())) if clips else 0)
    return times, clips, timing


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is present, else ``"cpu"``; any other value is kept."""
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TimBenchError(f"device={device!r} but torch sees no CUDA GPU; use device='auto' or 'cpu'.")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """``"auto"`` -> bfloat16 on a GPU, float32 on the CPU; ``"float32"``/``"bfloat16"``/``"float16"`` as named."""
    import torch
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in ("float32", "bfloat16", "float16"):
        raise TimBenchError(f"dtype must be 'auto', 'float32', 'bfloat16' or 'float16'; got {dtype!r}.")
    return getattr(torch, dtype)


def batches(items: Iterable[Any], batch_size: int) -> Iterator[Any]:
    """Stack consecutive tensors of ``items`` into batches of ``batch_size`` (the last may be smaller)."""
    import torch
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == batch_size:
            yield torch.stack(chunk)
            chunk = []
    if chunk:
        yield torch.stack(chunk)


def run_batched(model: Any, inputs: Iterable[Any], device: str, dtype: Any, timing: Timing) -> np.ndarray:
    """``model(batch)`` for each CPU float batch of ``inputs`` (decoded lazily), concatenated as float32 numpy.

    Time spent waiting for the next batch counts as decoding, the forward pass (synchronised on a GPU)
    as model time. The model must already be on ``device`` in ``dtype`` (``resolve_dtype``).
    """
    import torch
    out, source = [], iter(inputs)
    with torch.inference_mode():
        while True:
            tic = time.perf_counter()
            batch = next(source, None)
            timing.decode_s += time.perf_counter() - tic
            if batch is None:
                break
            tic = time.perf_counter()
            y = model(batch.to(device=device, dtype=dtype, non_blocking=True)).float()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            out.append(y.cpu())
            timing.model_s += time.perf_counter() - tic
    if not out:
        raise DataError("The video produced no clip to embed.")
    return torch.cat(out).numpy()


#: How an extractor's user trusts a checkpoint that pickles Python objects: extractors read weights only.
TRUST_BY_RESAVING = ("load it yourself with torch.load(path, weights_only=False), torch.save its state dict alone and "
                     "point the extractor's checkpoint at that file")


def read_state_dict(path: str | Path, nested: Iterable[str] = (), allow: Iterable[type] = ()) -> dict[str, Any]:
    """The state dict in a checkpoint file, read through the contract's trust gate (``weights_only``); ``nested``
    keys are unwrapped in turn when present (e.g. ``("model_state",)`` for SlowFast's ``.pyth``, ``("model",
    "module")`` for VideoMAE).

    ``allow`` lists the few plain classes a known checkpoint format pickles beside its tensors (VideoMAE's
    ``save_model`` stores its ``argparse.Namespace``); nothing else is unpickled.
    """
    state: Any = load_checkpoint(path, how_to_trust=TRUST_BY_RESAVING, allow=allow)
    for key in nested:
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise DataError(f"Checkpoint {path} holds a {type(state).__name__}, not a state dict.")
    return dict(state)


def read_manifest(path: str | Path) -> dict[str, tuple[int, ...]]:
    """key -> shape of a manifest TSV (columns ``key``, ``shape`` like ``1024x512`` or ``-`` for a scalar)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {r["key"]: tuple(int(s) for s in r["shape"].split("x")) if r["shape"] != "-" else () for r in rows}


def shape_mismatches(expected: Mapping[str, tuple[int, ...]], actual: Mapping[str, Any]) -> list[str]:
    """Sentences for each missing, unexpected or wrongly shaped key of ``actual`` (tensors or shapes)."""
    def shape(v: Any) -> tuple[int, ...]:
        return tuple(v.shape) if hasattr(v, "shape") else tuple(v)

    problems = [f"missing {k}" for k in expected if k not in actual]
    problems += [f"unexpected {k}" for k in actual if k not in expected]
    problems += [f"{k}: {shape(actual[k])} instead of {expected[k]}" for k in expected
                 if k in actual and shape(actual[k]) != expected[k]]
    return problems


def check_state_dict(state: Mapping[str, Any], model_state: Mapping[str, Any], source: str) -> None:
    """Refuse a state dict whose keys or shapes differ from the model's, naming the first differences."""
    problems = shape_mismatches({k: tuple(v.shape) for k, v in model_state.items()}, state)
    if problems:
        raise DataError(f"{source} does not fit the model ({len(problems)} differences: {'; '.join(problems[:6])}"
                        f"{' ...' if len(problems) > 6 else ''}); it is a checkpoint of another model or variant.")


def vgg_conv_stack(widths: Iterable[int | str], in_channels: int) -> nn.Sequential:
    """VGG's convolution stack as torchvision and torchvggish build it (``make_layers``, no batch norm): Conv3x3 +
    ReLU per width, a 2x2 MaxPool per "M"; its indices are the official checkpoints' ``features.N`` keys."""
    from torch import nn
    layers: list[nn.Module] = []
    channels = in_channels
    for v in widths:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(v), 3, padding=1), nn.ReLU(True)]
            channels = int(v)
    return nn.Sequential(*layers)
