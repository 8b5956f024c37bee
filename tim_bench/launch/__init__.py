"""Running a suite (configs x seeds) in sequence, as parallel local processes, or as SLURM jobs through submitit.

``plan`` turns configs and seeds into jobs (one per (recipe, seed), skipping what the store holds), ``job``
runs one job wherever it lands (claim in the store, train, record), ``local`` and ``slurm`` launch them,
``state`` follows them (progress, ``suite --status``, resuming a suite).
"""
