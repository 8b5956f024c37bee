"""Which numeric precision a run trains and evaluates in, chosen once from the config and the device.

The original TIM trains under ``torch.cuda.amp.autocast`` (fp16) with a ``GradScaler`` and feeds its
models fp32 features, at training and at evaluation. That is the default here: ``train_cfg.amp=True`` is
fp16 autocast + GradScaler on CUDA and fp32 on the CPU; ``train_cfg.feature_dtype="auto"`` stores features
in float32 on every device. bf16 autocast (``amp="bf16"``) and a bfloat16/float16 feature store are
explicit options; they round differently, so the run record's ``training_procedure`` names them and
leaderboard rows mark them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from tim_bench_registry import TimBenchError

#: ``train_cfg.feature_dtype`` values (besides "auto", which is float32: the original's features)
FEATURE_DTYPES = ("float32", "bfloat16", "float16")
ORIGINAL_FEATURE_DTYPE = "float32"


@dataclass(frozen=True)
class Precision:
    """Autocast dtype of the training step (None: fp32), whether a GradScaler scales the loss, and the dtype of
    the feature store that training, validation and test read."""

    autocast: torch.dtype | None
    grad_scaler: bool
    feature_dtype: str

    def describe(self) -> dict[str, object]:
        """The record's view: {"autocast": "float16" | "bfloat16" | "off", "grad_scaler", "feature_dtype"}."""
        return {"autocast": str(self.autocast).replace("torch.", "") if self.autocast else "off",
                "grad_scaler": self.grad_scaler, "feature_dtype": self.feature_dtype}


def choose_precision(device_type: str, amp: bool | str = True, feature_dtype: str = "auto",
                     bf16_supported: bool = True, device_name: str = "this GPU") -> Precision:
    """The precision a run on a ``device_type`` ("cuda" or "cpu") device uses for ``train_cfg.amp`` and
    ``train_cfg.feature_dtype``: amp=True is the original's fp16 + GradScaler on CUDA (fp32 on the CPU, where
    the original has no AMP), "bf16" is bf16 autocast without a scaler on any device, False is fp32."""
    if amp not in (True, False, "bf16"):
        raise TimBenchError(f"train_cfg.amp={amp!r} is not valid: use True (the original's fp16 + GradScaler on "
                            f"CUDA), 'bf16' or False.")
    store = store_dtype(feature_dtype)
    if amp == "bf16":
        if device_type == "cuda" and not bf16_supported:
            raise TimBenchError(f"train_cfg.amp='bf16' but {device_name} has no bf16 support; use train_cfg.amp=True "
                                f"(the original's fp16 with a grad scaler) or False.")
        return Precision(torch.bfloat16, False, store)
    if amp and device_type == "cuda":
        return Precision(torch.float16, True, store)
    return Precision(None, False, store)


def store_dtype(feature_dtype: str = "auto") -> str:
    """The feature store's dtype for ``train_cfg.feature_dtype`` ("auto": float32 on every device, the original's
    inputs at training and evaluation)."""
    if feature_dtype != "auto" and feature_dtype not in FEATURE_DTYPES:
        raise TimBenchError(f"train_cfg.feature_dtype={feature_dtype!r} is not valid: use 'auto' (float32, as the "
                            f"original) or one of {', '.join(map(repr, FEATURE_DTYPES))}.")
    return ORIGINAL_FEATURE_DTYPE if feature_dtype == "auto" else feature_dtype


def precision_for(device: torch.device, train_cfg: dict) -> Precision:
    """``choose_precision`` for this process's ``device`` and the config's ``train_cfg``."""
    cuda = device.type == "cuda"
    return choose_precision(device.type, train_cfg.get("amp", True), train_cfg.get("feature_dtype", "auto"),
                            bf16_supported=cuda and torch.cuda.is_bf16_supported(),
                            device_name=torch.cuda.get_device_name(device) if cuda else str(device))
