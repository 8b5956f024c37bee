"""The plugin contract is versioned and enforced: a part that breaks its Protocol, or a plugin declaring contract
versions that exclude this one, is refused with one sentence when it registers, and never stops other commands."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_broken_plugin import install_broken_plugin

from bad_input import assert_clear_error, run_cli
from helpers import tim_bench
from tim_bench_registry import (CONTRACT_VERSION, FEATURES, METRICS, RUN_RECORD_SCHEMA, PluginContractError,
                                RunRecord, build, import_custom)
from tim_bench_registry.version import supports

NO_TASKS = '''
from tim_bench_registry import DATASETS


@DATASETS.register_module()
class NoTasks:
    def __init__(self, data_root):
        self.data_root = data_root

    def splits(self):
        return ("train",)

    def load(self, split):
        raise AssertionError("never read: the plugin is refused before any data")
'''

WRONG_METRIC = '''
from tim_bench_registry import METRICS


@METRICS.register_module()
class OneArgumentMetric:
    main_metric = "top1"

    def __call__(self, predictions):
        return {"top1": 0.0}
'''

FUTURE_CONTRACT = '''
from tim_bench_registry import DATASETS

TIM_BENCH_CONTRACT = ">=2,<3"


@DATASETS.register_module()
class FromTheFuture:
    def __init__(self, data_root):
        pass

    def splits(self):
        return ("train",)

    def tasks(self):
        return ()

    def load(self, split):
        raise AssertionError("never read")
'''


def _skipped_with_one_sentence(tmp_path, source: str, *needles: str) -> str:
    """Install ``source`` as a third-party entry point; `plugins` and `zoo` still work, the plugin is named once."""
    install_broken_plugin(tmp_path / "site", textwrap.dedent(source))
    env = {"PYTHONPATH": str(tmp_path / "site")}
    listing = tim_bench("plugins", "AVE*", env=env)
    assert "AVEAccuracy" in listing.stdout and "skipped plugins (1)" in listing.stdout
    assert "Traceback" not in listing.stderr
    warning = [line for line in listing.stderr.splitlines() if "is skipped" in line]
    assert len(warning) == 1 and "broken = broken_bench (broken-bench)" in warning[0], listing.stderr
    for needle in needles:
        assert needle in warning[0], warning[0]
    zoo = tim_bench("zoo", "ave_vgg", env=env)
    assert "ave_vgg" in zoo.stdout and zoo.stderr.count("is skipped") == 1
    return warning[0]


def _registered_in_fresh_process(tmp_path, registry: str, name: str) -> bool:
    script = (f"import tim_bench_registry as r; r.plugin_manager(); print({name!r} in r.{registry}.module_dict)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""}, check=True)
    return done.stdout.strip() == "True"


def test_a_dataset_plugin_without_tasks_is_skipped_naming_the_method_and_protocol(tmp_path):
    _skipped_with_one_sentence(tmp_path, NO_TASKS, "broken_bench.NoTasks", "does not define tasks()",
                               "DatasetPlugin Protocol")
    assert not _registered_in_fresh_process(tmp_path, "DATASETS", "NoTasks")


def test_asking_for_a_part_of_a_skipped_plugin_says_it_was_skipped_and_why(tmp_path):
    """Not "must be installed": it is installed; the lookup names the skipped entry point and its reason."""
    install_broken_plugin(tmp_path / "site", textwrap.dedent(NO_TASKS))
    script = ("import tim_bench_registry as r\ntry:\n    r.lookup(r.DATASETS, 'NoTasks')\n"
              "except r.UnknownPluginError as exc:\n    print(exc)")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""}, check=True)
    assert "No dataset plugin named 'NoTasks'" in done.stdout, done.stdout
    assert "Installed but skipped" in done.stdout and "broken = broken_bench (broken-bench)" in done.stdout
    assert "does not define tasks()" in done.stdout, done.stdout


def test_a_metric_with_a_wrong_signature_is_skipped(tmp_path):
    _skipped_with_one_sentence(tmp_path, WRONG_METRIC, "OneArgumentMetric", "defines __call__(predictions)",
                               "__call__(predictions, annotations)", "Metric Protocol")


def test_an_entry_point_declaring_another_contract_version_is_skipped_and_takes_back_its_parts(tmp_path):
    _skipped_with_one_sentence(tmp_path, FUTURE_CONTRACT, "supports tim-bench plugin contract >=2,<3",
                               f"not this tim-bench's {CONTRACT_VERSION}")
    assert not _registered_in_fresh_process(tmp_path, "DATASETS", "FromTheFuture")


def test_custom_imports_of_a_nonconforming_module_stops_with_the_sentence(tmp_path, monkeypatch):
    (tmp_path / "no_tasks_custom.py").write_text(textwrap.dedent(NO_TASKS).replace("NoTasks", "NoTasksCustom"))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginContractError, match=r"NoTasksCustom \(registered in DATASETS\) does not define tasks\(\)"):
        import_custom(["no_tasks_custom"])


def test_a_config_whose_custom_imports_break_the_contract_says_so_not_that_it_cannot_be_read(tmp_path, monkeypatch):
    (tmp_path / "no_tasks_in_config.py").write_text(textwrap.dedent(NO_TASKS).replace("NoTasks", "NoTasksInConfig"))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "uses_it.py"
    recipe = Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py"
    config.write_text(f'_base_ = "{recipe}"\ncustom_imports = dict(imports=["no_tasks_in_config"])\n')
    outcome = run_cli(["check-data", str(config)])
    assert_clear_error(outcome, f"Config {config} loads a plugin through custom_imports that was refused",
                       "NoTasksInConfig (registered in DATASETS) does not define tasks()",
                       "drop its module from the config's custom_imports", code=2)
    assert "Could not read config" not in outcome.output


def test_an_attribute_set_in_init_is_checked_on_the_built_object():
    @FEATURES.register_module(name="FeaturesWithoutDim")
    class FeaturesWithoutDim:
        def __init__(self, data_root: str) -> None:
            self.data_root = data_root

        def open(self, split: str, video_id: str) -> None:
            raise AssertionError("never read")

    try:
        with pytest.raises(PluginContractError, match="has no attribute 'dim'.*FeatureSource Protocol"):
            build(FEATURES, dict(type="FeaturesWithoutDim"), data_root="/nonexistent")
    finally:
        FEATURES.remove("FeaturesWithoutDim")


def test_a_metric_registered_in_process_is_refused_at_once():
    with pytest.raises(PluginContractError, match="does not define __call__"):
        @METRICS.register_module()
        class NotCallable:
            main_metric = "top1"
    assert "NotCallable" not in METRICS.module_dict


def test_a_challenge_without_a_read_only_member_is_refused_naming_it():
    """The Challenge Protocol's data members are read-only properties (a frozen dataclass follows them); an entry
    lacking one is refused as it registers, like a missing annotated attribute."""
    from dataclasses import dataclass

    from tim_bench_registry import CHALLENGES

    @dataclass(frozen=True)
    class NoIdColumn:
        name: str = "no-id-column"
        writer: str = "CSVWriter"
        has_t_mod: bool = False
        scorer: None = None

        def read(self, path, max_mib=None):
            raise AssertionError("never read")

    with pytest.raises(PluginContractError, match="has no attribute 'id_column'.*Challenge Protocol"):
        CHALLENGES.register("no-id-column", NoIdColumn())
    assert "no-id-column" not in CHALLENGES


@pytest.mark.parametrize(("spec", "expected"), [(">=1,<2", True), (">=1.0", True), ("==1.0.0", True), (">=2", False),
                                                ("<1", False), (">=0.9, !=1.0.0", False)])
def test_contract_ranges_are_version_specifiers(spec, expected):
    assert supports(spec, "1.0.0") is expected


def test_a_range_that_is_not_one_is_a_value_error():
    with pytest.raises(ValueError, match="not a version specifier"):
        supports("version one", "1.0.0")


def test_run_records_carry_a_schema_and_old_ones_stay_readable():
    old = {"run_id": "r", "config_name": "c", "config_hash": "h", "dataset": "AVE", "seed": 0, "split": "val",
           "metrics": {"top1": 50.0}, "created": "2024-01-01T00:00:00"}
    assert RunRecord.from_dict(old).schema is None and "schema" not in RunRecord.from_dict(old).to_dict()
    new = RunRecord(**old)
    assert new.to_dict()["schema"] == RUN_RECORD_SCHEMA == 1
    assert RunRecord.from_dict(new.to_dict()) == new


def test_the_retired_dataset_spec_still_imports_with_a_warning_naming_leaderboard_spec():
    """Contract 1.1 renamed DatasetSpec (LEADERBOARDS' entry type) to LeaderboardSpec; the old name keeps working,
    from the package and from its module, warning until contract 2 (docs/writing-plugins.md section 7)."""
    import tim_bench_registry
    from tim_bench_registry import LEADERBOARDS, LeaderboardSpec, plugin_manager
    for module in ("tim_bench_registry", "tim_bench_registry.leaderboard"):
        with pytest.warns(DeprecationWarning, match="DatasetSpec is LeaderboardSpec since contract 1.1"):
            old = getattr(sys.modules[module], "DatasetSpec")
        assert old is LeaderboardSpec
    with pytest.raises(AttributeError, match="no attribute 'DatasetSpek'"):
        getattr(tim_bench_registry, "DatasetSpek")
    plugin_manager()
    assert LEADERBOARDS.get("AVE") is not None and isinstance(LEADERBOARDS.get("AVE"), LeaderboardSpec)
    assert "DatasetSpec" not in tim_bench_registry.__all__ and "LeaderboardSpec" in tim_bench_registry.__all__
