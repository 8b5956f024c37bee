"""`tim-bench suite CONFIG... [--seeds 0 1 2] [--launcher local|slurm]`: run configs x seeds, then print their
leaderboard."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..rules import COUNT, NON_NEGATIVE, POSITIVE, POSITIVE_INT, cli_number
from .common import STORE_DEFAULT, add_cfg_options, config_argument
from .leaderboard import add_reference_args

if TYPE_CHECKING:
    from ..launch.settings import LaunchSettings
    from ..leaderboard.suite import Check

LAUNCHERS = ("sequential", "local", "slurm")

EXIT_RUN_FAILED = 1
EXIT_OUTSIDE_TOLERANCE = 3
EXIT_DETACHED = 4


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suite", help="run several configs and seeds (here, on local GPUs/CPUs or on SLURM), skipping "
                                     "stored ones, then show the leaderboard",
                       description="Run every CONFIG with every seed, skip pairs whose recipe (config and data "
                                   "fingerprint) and seed are already in the results store unless --rerun, go on "
                                   "past a failed run, and print the leaderboard of the suite's runs at the end. "
                                   "Each pair is claimed in the results store before it trains, so suites started "
                                   "side by side run it once. --launcher local runs the jobs in parallel on this "
                                   "machine (one per GPU, or --jobs N CPU processes); --launcher slurm submits "
                                   "them as a SLURM job array through submitit.",
                       epilog=f"Exit status: 0 all good; {EXIT_RUN_FAILED} a run failed; {EXIT_OUTSIDE_TOLERANCE} "
                              f"(with --against-reference) a measured metric is outside the tolerance of its "
                              f"published value; {EXIT_DETACHED} detached (jobs go on; run the same command again "
                              f"to follow them).")
    p.add_argument("configs", nargs="*", metavar="CONFIG", type=config_argument(), help="config files or shipped config names")
    p.add_argument("--seeds", nargs="+", type=cli_number(COUNT), metavar="SEED",
                   help="seeds to run (default: each config's seed)")
    p.add_argument("--rerun", action="store_true", help="run again even when the store already holds the run")
    add_cfg_options(p, "train_cfg.max_epochs=5 (applied to every run)")
    p.add_argument("--work-dir-root", metavar="DIR",
                   help="put each run in DIR/<config>/seed<S>-<time> (default: the config's work dir)")
    p.add_argument("--results-dir", metavar="DIR",
                   help=f"results store folder (default: the config's results_dir, else {STORE_DEFAULT})")
    add_reference_args(p)
    p.add_argument("--against-reference", action="store_true",
                   help="check each measured metric against its published TIM row and exit 3 when one is outside "
                        "(runs on make-synthetic data are skipped with a note)")
    p.add_argument("--tolerance", type=cli_number(NON_NEGATIVE), metavar="POINTS",
                   help="allowed |measured - published| in percentage points (default: each reference row's, 3)")
    launch = p.add_argument_group("launching", "where the jobs run (flags win over --launcher-config)")
    launch.add_argument("--launcher", choices=LAUNCHERS,
                        help="sequential (default: one run after another in this process), local (parallel "
                             "processes of this machine) or slurm (a job array through submitit)")
    launch.add_argument("--launcher-config", metavar="FILE",
                        help="a python file with launcher = dict(partition=..., gpus_per_job=..., time_min=..., "
                             "account=..., sbatch=dict(qos='high'), setup=['module load cuda'])")
    launch.add_argument("--jobs", type=cli_number(POSITIVE_INT), metavar="N",
                        help="local: jobs at once (default: one per GPU, else 1); CPU jobs share the CPU threads")
    launch.add_argument("--gpus-per-job", type=cli_number(COUNT), metavar="N",
                        help="GPUs per run (default 1 on SLURM and where GPUs are visible); more than 1 runs "
                             "torchrun with N processes")
    launch.add_argument("--partition", help="SLURM partition")
    launch.add_argument("--account", help="SLURM account")
    launch.add_argument("--time", dest="time_min", type=cli_number(POSITIVE_INT), metavar="MINUTES",
                        help="SLURM time limit per job in minutes (default 1440)")
    launch.add_argument("--cpus-per-job", type=cli_number(POSITIVE_INT), metavar="N", help="SLURM CPUs per job")
    launch.add_argument("--mem-gb", type=cli_number(POSITIVE), metavar="GB", help="SLURM memory per job")
    launch.add_argument("--sbatch", nargs="+", default=[], metavar="KEY=VALUE",
                        help="extra #SBATCH options, e.g. qos=high constraint=a100")
    launch.add_argument("--setup", action="append", default=[], metavar="LINE",
                        help="a shell line the sbatch script runs first, e.g. 'module load cuda' (repeatable)")
    launch.add_argument("--max-parallel", type=cli_number(POSITIVE_INT), metavar="N",
                        help="SLURM: at most N jobs of the array at once")
    launch.add_argument("--cluster", choices=("slurm", "local"),
                        help="submitit cluster of --launcher slurm: local runs the same jobs as processes of this "
                             "machine (a test of the SLURM path without a cluster)")
    launch.add_argument("--poll", dest="poll_s", type=cli_number(POSITIVE), metavar="SECONDS",
                        help="seconds between two looks at the jobs (default: 1 locally, 30 on SLURM)")
    launch.add_argument("--dry-run", action="store_true",
                        help="print the jobs (and the sbatch script) without running or submitting anything")
    launch.add_argument("--detach", action="store_true",
                        help="submit and return at once (SLURM); follow later with --status or the same command")
    launch.add_argument("--status", action="store_true",
                        help="show where this suite's jobs stand (every launched suite of the store without "
                             "CONFIGs) and exit")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> LaunchSettings:
    from ..launch.settings import load_settings, parse_sbatch_options
    flags = {name: getattr(args, name) for name in ("launcher", "jobs", "gpus_per_job", "partition", "account",
                                                    "time_min", "cpus_per_job", "mem_gb", "max_parallel", "cluster",
                                                    "poll_s")}
    flags.update(sbatch=parse_sbatch_options(args.sbatch), setup=args.setup)
    return load_settings(args.launcher_config, flags)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..launch.plan import plan_suite, suite_id
    from ..launch.state import SuiteFolder
    from ..leaderboard.store import store_dir

    settings = _settings(args)
    store = store_dir(args.results_dir).absolute()
    if args.status:
        return _status(args, store)
    if not args.configs:
        print("tim-bench suite: give at least one CONFIG (or --status to see launched suites).", file=sys.stderr)
        return 2
    from ..config import load_config
    for config in args.configs:  # a missing or broken config stops the suite before anything trains
        load_config(config, args.cfg_options)
    folder = SuiteFolder(store, suite_id(args.configs, args.seeds, args.cfg_options, args.work_dir_root))
    gpus = 0
    if settings.launcher != "sequential":
        from ..launch.local import visible_gpus
        gpus = settings.gpus(len(visible_gpus()) if settings.launcher == "local" else 0)
    elif settings.gpus_per_job:
        gpus = settings.gpus_per_job
    plan = plan_suite(args.configs, args.seeds, rerun=args.rerun, results_dir=args.results_dir,
                      cfg_options=args.cfg_options, work_root=args.work_dir_root, gpus=gpus)
    if args.dry_run:
        _dry_run(plan, settings, folder)
        return EXIT_RUN_FAILED if plan.broken else 0
    if settings.launcher == "sequential":
        from ..launch.suite import run_sequential
        outcomes = run_sequential(plan)
    else:
        from ..launch.suite import run_launched
        launched = run_launched(plan, settings, folder, sys.argv, detach=args.detach)
        if launched is None:
            return EXIT_DETACHED
        outcomes = launched
    return _report(args, outcomes)


def _report(args: argparse.Namespace, outcomes: list) -> int:
    from tabulate import tabulate  # imported when a table is printed: parsing stays light
    from ..leaderboard.publish import publish
    from ..leaderboard.reference import load_references
    from ..leaderboard.suite import check_against_reference, synthetic_runs
    from ..leaderboard.tables import build_tables

    records = [o.record for o in outcomes if o.record is not None]
    references = [] if args.no_reference else load_references(args.reference_dir)
    if records:
        publish(build_tables(records, references), "terminal")
    print(tabulate([(o.config, "-" if o.seed is None else o.seed, o.status,
                     o.record["run_id"] if o.record else o.error) for o in outcomes],
                   headers=["config", "seed", "status", "run id / error"], tablefmt="simple", disable_numparse=True))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        logs = [o.log for o in failed if o.log]
        print(f"{len(failed)} of {len(outcomes)} runs failed (see above); " +
              (f"their logs: {', '.join(logs)}" if logs else
               "run one alone with `tim-bench -v run CONFIG` for its traceback") + ".")
    status = EXIT_RUN_FAILED if failed else 0
    if args.against_reference:
        skipped = synthetic_runs(records)
        if skipped:
            print(f"Note: {len(skipped)} runs used generated data (make-synthetic) and are not checked against the "
                  f"paper: {', '.join(skipped)}.")
        checks = check_against_reference(records, references or load_references(args.reference_dir),
                                         args.tolerance)
        if not _report_checks(checks):
            status = status or EXIT_OUTSIDE_TOLERANCE
    return status


def _dry_run(plan, settings: LaunchSettings, folder) -> None:
    """Print what would run, where, and (SLURM) the sbatch script of the job array; nothing is written."""
    for job, record in plan.stored:
        print(f"skip  {job.given} seed {job.seed}: already stored as {record['run_id']}")
    for config, seed, error in plan.broken:
        print(f"fail  {config} seed {seed}: {error}")
    if settings.launcher == "local":
        from ..launch.local import LocalLauncher
        launcher = LocalLauncher(settings, folder)
        print(f"local launcher: {len(launcher.slots)} jobs at once ({', '.join(','.join(s) for s in launcher.slots)}), "
              f"{launcher.threads} CPU threads each")
    for job in plan.jobs:
        how = (f"torchrun x{job.gpus}" if job.gpus > 1 else f"{job.gpus} GPU" if job.gpus else "CPU")
        print(f"job   {job.key}: {job.config} seed {job.seed} ({how}); recipe {job.recipe_hash[:12]}; work dir under "
              f"{job.work_root}; results {job.results_dir}")
    if settings.launcher == "slurm" and plan.jobs:
        from ..launch.slurm import sbatch_script
        print(f"# sbatch script of the job array ({len(plan.jobs)} tasks), as submitit writes it:")
        print(sbatch_script(settings, folder, len(plan.jobs), f"tim-bench-{folder.id}"))
    print(f"{len(plan.jobs)} jobs would run ({settings.launcher}); nothing was submitted.")


def _status(args: argparse.Namespace, store) -> int:
    """Where the jobs of this suite (or every launched suite of the store) stand."""
    from tabulate import tabulate  # imported when a table is printed: parsing stays light
    from ..launch.plan import suite_id
    from ..launch.state import SuiteFolder, all_suites
    from ..launch.suite import status_lines

    folders = [SuiteFolder(store, suite_id(args.configs, args.seeds, args.cfg_options, args.work_dir_root))] \
        if args.configs else all_suites(store)
    folders = [f for f in folders if (f.path / "suite.json").is_file()]
    if not folders:
        print(f"No launched suite {'of these configs ' if args.configs else ''}in {store} (a sequential suite keeps "
              f"no state; launch one with --launcher local or slurm).")
        return 1 if args.configs else 0
    launcher_states = None
    try:
        import submitit
        launcher_states = lambda key, handle: str(submitit.SlurmJob(folder=handle["folder"],  # noqa: E731
                                                                    job_id=handle["job_id"]).state)
    except ImportError:
        pass
    for folder in folders:
        data = folder.read()
        print(f"suite {folder.id} ({data.get('launcher')}; {' '.join(data.get('command') or [])})")
        print(tabulate(status_lines(folder, launcher_states), headers=["job", "state", "detail", "log"],
                       tablefmt="simple", disable_numparse=True))
    return 0


def _report_checks(checks: list[Check]) -> bool:
    """Print the reference checks; True when every one passed."""
    from tabulate import tabulate  # imported when a table is printed: parsing stays light
    if not checks:
        print("No measured metric has a published value of the same dataset and split to check against.")
        return True
    print(tabulate([(c.run_id, c.metric, f"{c.measured:.2f}", f"{c.published:.2f}",
                     f"{c.measured - c.published:+.2f}", f"{c.tolerance:g}", "ok" if c.passed else "OUTSIDE")
                    for c in checks],
                   headers=["run", "metric", "measured", "published", "diff", "tolerance", "check"],
                   tablefmt="simple", disable_numparse=True))
    outside = [c for c in checks if not c.passed]
    if outside:
        print(f"{len(outside)} of {len(checks)} metrics are outside the tolerance of their published TIM value.")
    return not outside
