"""Small helpers for tests that drive the real `tim-bench` command."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TINY_MODEL = ["model.d_model=32", "model.num_layers=1", "model.nhead=2"]


def tim_bench_exe() -> str:
    """The console script of the interpreter running the tests (PATH may not hold its venv)."""
    return shutil.which("tim-bench") or str(Path(sys.executable).with_name("tim-bench"))


def tim_bench(*args: str, cwd: str | Path | None = None, env: dict | None = None, timeout: int = 600,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed console command and return the completed process (stdout/stderr as text)."""
    exe = tim_bench_exe()
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"tim-bench {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc
