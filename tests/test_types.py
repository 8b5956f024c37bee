"""The contract (registry/) and the first-party plugins (plugins/) pass mypy with the config in pyproject.toml,
and both packages ship ``py.typed`` so a plugin author's type checker reads their annotations."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_registry_and_plugins_type_check(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install -e '.[test]')")
    done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_packages_ship_py_typed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for folder, package in (("registry", "tim_bench_registry"), ("plugins", "tim_bench_plugins")):
        assert (ROOT / folder / "py.typed").is_file()
        assert f'"{package}" = [' in pyproject and "py.typed" in pyproject.split(f'"{package}" = [', 1)[1].split("]")[0]
