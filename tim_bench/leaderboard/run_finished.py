"""tim-bench's own work when a run finishes, as built-in implementations of the ``tim_bench_run_finished`` hook
(entry point ``run_finished``): the record goes to the results store first, then the run's pictures are drawn.

The modules they call are imported when a run finishes, not when the plugin loads (matplotlib is slow to import).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tim_bench_registry import RunRecord, TimBenchError, hookimpl, plugin_manager

log = logging.getLogger("tim_bench")


@hookimpl(specname="tim_bench_run_finished", tryfirst=True)
def store_record(record: RunRecord, results_dir: str | None) -> None:
    """Add the run to the results store, before any other implementation sees it (a refused record stops the run)."""
    from .store import add_record
    log.info("stored in the results store as %s", add_record(record, results_dir))


@hookimpl(specname="tim_bench_run_finished")
def draw_run_plots(result: Mapping[str, Any]) -> None:
    """Write the run's curves, per-class accuracy and confusion pictures to ``WORK_DIR/plots/``."""
    from .plots import write_run_plots
    write_run_plots(result)


def check_registered() -> None:
    """Refuse to start a run whose record would go nowhere: an install older than the ``run_finished`` entry point
    (a source checkout not reinstalled) has no store implementation."""
    names = {impl.function.__name__ for impl in plugin_manager().hook.tim_bench_run_finished.get_hookimpls()
             if impl.plugin_name == __name__}
    if "store_record" not in names:
        raise TimBenchError("The built-in results store (entry point run_finished = tim_bench.leaderboard."
                            "run_finished) is not registered, so this run would not be recorded; reinstall tim-bench "
                            "(pip install -e .) to refresh its entry points.")
