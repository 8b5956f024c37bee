"""bench/gpu_check.sh, the one prepared device script, runs end to end on the CPU at tiny sizes (--tiny) within
its time limits and writes issue 23's table for both recipes, with the original code's rows when its code is
there (extracted from a local JacobChalk/TIM mirror, as tests/test_original_code_bench.py does)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_original_code_bench import checkout  # noqa: F401  (the fixture: the original's files, or a skip)

ROOT = Path(__file__).resolve().parents[1]
#: the script's own limits at --tiny add up to 780 s; a CPU run takes a few minutes
BUDGET_S = 780


@pytest.mark.slow
def test_gpu_check_script_prints_the_whole_table_for_both_recipes(tmp_path, shared_data, checkout):  # noqa: F811
    env = {**os.environ, "OUT": str(tmp_path / "out"), "TIM_ANNOTATIONS": str(shared_data),
           "TIM_ORIGINAL": str(checkout), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--tiny"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=BUDGET_S)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for recipe in ("epic_av", "ave_vgg"):
        figures = json.loads((tmp_path / "out" / f"{recipe}.json").read_text())
        assert figures["recipe"] == recipe
        for key in ("step_windows_per_s", "original_windows_per_s", "epoch_windows_per_s",
                    "inference_windows_per_s", "compiled_inference_windows_per_s", "compiled_epoch_windows_per_s"):
            assert figures[key] > 0, (recipe, key)
        assert figures["original_code"]["windows_per_s"] > 0 and figures["compiled"]["default"]["step_ms"] > 0
        assert figures["probed_inference"]["windows_per_s"] > 0 and figures["first_losses_agree"] is True
        assert f"| {recipe}, tiny dims" in done.stdout
    graphs = json.loads((tmp_path / "out" / "epic_av.json").read_text())["compiled"]["reduce-overhead"]
    assert graphs["epoch_windows_per_s"] > 0 and graphs["inference_windows_per_s"] > 0  # next to default's
    assert graphs["ran_as"] == graphs["trainer_compiled_as"] == "default"  # no CUDA graphs on a CPU, said so
    assert "train_cfg.compile='reduce-overhead' asks for CUDA graphs" in done.stdout
    assert done.stdout.count("| original code (JacobChalk/TIM) |") == 2 and "not measured" not in done.stdout
    assert json.loads((tmp_path / "out" / "op_count.json").read_text())["padded"]["total"] > 0
