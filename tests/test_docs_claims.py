"""The docs agree with the code: every repository path, Python module or name, ``tim-bench`` command and config
key that README.md, a page of docs/ or leaderboard/README.md names in backticks exists, and the per-user folders
they name are the ones the code uses. (tests/test_docs_guide.py runs the guide's code.)"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tim_bench.cli.main import COMMANDS
from tim_bench.data.fingerprint import _Cache as FingerprintCache
from tim_bench.leaderboard.publish import LEADERBOARD_ENV, default_leaderboard_dir
from tim_bench.leaderboard.store import RESULTS_ENV, default_store
from tim_bench.modelzoo.download import CACHE_ENV, cache_dir
from tim_bench.schema import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "leaderboard" / "README.md"]
#: Top-level folders of the repository a doc may point into.
FOLDERS = ("tim_bench", "registry", "plugins", "bench", "tests", "configs", "docs", ".ci", "leaderboard")
PATH = re.compile(rf"^(?:{'|'.join(re.escape(f) for f in FOLDERS)})/[\w./-]*$")
#: The entry-point groups tim-bench reads (declared by its own pyproject): a doc may name them beside modules.
ENTRY_POINT_GROUPS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"])
#: Installed package names a doc may use for the folders they are installed from.
INSTALLED = {"tim_bench_registry": "registry", "tim_bench_plugins": "plugins"}
INSTALLED_PATH = re.compile(rf"^(?:{'|'.join(INSTALLED)})/[\w./-]*\.py$")
#: A module path relative to the engine, e.g. ``runner/schedule.py``.
ENGINE_PATH = re.compile(r"^(\w+)/[\w/]*\.py$")
#: A per-user folder on Linux, e.g. ``~/.local/share/tim-bench/results``.
USER_DIR = re.compile(r"~/\.(?:local/share|cache)/tim-bench/\w+")
MODULE = re.compile(r"^(?:tim_bench|tim_bench_registry|tim_bench_plugins)(?:\.\w+)*$")
COMMAND = re.compile(r"^tim-bench ([a-z][a-z-]*)")
CONFIG_KEY = re.compile(rf"^({'|'.join(SECTIONS)})\.(\w+)(?:=\S*)?$")


def spans() -> list[tuple[str, str]]:
    """(doc name, text) of every inline code span and every line of a code block in the docs."""
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"^```\w*\n(.*?)^```", text, re.S | re.M)
        inline = re.sub(r"^```\w*\n.*?^```", "", text, flags=re.S | re.M)
        out += [(doc.name, s.strip()) for s in re.findall(r"`([^`\n]+)`", inline)]
        out += [(doc.name, line.strip()) for block in blocks for line in block.splitlines()]
    return out


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` is an importable module, or a name (attribute chain) inside one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            obj = importlib.import_module(module)
            for name in parts[cut:]:
                if not hasattr(obj, name):
                    return False
                obj = getattr(obj, name)
            return True
    return False


def test_the_docs_name_things_at_all() -> None:
    """The patterns below still find what they check (a doc rewrite cannot make this test vacuous)."""
    found = spans()
    assert sum(bool(PATH.match(s)) for _, s in found) >= 10
    assert sum(bool(MODULE.match(s)) for _, s in found) >= 10
    assert sum(bool(COMMAND.match(s)) for _, s in found) >= 10
    assert sum(bool(CONFIG_KEY.match(s)) for _, s in found) >= 3


def written_by_the_docs() -> list[str]:
    """Files the docs' own ``# file: PATH`` blocks create (the guide's example plugin), which a doc may name."""
    return [m for doc in DOCS for m in re.findall(r"^# file: (\S+)", doc.read_text(encoding="utf-8"), re.M)]


def test_every_path_a_doc_names_exists() -> None:
    written = written_by_the_docs()
    missing = sorted({f"{doc}: {s}" for doc, s in spans() if PATH.match(s) and "*" not in s
                      and not (ROOT / s.rstrip("/")).exists() and not any(w.endswith("/" + s) for w in written)})
    assert not missing, "docs name paths that do not exist:\n" + "\n".join(missing)


def test_every_module_path_a_doc_names_by_installed_or_engine_relative_name_exists() -> None:
    """``tim_bench_plugins/extractors/common/augment.py`` (installed names) and ``runner/schedule.py`` (inside the
    engine: its first folder is one of tim_bench/'s packages) name files as surely as repository paths do."""
    engine = {p.name for p in (ROOT / "tim_bench").iterdir() if (p / "__init__.py").is_file()}
    named = [(doc, s, ROOT / INSTALLED[s.split("/")[0]] / s.partition("/")[2]) for doc, s in spans()
             if INSTALLED_PATH.match(s)]
    named += [(doc, s, ROOT / "tim_bench" / s) for doc, s in spans()
              if (m := ENGINE_PATH.match(s)) and m.group(1) in engine]
    assert len(named) >= 2
    missing = sorted({f"{doc}: {s}" for doc, s, path in named if not path.is_file()})
    assert not missing, "docs name engine or installed module files that do not exist:\n" + "\n".join(missing)


@pytest.mark.skipif(sys.platform != "linux", reason="the docs name the Linux per-user folders")
def test_every_per_user_folder_a_doc_names_is_where_the_code_puts_it(tmp_path: Path, monkeypatch) -> None:
    """``~/.local/share/tim-bench/results`` and the like, as the code places them with no variable set."""
    for name in (RESULTS_ENV, LEADERBOARD_ENV, CACHE_ENV, "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    used = {default_store(), default_leaderboard_dir(), cache_dir(), FingerprintCache(tmp_path).path.parent}
    named = {(doc, m) for doc in DOCS for m in USER_DIR.findall(doc.read_text(encoding="utf-8"))}
    assert len({m for _, m in named}) >= 3
    wrong = sorted(f"{doc.name}: {m}" for doc, m in named if tmp_path / m[2:] not in used)
    assert not wrong, f"docs name per-user folders the code does not use (it uses {sorted(map(str, used))}):\n" + \
        "\n".join(wrong)


def test_every_module_and_name_a_doc_names_exists() -> None:
    missing = sorted({f"{doc}: {s}" for doc, s in spans()
                      if MODULE.match(s) and s not in ENTRY_POINT_GROUPS and not resolves(s)})
    assert not missing, "docs name modules or names that do not exist:\n" + "\n".join(missing)


def test_every_command_a_doc_names_exists() -> None:
    commands = {c.replace("_", "-") for c in COMMANDS}
    missing = sorted({f"{doc}: {s}" for doc, s in spans()
                      if (m := COMMAND.match(s)) and m.group(1) not in commands})
    assert not missing, "docs name tim-bench commands that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_config_key_a_doc_names_exists(section: str) -> None:
    fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
    missing = sorted({f"{doc}: {s}" for doc, s in spans()
                      if (m := CONFIG_KEY.match(s)) and m.group(1) == section and m.group(2) not in fields})
    assert not missing, f"docs name {section} keys the config schema does not have:\n" + "\n".join(missing)


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """README's "Install and run the tests" block is, character for character, the command .ci/run executes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*Install and run the tests\*\*.*?```bash\n(.*?)\n```", readme, re.S)
    assert block, "README.md has no 'Install and run the tests' command block"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert block.group(1).strip() in ci, f"{block.group(1)!r} is not a line of .ci/run"
    assert "-m slow" in block.group(1) and '-m "not slow"' in block.group(1)  # both sets, explicitly
