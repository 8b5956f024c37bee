"""A run's provenance, as its run record states it: code revision, package versions, device, ids and times
(the schema itself is the contract's ``RunRecord``)."""
from __future__ import annotations

import importlib.metadata
import platform
import secrets
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

#: The repository root of a source checkout (tim_bench/runner/provenance.py -> ../../..).
REPO = Path(__file__).resolve().parents[2]
if TYPE_CHECKING:
    import torch

PACKAGES = ("tim-bench", "torch", "numpy", "pandas", "mmengine", "mmengine-lite", "scikit-learn", "h5py", "pluggy")


def git_state(repo: Path) -> tuple[str | None, bool | None]:
    """(HEAD revision, dirty flag) of the git checkout holding ``repo``, or (None, None) outside git."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10)
        return rev.stdout.strip(), bool(dirty.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        return None, None


def source_state() -> tuple[str | None, bool | None]:
    """(revision, dirty flag) of the tim-bench checkout this package runs from; (None, None) for an installed
    copy (never the state of an unrelated repository that happens to enclose it)."""
    return git_state(REPO) if (REPO / ".git").exists() else (None, None)


def version_text() -> str:
    """e.g. 'tim-bench 0.1.0 (git 0a747f7c1d2e, dirty)': the package version and, in a checkout, its revision."""
    from ..version import __version__
    rev, dirty = source_state()
    where = f"git {rev[:12]}{', dirty' if dirty else ''}" if rev else "not a git checkout"
    return f"tim-bench {__version__} ({where})"


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def device_name(device: torch.device) -> str:
    """A readable device description, e.g. 'cuda:NVIDIA H100' or 'cpu (x86_64, 2 threads)'."""
    import torch  # here, not at import: `tim-bench --version` reads this module
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def new_run_id(config_name: str, seed: int) -> str:
    """A unique, sortable run id: UTC time, config, seed and a random suffix."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{config_name}-s{seed}-{secrets.token_hex(3)}"


def now_iso() -> str:
    """The current UTC time as ISO-8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def model_description(model_cfg: dict[str, Any]) -> str:
    """e.g. 'TIM d256 L4 H8 +AVGA' from the model config."""
    parts = [model_cfg.get("type", "TIM"), f"d{model_cfg.get('d_model')}", f"L{model_cfg.get('num_layers')}",
             f"H{model_cfg.get('nhead')}"]
    if model_cfg.get("pool_features"):
        parts.append("+AVGA")
    head = (model_cfg.get("head") or {}).get("type", "LinearHead")
    if head != "LinearHead":
        parts.append(head)
    return " ".join(str(p) for p in parts)


def is_synthetic(data_root: str | Path) -> bool:
    """True when ``data_root`` was written by ``tim-bench make-synthetic`` (a record's ``synthetic_data``)."""
    from tim_bench_registry.synthetic import MARKER  # here: `tim-bench --version` reads this module, nothing heavy
    return (Path(data_root) / MARKER).is_file()
