"""docs/writing-plugins.md is a tested script: every code block runs, in order, in one empty folder.

Block kinds: a ``bash`` block runs with ``bash -euo pipefail``; a ``python`` block runs as a
script; a block (any language) whose first line is ``# file: PATH`` is saved at PATH and used by
the blocks after it. ``pip install`` goes to a private folder (PIP_TARGET, put on PYTHONPATH),
so the shared environment is never modified.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from helpers import run_bounded

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
FILE_MARK = "# file: "


def guide_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block, in order."""
    return FENCE.findall(GUIDE.read_text(encoding="utf-8"))


def guide_env(site: Path) -> dict[str, str]:
    """The test's environment: this interpreter's tools first, pip redirected to ``site``."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(site), "PIP_TARGET": str(site), "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}


def test_every_block_is_runnable_or_a_named_file():
    blocks = guide_blocks()
    assert len(blocks) >= 10
    for lang, code in blocks:
        assert lang in ("bash", "python") or code.startswith(FILE_MARK), f"a {lang} block can neither run nor be saved"


@pytest.mark.slow
def test_guide_runs_from_nothing_to_a_trained_plugin(tmp_path):
    env = guide_env(tmp_path / "site")
    outputs = []
    for number, (lang, code) in enumerate(guide_blocks(), 1):
        if code.startswith(FILE_MARK):
            target = tmp_path / code.splitlines()[0][len(FILE_MARK):].strip()
            assert target.parent.is_dir(), f"block {number} saves {target}, whose folder no earlier block made"
            target.write_text(code)
            continue
        if lang == "python":
            script = tmp_path / f"block_{number}.py"
            script.write_text(code)
            command = [sys.executable, str(script)]
        else:
            command = ["bash", "-euo", "pipefail", "-c", code]
        proc = run_bounded(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"guide block {number} ({lang}) failed:\n{code}\n{proc.stdout}\n{proc.stderr}"
        outputs.append(proc.stdout)
    text = "\n".join(outputs)
    assert "torch.Size([2, 3, 5])" in text and "(60, 2) (60, 1, 16)" in text
    assert re.search(r"MyClips\s+entry point my_clips \(my-clips\)", text)
    assert re.search(r"MyClipsAccuracy\s+entry point my_clips \(my-clips\)", text)
    assert "OK: no problems found" in text
    result = json.loads((tmp_path / "work_dirs" / "my_clips" / "result.json").read_text())
    assert result["dataset"] == "MyClips" and 0.0 <= result["metrics"]["top1"] <= 100.0
    assert (tmp_path / "kitchen-clips" / "src" / "kitchen_clips" / "dataset.py").is_file()
    # the whole-benchmark skeleton: every part registered, its own table with its reference row, its submission
    assert re.search(r"KitchenBenchSubmission\s+entry point kitchen_bench \(kitchen-bench\)", text)
    assert "KitchenBench action recognition [KitchenBench]" in text and "[ref] kitchen_bench_chance" in text
    assert "segment_id,prediction,score_0" in text
