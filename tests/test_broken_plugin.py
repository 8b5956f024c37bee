"""A third-party plugin that cannot load is skipped with one warning naming it; every other command still works."""
from __future__ import annotations

from pathlib import Path

from helpers import tim_bench


def install_broken_plugin(site: Path, error: str = "raise ImportError('needs libfoo 9')") -> None:
    """An installed distribution ``broken-bench`` whose ``tim_bench`` entry point imports a failing module."""
    (site / "broken_bench").mkdir(parents=True)
    (site / "broken_bench" / "__init__.py").write_text(error + "\n")
    info = site / "broken_bench-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-bench\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tim_bench]\nbroken = broken_bench\n")


def test_an_entry_point_that_fails_to_import_is_skipped_with_a_named_warning(tmp_path):
    install_broken_plugin(tmp_path / "site")
    env = {"PYTHONPATH": str(tmp_path / "site")}
    listing = tim_bench("plugins", "AVE*", env=env)
    assert "AVEAccuracy" in listing.stdout
    assert "broken = broken_bench (broken-bench)" in listing.stderr and "needs libfoo 9" in listing.stderr
    assert "skipped plugins (1)" in listing.stdout
    zoo = tim_bench("zoo", "ave_vgg", env=env)
    assert "ave_vgg" in zoo.stdout and zoo.stderr.count("is skipped") == 1


def test_a_plugin_with_a_misspelt_hook_is_skipped_too(tmp_path):
    install_broken_plugin(tmp_path / "site", "from tim_bench_registry import hookimpl\n\n\n@hookimpl\n"
                                             "def tim_bench_config_dir():\n    return []")
    done = tim_bench("zoo", "ave_vgg", env={"PYTHONPATH": str(tmp_path / "site")})
    assert "ave_vgg" in done.stdout and "tim_bench_config_dir" in done.stderr and "is skipped" in done.stderr
