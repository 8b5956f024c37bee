"""Published TIM reference rows, one JSON file each; installed as the data package ``tim_bench_reference``.

Read them through ``tim_bench.leaderboard.reference.load_references()``, which finds this folder in
an editable checkout and in a regular (wheel) install alike.
"""
