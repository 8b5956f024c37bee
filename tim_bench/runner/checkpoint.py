"""A run's checkpoints: written atomically (one file per distinct set of weights), kept by policy, checked
against the run that wrote them. Reading any checkpoint goes through ``tim_bench.safe_load``."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from tim_bench_registry import TimBenchError

from ..io import atomic_path, write_atomic

#: ``train_cfg.keep_checkpoints``: which checkpoints a run keeps once it ends (see ``prune_checkpoints``).
KEEP_CHOICES = ("all", "best", "last")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` atomically (a killed process never leaves a truncated checkpoint)."""
    return write_atomic(path, lambda tmp: torch.save(payload, tmp))


def save_checkpoint_as(paths: Sequence[Path], payload: dict[str, Any]) -> list[Path]:
    """Write ``payload`` once to ``paths[0]`` and give the other names the same file (hard links, each put in
    place atomically), so that one epoch's weights take disk space once however many selections chose it;
    a filesystem without hard links gets copies."""
    first, *others = [Path(p) for p in paths]
    save_checkpoint(first, payload)
    for path in others:
        with atomic_path(path) as tmp:
            tmp.unlink()
            try:
                os.link(first, tmp)
            except OSError:
                torch.save(payload, tmp)
    return [first, *others]


def keep_policy(train_cfg: Mapping[str, Any]) -> str:
    """The run's ``train_cfg.keep_checkpoints`` ('all' when unset), refused unless one of ``KEEP_CHOICES``."""
    policy = train_cfg.get("keep_checkpoints", "all")
    if policy not in KEEP_CHOICES:
        raise TimBenchError(f"train_cfg.keep_checkpoints={policy!r} is not one of {', '.join(map(repr, KEEP_CHOICES))}"
                            f" ('all': best.pth, the per-stream bests and last.pth; 'best': not last.pth; 'last': "
                            f"best.pth and last.pth, not the per-stream bests).")
    return policy


def prune_checkpoints(work_dir: Path, policy: str, best: str, last: str) -> list[Path]:
    """Remove what ``policy`` does not keep once a run has used them: 'best' drops ``last`` (the resume point),
    'last' the per-stream bests (``best_*.pth`` other than ``best``); the removed paths."""
    doomed = [work_dir / last] if policy == "best" else \
        sorted(p for p in work_dir.glob("best_*.pth") if p.name != best) if policy == "last" else []
    removed = [p for p in doomed if p.is_file()]
    for path in removed:
        path.unlink()
    return removed


def describe_checkpoints(work_dir: Path) -> str:
    """What checkpoints ``work_dir`` keeps, names sharing one file grouped, e.g. 'best.pth = best_visual.pth
    (epoch 7, 12.1 MB), last.pth (epoch 10, 36.2 MB); 48.3 MB on disk'."""
    files: dict[tuple[int, int], list[Path]] = {}
    for path in sorted(work_dir.glob("*.pth")):
        st = path.stat()
        files.setdefault((st.st_dev, st.st_ino), []).append(path)
    if not files:
        return "no checkpoints"
    parts, total = [], 0
    for names in files.values():
        size = names[0].stat().st_size
        total += size
        try:
            epoch = torch.load(names[0], map_location="cpu", weights_only=True, mmap=True).get("epoch")
        except Exception:  # noqa: BLE001 - a description never fails the run
            epoch = "?"
        parts.append(f"{' = '.join(p.name for p in names)} (epoch {epoch}, {size / 1e6:.1f} MB)")
    return f"{', '.join(parts)}; {total / 1e6:.1f} MB on disk"


def check_finite(state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Refuse weights holding NaN or inf (a diverged run's checkpoint), naming the first bad key."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise TimBenchError(f"{path}: weight '{key}' holds {bad} NaN/inf value(s) of {value.numel()}; the run "
                                f"that wrote it diverged. Use an earlier checkpoint or retrain with a lower lr.")


def check_run_checkpoint(ckpt: dict[str, Any], path: str | Path, digest: str, epoch: int | None = None) -> None:
    """A run evaluates only a checkpoint it wrote: same config hash and, when given, the epoch it reports best."""
    found = ckpt.get("config_hash")
    if found != digest:
        raise TimBenchError(f"{path} was not written by this run's config (its config hash {str(found)[:12]}, this "
                            f"config {digest[:12]}); it is not evaluated. Train in a new work dir (leave out "
                            f"--work-dir) or pass --overwrite.")
    if epoch is not None and ckpt.get("epoch") != epoch:
        raise TimBenchError(f"{path} holds epoch {ckpt.get('epoch')} but this run's best epoch is {epoch}: it is "
                            f"left from another run and is not evaluated. Train in a new work dir.")


def state_dict_of(checkpoint: dict[str, Any], path: str | Path) -> dict[str, torch.Tensor]:
    """The model weights in a tim-bench checkpoint, an original ``.pth.tar``, or a bare state dict."""
    for key in ("model", "state_dict"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise TimBenchError(f"{path} has no model weights (looked for 'model' and 'state_dict'; keys: "
                        f"{sorted(checkpoint)[:10]}).")


def differing_keys(saved: Mapping[str, Any], given: Mapping[str, Any], ignore: Sequence[str] = ()) -> list[str]:
    """'key: saved -> given' for every dotted config key whose value differs (those in ``ignore`` left out),
    e.g. 'model.d_model: 16 -> 512'."""
    flat_saved, flat_given = _flatten(saved), _flatten(given)
    keys = sorted(k for k in flat_saved.keys() | flat_given.keys()
                  if k not in ignore and flat_saved.get(k, _UNSET) != flat_given.get(k, _UNSET))
    return [f"{k}: {_shown(flat_saved.get(k, _UNSET))} -> {_shown(flat_given.get(k, _UNSET))}" for k in keys]


_UNSET = object()


def _shown(value: Any) -> str:
    return "(unset)" if value is _UNSET else repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out
