"""The run record (result.json): what was run, on what, with which code, and every metric.

``RunRecord`` is the one schema the runner writes and the results store reads::

    record = RunRecord.from_dict(json.loads(Path("result.json").read_text()))
    record.metrics[record.main_metric]
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
import secrets
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

@dataclasses.dataclass
class RunRecord:
    """One finished run, as ``result.json`` and the results store hold it.

    The first keys (through ``created``) are ``REQUIRED`` of a new record (None is a value there, e.g.
    ``git_revision`` outside git); the later ones were added over time, so a record stored by an older
    tim-bench lacks them and loads with None (``to_dict`` leaves a None optional key out). Keys this version
    does not know are kept in ``extra`` and written back unchanged.
    """

    run_id: str
    config_name: str
    config_hash: str
    dataset: str
    seed: int
    split: str
    metrics: dict[str, float | None]
    created: str
    config_path: str | None = None
    features: Any = None
    model: str | None = None
    val_metrics: dict[str, float] | None = None
    main_metric: str | None = None
    epochs_trained: int | None = None
    best_epoch: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    torch_version: str | None = None
    package_versions: dict[str, str] | None = None
    git_revision: str | None = None
    git_dirty: bool | None = None
    work_dir: str | None = None
    predictions: str | None = None
    # optional: recorded since later versions
    recipe_hash: str | None = None
    data_root: str | None = None
    synthetic_data: bool | None = None
    stream_best: dict[str, Any] | None = None
    metrics_original_selection: dict[str, float | None] | None = None
    sampler: str | None = None
    training_procedure: dict[str, Any] | None = None
    predictions_sha256: str | None = None
    submissions: list[str] | None = None
    load_from: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # the resolved config (what `compare` and the leaderboard diff)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    #: keys a new record must carry (the runner's contract with the leaderboard)
    REQUIRED: ClassVar[tuple[str, ...]] = (
        "run_id", "config_name", "config_path", "config_hash", "dataset", "features", "model", "seed", "split",
        "metrics", "val_metrics", "main_metric", "epochs_trained", "best_epoch", "wall_time_s", "device",
        "torch_version", "package_versions", "git_revision", "git_dirty", "work_dir", "predictions", "created")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunRecord":
        """A record from its JSON form (old records lack later keys: they load as None)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every required key, the optional keys that are set, then ``extra``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None or k in self.REQUIRED}
        return {**out, **self.extra}


#: The repository root of a source checkout (tim_bench/runner/record.py -> ../../..).
REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tim-bench", "torch", "numpy", "pandas", "mmengine", "scikit-learn", "h5py", "pluggy")


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
    from .. import __version__
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
