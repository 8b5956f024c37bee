"""`tim-bench new-plugin dataset|benchmark NAME DIR`: an installable plugin package with example data, a config and
tests. ``dataset``: a dataset reader and its metric; ``benchmark``: a whole benchmark (dataset, metric, submission
writer, leaderboard table, reference row, synthetic generator)."""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import keyword
import os
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from tim_bench_registry import (DATASETS, GENERATORS, LEADERBOARDS, METRICS, REFERENCES, WRITERS, TimBenchError,
                                plugin_manager)
from tim_bench_registry.plugin_manager import ENTRY_POINT_GROUP

from ..version import __version__
from ..io import current_umask
from ..outputs import check_output_folder, mark_output_folder

#: template file under tim_bench/templates/ -> path in the new package (itself a template)
FILES = {
    "dataset": {
        "dataset/pyproject.toml.tmpl": "pyproject.toml",
        "dataset/README.md.tmpl": "README.md",
        "dataset/__init__.py.tmpl": "src/${package}/__init__.py",
        "dataset/plugin.py.tmpl": "src/${package}/plugin.py",
        "dataset/dataset.py.tmpl": "src/${package}/dataset.py",
        "dataset/metrics.py.tmpl": "src/${package}/metrics.py",
        "dataset/example_data.py.tmpl": "src/${package}/example_data.py",
        "dataset/config.py.tmpl": "src/${package}/configs/${name}.py",
        "dataset/test.py.tmpl": "tests/test_${name}.py",
    },
    "benchmark": {
        "benchmark/pyproject.toml.tmpl": "pyproject.toml",
        "benchmark/README.md.tmpl": "README.md",
        "benchmark/__init__.py.tmpl": "src/${package}/__init__.py",
        "benchmark/plugin.py.tmpl": "src/${package}/plugin.py",
        "benchmark/dataset.py.tmpl": "src/${package}/dataset.py",
        "dataset/metrics.py.tmpl": "src/${package}/metrics.py",
        "benchmark/writer.py.tmpl": "src/${package}/writer.py",
        "benchmark/leaderboard.py.tmpl": "src/${package}/leaderboard.py",
        "benchmark/reference.json.tmpl": "src/${package}/reference/${name}_chance.json",
        "benchmark/example_data.py.tmpl": "src/${package}/example_data.py",
        "benchmark/generator.py.tmpl": "src/${package}/generator.py",
        "benchmark/config.py.tmpl": "src/${package}/configs/${name}.py",
        "benchmark/test.py.tmpl": "tests/test_${name}.py",
    },
}
NAME = re.compile(r"[a-z][a-z0-9_]*")
#: The tim_bench.outputs kind of the folder `new-plugin` writes.
OUTPUT_KIND = "plugin package"
#: What each kind of package registers: registry -> the name, from the template values (see the templates).
REGISTERS = {
    "dataset": {DATASETS: "${class_name}", METRICS: "${class_name}Accuracy"},
    "benchmark": {DATASETS: "${class_name}", METRICS: "${class_name}Accuracy", WRITERS: "${class_name}Submission",
                  GENERATORS: "${name}", LEADERBOARDS: "${class_name}", REFERENCES: "${name}_chance"},
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-plugin", help="create a plugin package to start from",
                       description="Write a working, pip-installable package under DIR. dataset: a dataset plugin "
                                   "reading CSV annotations, a metric, a config, example data with a planted signal, "
                                   "the tim_bench entry point and a passing test. benchmark: all of that plus a "
                                   "submission writer, a leaderboard table, a reference row and a synthetic-data "
                                   "generator (`tim-bench make-synthetic NAME`), with tests of each part.")
    p.add_argument("kind", choices=sorted(FILES), help="what the plugin provides")
    p.add_argument("name", help="snake_case name, e.g. my_clips (package my_clips, class MyClips)")
    p.add_argument("dir", help="folder to create (must be new or empty)")
    p.set_defaults(func=run)


def names(name: str) -> dict[str, str]:
    """The template values for ``name``: package, registered class, distribution and entry-point names, and the
    tim-bench versions the plugin is written against."""
    if not NAME.fullmatch(name):
        raise TimBenchError(f"Plugin name '{name}' is not a snake_case identifier; use lowercase letters, digits and "
                            f"underscores, starting with a letter (e.g. my_clips).")
    return {"name": name, "package": name, "class_name": "".join(p.capitalize() for p in name.split("_") if p),
            "dist": name.replace("_", "-"), "requirement": compatible_requirement(__version__)}


def compatible_requirement(version: str) -> str:
    """The tim-bench releases a plugin written against ``version`` works with: the same minor series before 1.0
    (0.x minor releases may change the contract), the same major release after (semantic versioning)."""
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]] + [0, 0]
    major, minor = numbers[0], numbers[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"tim-bench>={major}.{minor},<{upper}"


def check_name(kind: str, name: str) -> dict[str, str]:
    """``names(name)``, after refusing a name whose package could not be imported as itself (a keyword, a module of
    the standard library, an installed module such as the engine) or whose parts are already registered."""
    values = names(name)
    if keyword.iskeyword(name):
        raise TimBenchError(f"Plugin name '{name}' is a Python keyword, so `import {name}` is a syntax error; choose "
                            f"another name (e.g. my_{name}).")
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        raise TimBenchError(f"Plugin name '{name}' is a module of the Python standard library, which the package "
                            f"would shadow (or be shadowed by); choose another name (e.g. my_{name}).")
    installed = _installed_module(name)
    if installed is not None:
        raise TimBenchError(f"Plugin name '{name}' is already an installed module ({installed}); the new package "
                            f"would shadow it or never be imported; choose another name (e.g. my_{name}).")
    plugin_manager()
    clash = [f"{taken} in the {registry.name} registry" for registry, template in REGISTERS[kind].items()
             for taken in registry.module_dict if taken.lower() == Template(template).substitute(values).lower()]
    entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    clash += [f"the entry point {ep.name} = {ep.value}" for ep in entry_points if ep.name.lower() == name]
    if clash:
        raise TimBenchError(f"Plugin name '{name}' is taken: the new {kind} would register what is already registered "
                            f"({'; '.join(clash)}); choose another name (e.g. my_{name}).")
    return values


def _installed_module(name: str) -> str | None:
    """Where an importable top-level module ``name`` lives (editable installs included), None if there is none."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:  # a namespace folder on the path is no module
        return None
    return spec.origin


def create_plugin(kind: str, name: str, out: str | Path) -> list[Path]:
    """Fill in the ``kind`` templates for ``name`` under ``out`` and return the files written.

    The package is built in a temporary folder beside ``out`` and moved there whole, so a failure
    never leaves half a package.
    """
    values = check_name(kind, name)
    out = check_output_folder(out, OUTPUT_KIND, option="DIR")
    if out.is_dir() and any(out.iterdir()):
        raise TimBenchError(f"DIR {out} is not empty; choose a new (or empty) folder for the plugin package.")
    templates = resources.files("tim_bench.templates")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for template, target in FILES[kind].items():
            path = staging / Template(target).substitute(values)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(values))
        mark_output_folder(staging, OUTPUT_KIND)
        os.chmod(staging, 0o777 & ~current_umask())
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / Template(target).substitute(values) for target in FILES[kind].values()]


def run(args: argparse.Namespace) -> int:
    written = create_plugin(args.kind, args.name, args.dir)
    values = names(args.name)
    print(f"wrote {len(written)} files under {args.dir}:")
    print("\n".join(f"  {p.relative_to(args.dir)}" for p in written))
    print(f"next: pip install -e {args.dir} && tim-bench plugins '{values['class_name']}*'")
    return 0
