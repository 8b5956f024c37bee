"""The contract (registry/), the first-party plugins (plugins/) and the engine modules that build or look up
registered parts pass mypy with the config in pyproject.toml, and both packages ship ``py.typed`` so a plugin
author's type checker reads their annotations.

The packages are installed editable under other names (``registry/`` is ``tim_bench_registry``), which mypy cannot
follow through setuptools' import hook: left alone, every ``from tim_bench_registry import ...`` in a plugin would
be ``Any``. So mypy reads them from a folder of links named as they are imported.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"tim_bench_registry": "registry", "tim_bench_plugins": "plugins", "tim_bench": "tim_bench"}
#: engine modules that call build / lookup, and the runner's jobs, experiment and trainer
ENGINE_MODULES = ("tim_bench.extract", "tim_bench.schema", "tim_bench.model.tim", "tim_bench.components",
                  "tim_bench.original.from_tim_args", "tim_bench.modelzoo.download", "tim_bench.cli.leaderboard",
                  "tim_bench.cli.make_synthetic", "tim_bench.cli.evaluate", "tim_bench.cli.submit",
                  "tim_bench.cli.plugins", "tim_bench.leaderboard.reference", "tim_bench.config",
                  "tim_bench.recipe_folders", "tim_bench.rules", "tim_bench.cli.common", "tim_bench.modelzoo.catalog",
                  "tim_bench.runner.jobs", "tim_bench.runner.experiment", "tim_bench.runner.trainer",
                  # the data rules and the one place every split and video passes them
                  "tim_bench.data.rules", "tim_bench.data.checked", "tim_bench.data.joint", "tim_bench.data.check",
                  "tim_bench.runner.check", "tim_bench.original.layout", "tim_bench.data.fingerprint")


def mypy(tmp_path: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    """Run mypy (pyproject's options) over ``targets`` with the three packages importable by their own names."""
    links = tmp_path / "src"
    links.mkdir(exist_ok=True)
    for name, folder in PACKAGES.items():
        if not (links / name).exists():
            (links / name).symlink_to(ROOT / folder, target_is_directory=True)
    env = {**os.environ, "MYPYPATH": str(links)}
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"), *targets],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_registry_plugins_and_engine_call_sites_type_check(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install -e '.[test]')")
    modules = [arg for module in ENGINE_MODULES for arg in ("-m", module)]
    done = mypy(tmp_path, "-p", "tim_bench_registry", "-p", "tim_bench_plugins", *modules)
    assert done.returncode == 0, done.stdout + done.stderr


def test_build_and_lookup_give_each_registry_its_own_type(tmp_path):
    """A plugin's misuse of what ``build``/``lookup`` return is a type error, not ``Any``."""
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install -e '.[test]')")
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent("""
        from tim_bench_registry import DATASETS, LEADERBOARDS, METRICS, build, lookup

        plugin = build(DATASETS, {"type": "AVE"}, data_root=".")
        reveal_type(plugin)
        reveal_type(lookup(METRICS, "AVEMetric"))
        reveal_type(lookup(LEADERBOARDS, "AVE"))
        plugin.load(3)
        lookup(LEADERBOARDS, "AVE").main_metrics
    """))
    out = mypy(tmp_path, str(probe)).stdout
    assert 'Revealed type is "tim_bench_registry.contracts.DatasetPlugin"' in out, out
    assert 'Revealed type is "type[tim_bench_registry.protocols.Metric]"' in out, out
    assert 'Revealed type is "tim_bench_registry.leaderboard.LeaderboardSpec"' in out, out
    assert 'Argument 1 to "load" of "DatasetPlugin" has incompatible type "int"; expected "str"' in out, out
    assert '"LeaderboardSpec" has no attribute "main_metrics"' in out, out


def test_both_packages_ship_py_typed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for folder, package in (("registry", "tim_bench_registry"), ("plugins", "tim_bench_plugins")):
        assert (ROOT / folder / "py.typed").is_file()
        assert f'"{package}" = [' in pyproject and "py.typed" in pyproject.split(f'"{package}" = [', 1)[1].split("]")[0]
