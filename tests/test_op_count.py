"""The eager training step's kernel launches (bench/op_count.py, the CPU-visible proxy for a launch-bound GPU
step) do not grow back: a change that adds operators per layer or per task shows here before it costs GPU time."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: launches per step measured at small dims (batch 16, 2 layers, EPIC AV) when this test was written, plus ~2 %
CEILING = {"packed": 740, "padded": 680}


@pytest.mark.slow
def test_eager_step_launches_stay_below_their_ceiling(tmp_path):
    out = tmp_path / "ops.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "op_count.py"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = json.loads(out.read_text())
    for layout, ceiling in CEILING.items():
        total = counts[layout]["total"]
        assert 0 < total <= ceiling, f"{layout}: {total} launches per step (ceiling {ceiling}); see {counts[layout]}"
        assert {"mm", "addmm", "bmm"} & set(counts[layout]["ops"])  # the products are counted, not only views
    assert counts["padded"]["total"] < counts["packed"]["total"]  # CUDA's eager layout: no index gathers
