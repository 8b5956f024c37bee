"""Small helpers for tests that drive the real `tim-bench` command."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TINY_MODEL = ["model.d_model=32", "model.num_layers=1", "model.nhead=2"]
#: Wall-clock budget of one subprocess a test starts. It only catches a hang: a correct run on a loaded 2-core
#: machine must never reach it, so it is generous (TIM_BENCH_TEST_BUDGET_S overrides it).
TEST_BUDGET_S = float(os.environ.get("TIM_BENCH_TEST_BUDGET_S", 3600))


def run_bounded(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run`` within ``TEST_BUDGET_S``; past it, the failure shows what the process had printed."""
    try:
        return subprocess.run(argv, timeout=TEST_BUDGET_S, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(map(str, argv))} ran past the test budget of {TEST_BUDGET_S:.0f} s "
                             f"(TIM_BENCH_TEST_BUDGET_S); its output so far:\n{exc.stdout}\n{exc.stderr}") from None


def tim_bench_exe() -> str:
    """The console script of the interpreter running the tests (PATH may not hold its venv)."""
    return shutil.which("tim-bench") or str(Path(sys.executable).with_name("tim-bench"))


def tim_bench(*args: str, cwd: str | Path | None = None, env: dict | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed console command and return the completed process (stdout/stderr as text)."""
    exe = tim_bench_exe()
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = run_bounded([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"tim-bench {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def tiny_epic_experiment(folder: Path, overrides: dict) -> Any:
    """An Experiment over 4 synthetic EPIC videos with 6-d visual and 5-d audio features (fast gather/step tests)."""
    from tim_bench.config import load_config
    from tim_bench.runner.experiment import Experiment
    from tim_bench_plugins.epic.synthetic import make_epic

    root = make_epic(folder, videos=4, visual_dim=6, audio_dim=5)
    configs = Path(__file__).resolve().parents[1] / "configs"
    cfg = load_config(configs / "epic_av.py", {"data_root": str(root), "features.visual.dim": 6,
                                               "features.audio.dim": 5, **overrides})
    return Experiment(cfg)


def train_watching_dtypes(folder: Path, amp: object, device: Any, layers: int = 1) -> tuple[Any, set]:
    """Train a tiny EPIC model one epoch with ``train_cfg.amp=amp`` on ``device``; (the fit, the dtypes its first
    encoder layer computed in). The run's work dir is ``folder / "wd"``."""
    import torch
    from tim_bench.runner.trainer import Trainer

    exp = tiny_epic_experiment(folder / "data", {"train_cfg.amp": amp, "train_cfg.max_epochs": 1, "splits.val": None,
                                        "splits.test": None, "model.d_model": 16, "model.num_layers": layers})
    seen: list = []
    build = exp.build_model

    def build_and_watch():
        model = build()
        model.encoder.layers[0].linear1.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
        return model
    exp.build_model = build_and_watch
    fit = Trainer(exp, folder / "wd", torch.device(device), progress=False).fit()
    return fit, set(seen)


def full_release(root: Path) -> bool:
    """Whether ``root`` holds the full annotation files (the figures of the official releases apply), not the fixture."""
    with open(root / "epic-kitchens-100" / "EPIC_100_validation.csv") as f:
        return sum(1 for _ in f) == 9668 + 1


#: A few real rows of every annotation file the tests read (tests/data/README.md: what, and the datasets' credit);
#: TIM_BENCH_TEST_DATA points the tests at a folder of the full files instead.
ANNOTATIONS = Path(os.environ.get("TIM_BENCH_TEST_DATA") or Path(__file__).resolve().parent / "data")
