"""Leaderboards: store every run's record, show it beside the published TIM rows, compare runs.

One job per module:

* ``spec``: each dataset's leaderboard spec, which metrics its table shows (its benchmark plugin's
  ``leaderboard.py`` registers it in ``LEADERBOARDS``);
* ``store``: run records on disk, one JSON file per run, never overwritten (each a contract ``RunRecord``,
  ``tim_bench_registry.run_record``, the schema of result.json);
* ``claims``: a (recipe, seed) claimed in the store before it trains, so side-by-side suites run it once;
* ``chance``: majority-class and uniform-chance rows from a scored split's class counts;
* ``reference``: the published rows the benchmark plugins ship (and extra folders of them);
* ``tables``: runs grouped by config, mean and std over seeds, best marks, deltas to the reference;
* ``formats`` (terminal, markdown, CSV, LaTeX) and ``html`` (sortable page): the built-in renderings;
* ``builtin_formats``: the built-in ``FORMATS`` entries; ``publish``: one format to its default file, a chosen
  file, or stdout;
* ``compare``: is B better than A: the main metric, Welch's t-test across seeds, a paired bootstrap over segments;
* ``configdiff``: the resolved-config keys that tell runs apart (compare, row labels);
* ``plots``: PNG pictures of one run in its work dir;
* ``suite``: several configs and seeds in sequence, and the check against the published rows;
* ``run_finished``: the built-in ``tim_bench_run_finished`` hooks (store the record, draw the plots);
* ``errors``: ``LeaderboardError``, the package's one error type.
"""
