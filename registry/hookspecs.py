"""The hooks a plugin may implement (pluggy hookspecs, checked when a plugin loads): for what a registering
decorator cannot do. Recipe folders are ``tim_bench.configs`` entry points, not a hook (docs/writing-plugins.md 2).

>>> from tim_bench_registry import hookimpl
>>> @hookimpl
... def tim_bench_run_finished(record, work_dir):
...     print(work_dir, record.metrics)
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from .run_record import RunRecord

PROJECT = "tim_bench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def tim_bench_register(registries: Mapping[str, Any]) -> None:
    """Register components explicitly, e.g. ``registries["datasets"].register_module(module=MyData)``.

    Historic: pluggy calls it for every plugin, also for one registered after the first call."""


#: The warning a plugin implementing the retired ``tim_bench_config_dirs`` hook gets when it registers.
_CONFIG_DIRS_DEPRECATION = DeprecationWarning(
    "the tim_bench_config_dirs hook is deprecated since plugin contract 1.1 and is removed in 2.0: declare the "
    "config folders in the plugin's pyproject as [project.entry-points.\"tim_bench.configs\"] entry points "
    "(NAME = \"my_package.configs\"), which tim-bench finds without importing the plugin.")


@hookspec(warn_on_impl=_CONFIG_DIRS_DEPRECATION)
def tim_bench_config_dirs() -> list[str]:  # type: ignore[empty-body]  # a hookspec has no body
    """Deprecated: folders of config files this plugin ships (searched by file stem); declare them as
    ``tim_bench.configs`` entry points instead. Still honoured, with a warning, until contract 2.0."""


@hookspec
def tim_bench_run_finished(result: Mapping[str, Any], record: RunRecord, work_dir: str, results_dir: str | None) -> None:
    """Called once on rank 0 after a run wrote its result.json (e.g. to notify an experiment tracker).

    ``record`` is that record as a ``RunRecord`` (its ``schema`` says which keys it follows), ``result`` the same
    as the dict written to result.json, ``results_dir`` the results store the run was given (None: the default
    store). tim-bench's own results store (``tryfirst``, so a record is stored before a tracker hears of it) and
    per-run plots are implementations of this hook; an implementation may take any subset of the arguments. An
    exception stops the run with it.
    """
