"""The command line answers before anything heavy loads: --help, a mistyped command and a mistyped config name
import no torch, pandas, mmengine or plugin; typos get a did-you-mean; a filter that matches nothing says so."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input import run_cli
from helpers import run_bounded, tim_bench

HEAVY = ("torch", "pandas", "mmengine", "numpy", "tim_bench_registry", "tim_bench_plugins")
CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


def _loaded_after(argv: list[str]) -> tuple[list[str], int, str]:
    """(heavy top-level modules imported, exit code, output) of ``main(argv)`` in a fresh interpreter."""
    code = ("import contextlib, io, json, sys\n"
            "from tim_bench.cli.main import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):\n"
            "    try:\n"
            f"        rc = main({argv!r})\n"
            "    except SystemExit as exc:\n"
            "        rc = exc.code\n"
            f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
            "print(json.dumps([heavy, rc, buf.getvalue()]))\n")
    proc = run_bounded([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    heavy, rc, output = json.loads(proc.stdout)
    return heavy, rc, output


def test_help_lists_every_command_without_heavy_imports():
    heavy, rc, output = _loaded_after(["--help"])
    assert rc == 0 and heavy == [], heavy
    for word in ("run", "test", "make-synthetic", "extract-features"):
        assert f"\n    {word}" in output, output


def test_version_is_answered_without_heavy_imports():
    heavy, rc, output = _loaded_after(["--version"])
    assert rc == 0 and heavy == [], heavy
    assert output.startswith("tim-bench "), output


def test_mistyped_command_gets_a_did_you_mean_without_heavy_imports():
    heavy, rc, output = _loaded_after(["trian"])
    assert rc == 2 and heavy == [], heavy
    assert "invalid choice: 'trian'" in output and "did you mean 'train'?" in output, output


def test_command_summaries_agree_with_the_command_modules():
    from tim_bench.cli.main import COMMANDS, SUMMARIES, build_parser
    parser = build_parser()  # every module imported
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert set(SUMMARIES) == set(COMMANDS)
    assert {name.replace("_", "-"): text for name, text in SUMMARIES.items()} == helps


def test_a_format_name_gets_a_did_you_mean():
    outcome = run_cli(["leaderboard", "--format", "markdown"])
    assert outcome.code == 2 and "Did you mean 'md'?" in outcome.output, outcome.output


def test_plugins_filter_without_a_match_says_so_and_fails():
    proc = tim_bench("plugins", "NOMATCH", check=False)
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout
    assert "no registered name matches 'NOMATCH'" in proc.stderr
    matched = tim_bench("plugins", "ave*").stdout
    assert "AVE" in matched and "(none)" not in matched, matched  # only the registries it matched in


def test_evaluate_help_lists_each_challenges_own_options():
    proc = tim_bench("evaluate", "--help")
    assert "options of --challenge epic-100-action" in proc.stdout and "--tail-verbs" in proc.stdout
    assert "options of --challenge epic-sounds" in proc.stdout and "--exclude-background" in proc.stdout


def test_missing_checkpoint_creates_nothing(tmp_path):
    for command in ("test", "predict"):
        proc = subprocess.run([sys.executable, "-m", "tim_bench.cli.main", command, CONFIG,
                               str(tmp_path / "missing.pth")], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 2 and "missing.pth does not exist" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a failed command left files behind"


def test_run_dir_without_config_is_one_clear_error(tmp_path):
    outcome = run_cli(["test", str(tmp_path)])
    assert outcome.code == 2 and f"{tmp_path} is a folder without config.py" in outcome.output, outcome.output
    outcome = run_cli(["test", CONFIG])
    assert outcome.code == 2 and "No CHECKPOINT given" in outcome.output, outcome.output


@pytest.mark.parametrize("command", ["run", "train", "test", "predict", "check-data", "suite", "extract-features"])
def test_mistyped_config_name_is_answered_with_the_closest_recipes_before_heavy_imports(command):
    heavy, rc, output = _loaded_after([command, "ave_vgx"])
    assert rc == 2 and heavy == [], heavy
    assert "Config ave_vgx does not exist" in output and "Did you mean ave_vgg" in output, output


def test_shipped_recipes_are_found_by_name_without_importing_a_plugin():
    code = ("import json, sys\n"
            "from tim_bench.recipe_folders import find_declared_recipe\n"
            "paths = [str(find_declared_recipe(n)) for n in ('ave_vgg', 'epic_av', 'perception_omnivore', "
            "'extract_logmel_demo')]\n"
            f"print(json.dumps([paths, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})]))\n")
    proc = run_bounded([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    paths, heavy = json.loads(proc.stdout)
    assert heavy == [], heavy
    assert [Path(p).parent.name for p in paths] == ["configs", "configs", "extract", "configs"], paths
    assert all(Path(p).is_file() for p in paths)


def test_a_missing_config_path_is_never_the_shipped_recipe_of_its_name(tmp_path):
    """`run mine/ave_vgg.py` (a folder typo) must not train the shipped ave_vgg: no such file, and how to ask for it."""
    heavy, rc, output = _loaded_after(["run", str(tmp_path / "mine" / "ave_vgg.py")])
    assert rc == 2 and heavy == [], heavy
    assert "ave_vgg.py does not exist: no such file" in output and "give its name alone: ave_vgg" in output, output
