"""Shared test fixtures: paths to the real annotation files beside the repo; a results store per test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real annotation files not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _session_results_store(tmp_path_factory) -> None:
    """No test (nor a subprocess it starts) writes to the user's results store in their home folder."""
    os.environ["TIM_BENCH_RESULTS"] = str(tmp_path_factory.mktemp("results_store"))
    os.environ["TIM_BENCH_LEADERBOARD"] = str(tmp_path_factory.mktemp("leaderboard_files"))


@pytest.fixture(scope="session", autouse=True)
def _checkout_stays_clean():
    """No test leaves run folders in the checkout (a command refused before its work starts creates nothing)."""
    runs = REPO / "work_dirs"
    before = set(runs.rglob("*")) if runs.is_dir() else set()
    yield
    left = sorted((set(runs.rglob("*")) if runs.is_dir() else set()) - before)
    assert not left, f"tests left {len(left)} path(s) in the checkout, e.g. {left[0]}"


@pytest.fixture(autouse=True)
def _results_store_per_test(tmp_path: Path, monkeypatch) -> None:
    """Each test starts with an empty default store of its own, TMP/leaderboard/results, and writes leaderboard
    files to TMP/leaderboard."""
    monkeypatch.setenv("TIM_BENCH_RESULTS", str(tmp_path / "leaderboard" / "results"))
    monkeypatch.setenv("TIM_BENCH_LEADERBOARD", str(tmp_path / "leaderboard"))
