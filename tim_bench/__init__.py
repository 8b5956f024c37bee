"""tim-bench: train, evaluate and compare TIM (Time Interval Machine) on audio-visual action recognition.

The Python API (docs/python-api.md); importing ``tim_bench`` loads neither torch nor the plugins, each function
does when called::

    import tim_bench
    result = tim_bench.run("ave_vgg", data_root="data/ave", train_cfg=dict(max_epochs=1))
    result.metrics["acc_fused"]
    tim_bench.load_results()          # pandas.DataFrame, one row per stored run
    tim_bench.leaderboard_table()     # the leaderboard tables as one DataFrame
"""
from .api import RunResult, TestResult, download, leaderboard_table, load_results, predict, run, test, zoo
from .version import __version__

__all__ = ["RunResult", "TestResult", "__version__", "download", "leaderboard_table", "load_results", "predict",
           "run", "test", "zoo"]
