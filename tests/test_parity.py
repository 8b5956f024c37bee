"""The model reproduces outputs recorded from the original TIM code, through the checkpoint converter."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bad_input import run_cli
from tim_bench.original.parity import check_fixture

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
FIXTURES = ["fixture_tiny_av.pt", "fixture_tiny_ave.pt"]


@pytest.fixture(params=FIXTURES)
def fixture_path(request) -> Path:
    path = REFERENCE / request.param
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def test_every_output_within_1e5(fixture_path):
    diffs = check_fixture(fixture_path)
    assert {"time_encodings", "action", "audio", "feature_tokens", "encoder_input", "attn_mask"} <= set(diffs)
    assert max(diffs.values()) <= 1e-5, diffs


def test_cli_passes_and_fails_on_a_corrupted_weight(fixture_path, tmp_path):
    ok = run_cli(["check-parity", str(fixture_path), "--atol", "1e-5"])
    assert ok.code == 0 and "PASS" in ok.output
    fixture = torch.load(fixture_path, weights_only=True)
    fixture["state_dict"]["transformer_encoder.layers.0.linear1.bias"] += 0.1
    bad = tmp_path / "corrupted.pt"
    torch.save(fixture, bad)
    outcome = run_cli(["check-parity", str(bad)])
    assert outcome.code == 1 and "FAIL" in outcome.output and "feature_tokens" in outcome.output
