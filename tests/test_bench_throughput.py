"""bench/throughput.py runs end to end at small dims and reports every figure its closing-note table quotes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import run_bounded

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_throughput_bench_measures_step_loader_epoch_and_inference(tmp_path, shared_data):
    out = tmp_path / "figures.json"
    done = run_bounded([sys.executable, str(ROOT / "bench" / "throughput.py"), "--dims", "tiny", "--threads", "1", "--videos", "3",
                        "--steps", "2", "--warmup", "1", "--annotations", str(shared_data), "--out", str(out),
                        "--data", str(tmp_path / "data")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    for key in ("step_ms", "other_layout_step_ms", "original_step_ms", "masked_attention_step_ms", "cpu_bf16_step_ms",
                "loader_windows_per_s", "epoch_windows_per_s", "inference_windows_per_s", "end_to_end_over_step"):
        assert figures[key] > 0, key
    # packing computes no more tokens than padding to the batch maximum
    assert 0 < figures["mean_computed_tokens_per_window"] <= figures["mean_tokens_per_window"]
    assert "(o) bench rendering of the original step" in done.stdout and "end to end / model step" in done.stdout
    assert "| bench rendering of the original |" in done.stdout  # issue 23's table (anchor: the rendering)
