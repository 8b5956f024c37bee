"""docs/python-api.md runs as written: its python blocks, in order, in a fresh interpreter in an empty folder."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_bounded

PAGE = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def code_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown page, in order."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_import_is_cheap_and_the_surface_is_documented():
    script = ("import sys, inspect, tim_bench\n"
              "assert 'torch' not in sys.modules and 'tim_bench_registry' not in sys.modules\n"
              "for name in tim_bench.__all__:\n"
              "    obj = getattr(tim_bench, name)\n"
              "    assert name == '__version__' or (obj.__doc__ and obj.__doc__.strip()), name\n"
              "    if inspect.isfunction(obj):\n"
              "        assert 'return' in inspect.get_annotations(obj), name\n"
              "print(tim_bench.__version__)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from importlib.metadata import version
    assert done.stdout.strip() == version("tim-bench")
    text = PAGE.read_text()
    assert all(f"`{name}(" in text for name in ("run", "test", "predict", "load_results", "leaderboard_table", "zoo"))


@pytest.mark.slow  # two short training runs, a test and a predict
def test_the_notebook_page_runs_end_to_end(tmp_path):
    blocks = code_blocks(PAGE.read_text())
    assert len(blocks) >= 4
    script = tmp_path / "notebook.py"
    script.write_text("\n".join(f"# --- block {i}\n{b}" for i, b in enumerate(blocks)))
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # the page calls `tim-bench`
    done = run_bounded([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PATH": path})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "acc_fused" in done.stdout and (tmp_path / "results").is_dir()
    assert len(list((tmp_path / "results").glob("*.json"))) == 2
