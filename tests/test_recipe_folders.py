"""A third-party package's recipes are found by name: declared as a `tim_bench.configs` entry point (no plugin
imported to find one), or still through the deprecated `tim_bench_config_dirs` hook, with a warning naming the
declaration that replaces it; a mistyped name gets the closest names either way."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import run_bounded, tim_bench_exe

PLUGIN = '''
"""A plugin that still returns a config folder from the deprecated hook (contract 1.0 style)."""
from pathlib import Path

from tim_bench_registry import hookimpl


@hookimpl
def tim_bench_config_dirs():
    return [str(Path(__file__).parent / "legacy_configs")]
'''
BROKEN = '''
"""A plugin whose deprecated hook returns no list: its recipes are skipped with a warning, nothing else stops."""
from tim_bench_registry import hookimpl


@hookimpl
def tim_bench_config_dirs():
    return 42
'''
RECIPE = 'dataset = dict(type="AVE")\n'


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The package installed (pip --target) with one declared and one hook-only recipe folder."""
    base = tmp_path_factory.mktemp("recipes")
    pkg = base / "src" / "toy_recipes"
    for folder, recipe in (("configs", "toy_declared"), ("legacy_configs", "toy_legacy")):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / f"{recipe}.py").write_text(RECIPE)
    (pkg / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (pkg / "broken.py").write_text(textwrap.dedent(BROKEN))
    (base / "src" / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "toy-recipes"
        version = "0.1"
        [project.entry-points.tim_bench]
        toy = "toy_recipes"
        toy_broken = "toy_recipes.broken"
        [project.entry-points."tim_bench.configs"]
        toy = "toy_recipes.configs"
        "toy.missing" = "toy_recipes.no_such_folder"
        [tool.setuptools]
        packages = ["toy_recipes"]
        [tool.setuptools.package-data]
        toy_recipes = ["configs/*.py", "legacy_configs/*.py"]
    '''))
    target = base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(base / "src")], check=True, capture_output=True)
    return target


def _python(site: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    return run_bounded([sys.executable, "-c", code], capture_output=True, text=True, cwd=site.parent,
                       env={**os.environ, "PYTHONPATH": str(site), **env})


def test_a_declared_folder_is_found_without_importing_any_plugin(site):
    proc = _python(site, "import json, sys\n"
                         "from tim_bench.recipe_folders import declared_recipe_folders, find_declared_recipe\n"
                         "path = find_declared_recipe('toy_declared')\n"
                         "toy = [f.distribution for f in declared_recipe_folders() if f.benchmark == 'toy']\n"
                         "print(json.dumps([str(path), toy, 'toy_recipes' in sys.modules]))\n")
    path, distributions, imported = json.loads(proc.stdout)
    assert Path(path) == site / "toy_recipes" / "configs" / "toy_declared.py"
    assert distributions == ["toy-recipes"] and imported is False


def test_the_deprecated_hook_still_finds_its_recipes_with_a_warning(site):
    proc = _python(site, "from tim_bench.config import find_config\n"
                         "print(find_config('toy_legacy'))\n", PYTHONWARNINGS="always::DeprecationWarning")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == site / "toy_recipes" / "legacy_configs" / "toy_legacy.py"
    assert "tim_bench_config_dirs hook is deprecated since plugin contract 1.1" in proc.stderr  # pluggy, on register
    assert "plugin toy_recipes returns its config folders from the deprecated" in proc.stderr  # when read
    assert '[project.entry-points."tim_bench.configs"]' in proc.stderr


def test_zoo_lists_declared_and_hook_recipes_of_a_third_party_package(site):
    """...and a plugin whose hook returns no list is named in a warning, without stopping the listing."""
    proc = run_bounded([tim_bench_exe(), "zoo", "toy_*", "--json"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert {(r["recipe"], r["benchmark"]) for r in rows} == {("toy_declared", "toy"), ("toy_legacy", "toy_recipes")}
    assert "plugin toy_recipes.broken's tim_bench_config_dirs hook returned 42, not a list" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_mistyped_name_gets_the_closest_names_with_a_third_party_package_installed(site, tmp_path):
    proc = run_bounded([tim_bench_exe(), "check-data", "toy_legacx"], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 2, proc.stderr
    assert "Config toy_legacx does not exist" in proc.stderr and "Did you mean toy_legacy" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_declared_folder_missing_on_disk_is_named_once(site, tmp_path):
    proc = run_bounded([tim_bench_exe(), "check-data", "toy_declared"], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(site)})
    warning = ("tim_bench.configs entry point 'toy.missing = toy_recipes.no_such_folder' (toy-recipes) names no "
               "folder on disk")
    assert proc.stderr.count(warning) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
