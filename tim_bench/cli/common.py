"""Arguments shared by the commands that read a config."""
from __future__ import annotations

import argparse

from collections.abc import Callable
from pathlib import Path

from ..recipe_folders import RecipeNotFoundError, find_declared_recipe, third_party_plugins_installed
from ..rules import COUNT, cli_number


class CfgOptionsAction(argparse.Action):
    """mmengine's DictAction (imported only when the option is given, so that parsing stays light), with an item
    lacking ``=`` answered by a usage error that names it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values, option_string=None):
        bad = [v for v in values or [] if "=" not in v or v.startswith("=")]
        if bad:
            parser.error(f"--cfg-options {bad[0]!r} is not KEY=VALUE (e.g. train_cfg.max_epochs=5); every item "
                         f"needs a key, '=' and a value.")
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest, nargs=self.nargs)(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser,
                    example: str = "data_root=data/ave train_cfg.max_epochs=5") -> None:
    """mmengine-style ``--cfg-options key=value ...`` overrides."""
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, default={}, metavar="KEY=VALUE",
                        help=f"override config keys, e.g. {example}")


#: What every command that reads a config says in its --help (as mmengine's docs do).
CONFIG_IS_PYTHON = ("configs are Python files, executed when loaded (with their _base_ files) by every command that "
                    "reads one, check-data included: use only configs you trust")


#: --work-dir help of the commands that train (run, train).
TRAIN_WORK_DIR = ("where checkpoints, log.txt, metrics.jsonl and result.json go, used exactly as given (default: the "
                  "config's work_dir, else a new folder work_dirs/<config>/<time>)")


def config_argument(run_dir: bool = False) -> Callable[[str], str]:
    """An argparse ``type`` for CONFIG: a config file, a shipped recipe's name (or, with ``run_dir``, a folder),
    given back unchanged; a name no declared recipe folder holds is a usage error with the closest names,
    answered before torch or any plugin loads (unless a third-party plugin may still ship it via the old hook)."""
    def check(value: str) -> str:
        if run_dir and Path(value).is_dir():
            return value
        try:
            find_declared_recipe(value)
        except RecipeNotFoundError as exc:
            if not third_party_plugins_installed():
                raise argparse.ArgumentTypeError(str(exc)) from None
        except ValueError:  # a name two plugins ship: the command's own lookup says which
            pass
        return value
    check.__name__ = "config"
    return check


def add_config_args(parser: argparse.ArgumentParser, work_dir: str | None = TRAIN_WORK_DIR,
                    run_dir: bool = False) -> None:
    """CONFIG (with ``run_dir`` also a run folder), --cfg-options and, with a help text saying what the command
    writes there, --work-dir."""
    parser.add_argument("config", type=config_argument(run_dir),
                        help="config file (configs/ave_vgg.py) or the name of a shipped config (ave_vgg)"
                        + ("; or a run folder (work_dirs/ave_vgg/<time>): its resolved config.py, and its best.pth "
                           "when no CHECKPOINT is given" if run_dir else "") + f"; {CONFIG_IS_PYTHON}")
    if work_dir is not None:
        parser.add_argument("--work-dir", help=work_dir)
    add_cfg_options(parser)


#: Where the results store is when no --results-dir is given (tim_bench.leaderboard.store.default_store).
STORE_DEFAULT = "$TIM_BENCH_RESULTS, else ~/.local/share/tim-bench/results (under $XDG_DATA_HOME when set)"
#: Where leaderboard files go when no --out/--out-dir is given (tim_bench.leaderboard.publish.default_leaderboard_dir).
LEADERBOARD_DEFAULT = ("$TIM_BENCH_LEADERBOARD, else ~/.local/share/tim-bench/leaderboard (under $XDG_DATA_HOME "
                       "when set)")


def add_seed_arg(parser: argparse.ArgumentParser) -> None:
    """--seed N: the config's ``seed`` (the same as ``--cfg-options seed=N``; the two must agree)."""
    parser.add_argument("--seed", type=cli_number(COUNT), metavar="N",
                        help="random seed of the run (default: the config's seed, else 0); the same as "
                             "--cfg-options seed=N, and both may be given only with the same value")


def merge_seed(parser_name: str, seed: int | None, cfg_options: dict) -> dict:
    """``cfg_options`` with ``seed`` set from --seed; a different ``--cfg-options seed=`` is a clear error."""
    if seed is None:
        return cfg_options
    if "seed" in cfg_options and str(cfg_options["seed"]) != str(seed):
        from tim_bench_registry import TimBenchError
        raise TimBenchError(f"`{parser_name} --seed {seed}` conflicts with --cfg-options seed={cfg_options['seed']}; "
                            f"give the seed once.")
    return {**cfg_options, "seed": seed}


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?",
                        help="a tim-bench checkpoint (best.pth), an original TIM .pth.tar, or a zoo checkpoint name "
                             "(e.g. tim_ave: fetched and verified; `tim-bench zoo`); default with a run folder: its "
                             "best.pth")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full unpickling for checkpoints that hold Python objects (only files you trust)")


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """--resume and --overwrite of the commands that train (run, train)."""
    parser.add_argument("--resume", action="store_true",
                        help="continue from WORK_DIR/last.pth; without --work-dir, the latest unfinished run folder "
                             "of the config")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow training again in a work dir that holds a finished run (its files are replaced)")
