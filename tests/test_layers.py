"""The layering promise: no import cycle, no upward arrow, and every first-party plugin loads without the engine."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import import_graph  # noqa: E402

PLUGIN_MODULES = ("tim_bench_plugins.ave", "tim_bench_plugins.epic", "tim_bench_plugins.perception_test",
                  "tim_bench_plugins.features.npy", "tim_bench_plugins.features.hdf5_rows",
                  "tim_bench_plugins.extractors.logmel", "tim_bench_plugins.extractors.timm_video",
                  "tim_bench_plugins.heads.linear")


def test_import_graph_has_no_cycle_and_no_upward_arrow() -> None:
    assert import_graph.problems() == []
    _, units = import_graph.graph()
    assert units["tim_bench_registry"] == set() if "tim_bench_registry" in units else True  # the contract is a leaf
    assert all(targets == {"tim_bench_registry"} for u, targets in units.items() if u.startswith("tim_bench_plugins"))


def test_a_planted_upward_arrow_is_reported(tmp_path: Path, monkeypatch) -> None:
    engine = tmp_path / "tim_bench"
    (engine / "data").mkdir(parents=True)
    (engine / "runner").mkdir()
    (engine / "__init__.py").write_text("")
    (engine / "data" / "__init__.py").write_text("")
    (engine / "runner" / "__init__.py").write_text("")
    (engine / "data" / "check.py").write_text("def f():\n    from ..runner.experiment import Experiment\n")
    (engine / "runner" / "experiment.py").write_text("from ..data import check\n")
    monkeypatch.setattr(import_graph, "PACKAGES", {"tim_bench": engine})
    found = import_graph.problems()
    assert any("upward arrow: tim_bench.data.check" in p for p in found)
    assert any(p.startswith("import cycle") for p in found)


def test_every_first_party_plugin_loads_with_the_engine_hidden() -> None:
    """A finder refuses tim_bench and tim_bench.* (the registry and the plugins stay importable)."""
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys

        class NoEngine(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "tim_bench" or name.startswith("tim_bench."):
                    raise ImportError(f"the engine is hidden: {{name}}")
                return None

        sys.meta_path.insert(0, NoEngine())
        for name in {PLUGIN_MODULES!r}:
            importlib.import_module(name)
        assert not any(m == "tim_bench" or m.startswith("tim_bench.") for m in sys.modules), "engine leaked in"
        import tim_bench_registry as reg
        counts = {{name: len(r.module_dict) for name, r in reg.REGISTRIES.items()}}
        print(counts)
        for kind in ("datasets", "features", "extractors", "heads", "metrics", "writers", "challenges",
                     "generators", "leaderboards", "references", "original_datasets"):
            assert counts[kind] > 0, kind
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "'generators': 3" in done.stdout and "'references': 6" in done.stdout


def test_no_plugin_or_template_names_the_engine() -> None:
    sources = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "tim_bench" / "templates").rglob("*.tmpl")]
    offenders = [str(p) for p in sources
                 if any(line.lstrip().startswith(("from tim_bench.", "import tim_bench.", "from tim_bench import"))
                        for line in p.read_text().splitlines())]
    assert sources and offenders == []


def test_a_fresh_process_finds_installed_challenges_without_importing_plugins_first() -> None:
    script = ("from tim_bench_registry import CHALLENGES, lookup; "
              "print(lookup(CHALLENGES, 'epic-sounds').name)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "epic-sounds", done.stderr
