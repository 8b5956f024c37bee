"""`tim-bench new-plugin dataset` writes a package that installs, registers itself, trains and passes its own test."""
from __future__ import annotations

import json
import os
import sys

import pytest

from helpers import run_bounded, tim_bench
from tim_bench import __version__ as TIM_BENCH_VERSION
from tim_bench.cli.new_plugin import FILES, compatible_requirement, create_plugin, names
from tim_bench_registry import TimBenchError


def test_names_follow_the_snake_case_name():
    assert names("kitchen_clips") == {"name": "kitchen_clips", "package": "kitchen_clips",
                                      "class_name": "KitchenClips", "dist": "kitchen-clips",
                                      "requirement": compatible_requirement(TIM_BENCH_VERSION)}
    assert compatible_requirement("0.1.0") == "tim-bench>=0.1,<0.2"
    assert compatible_requirement("1.4.2") == "tim-bench>=1.4,<2"
    with pytest.raises(TimBenchError, match="'Kitchen-Clips' is not a snake_case identifier"):
        names("Kitchen-Clips")


def test_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(TimBenchError, match="is not empty"):
        create_plugin("dataset", "my_clips", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_writes_every_template_with_no_placeholder_left(tmp_path):
    written = create_plugin("dataset", "my_clips", tmp_path / "pkg")
    assert len(written) == len(FILES["dataset"]) and all(p.is_file() for p in written)
    for path in written:
        assert "${" not in path.read_text(), f"{path} still holds a template placeholder"
    assert 'my_clips = "my_clips.plugin"' in (tmp_path / "pkg" / "pyproject.toml").read_text()


@pytest.mark.slow
def test_generated_package_installs_lists_trains_and_passes_its_test(tmp_path):
    package, site = tmp_path / "my-clips", tmp_path / "site"
    tim_bench("new-plugin", "dataset", "my_clips", str(package))
    run_bounded([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(site),
                    "-q", str(package)], check=True, capture_output=True, text=True)
    env = {"PYTHONPATH": str(site)}

    listing = tim_bench("plugins", "MyClips*", env=env).stdout
    assert "MyClips " in listing and "entry point my_clips (my-clips)" in listing and "MyClipsAccuracy" in listing

    data = tmp_path / "data"
    run_bounded([sys.executable, "-c", f"from my_clips.example_data import make_example_data; "
                                          f"make_example_data({str(data)!r})"],
                   env={**os.environ, **env}, check=True)
    work = tmp_path / "work"
    tim_bench("run", "my_clips", "--work-dir", str(work), "--results-dir", str(tmp_path / "results"),
              "--cfg-options", f"data_root={data}", "model.d_model=32", "model.num_layers=1",
              "train_cfg.max_epochs=1", cwd=tmp_path, env=env)
    result = json.loads((work / "result.json").read_text())
    assert result["dataset"] == "MyClips" and set(result["metrics"]) == {"top1", "top5", "mca"}

    tests = run_bounded([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                           cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True)
    assert tests.returncode == 0 and "1 passed" in tests.stdout, tests.stdout + tests.stderr


def test_benchmark_kind_writes_every_part(tmp_path):
    written = create_plugin("benchmark", "kitchen_bench", tmp_path / "pkg")
    assert len(written) == len(FILES["benchmark"]) and all(p.is_file() for p in written)
    for path in written:
        assert "${" not in path.read_text(), f"{path} still holds a template placeholder"
    package = tmp_path / "pkg" / "src" / "kitchen_bench"
    assert {p.name for p in package.iterdir()} >= {"dataset.py", "metrics.py", "writer.py", "leaderboard.py",
                                                   "generator.py", "reference", "configs"}
    reference = json.loads((package / "reference" / "kitchen_bench_chance.json").read_text())
    assert reference["metrics"] == {"top1": 20.0} and reference["model"] == "chance level"


@pytest.mark.slow
def test_generated_benchmark_installs_generates_trains_ranks_and_submits(tmp_path):
    """The whole benchmark package works with no line of tim-bench changed: installed, it lists every part,
    makes its own data, trains, gets its own leaderboard table and writes its own submission file."""
    package, site = tmp_path / "kitchen-bench", tmp_path / "site"
    tim_bench("new-plugin", "benchmark", "kitchen_bench", str(package))
    run_bounded([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(site),
                 "-q", str(package)], check=True, capture_output=True, text=True)
    env = {"PYTHONPATH": str(site)}
    listing = tim_bench("plugins", "*kitchen*", env=env).stdout
    for part in ("KitchenBench ", "KitchenBenchAccuracy", "KitchenBenchSubmission", "kitchen_bench ",
                 "kitchen_bench_chance"):
        assert part in listing, listing

    data, work, results = tmp_path / "data", tmp_path / "work", tmp_path / "results"
    tim_bench("make-synthetic", "kitchen_bench", str(data), "--videos", "16", env=env)
    tim_bench("run", "kitchen_bench", "--work-dir", str(work), "--results-dir", str(results),
              "--cfg-options", f"data_root={data}", "model.d_model=32", "model.num_layers=1",
              "train_cfg.max_epochs=1", cwd=tmp_path, env=env)
    result = json.loads((work / "result.json").read_text())
    assert result["dataset"] == "KitchenBench" and result["split"] == "val" and result["synthetic_data"]
    submission = (work / "submission_kitchen_bench.csv").read_text().splitlines()
    test_segments = (data / "annotations" / "test.csv").read_text().splitlines()
    assert result["submissions"] == [str(work / "submission_kitchen_bench.csv")]
    assert submission[0].startswith("segment_id,prediction,score_0") and len(submission) == len(test_segments)

    table = tim_bench("leaderboard", "--results-dir", str(results), "--dataset", "KitchenBench", env=env).stdout
    assert "KitchenBench action recognition [KitchenBench]" in table and "[ref] kitchen_bench_chance" in table
    assert "kitchen_bench [synthetic data]" in table and "mean class acc." in table
    assert "majority class" in table and "uniform chance" in table  # from the class counts the run recorded

    tests = run_bounded([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True)
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout + tests.stderr
