"""Arguments shared by the commands that read a config."""
from __future__ import annotations

import argparse

from mmengine.config import DictAction


class CfgOptionsAction(DictAction):
    """mmengine's DictAction, with an item lacking ``=`` answered by a usage error that names it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values, option_string=None):
        bad = [v for v in values or [] if "=" not in v or v.startswith("=")]
        if bad:
            parser.error(f"--cfg-options {bad[0]!r} is not KEY=VALUE (e.g. train_cfg.max_epochs=5); every item "
                         f"needs a key, '=' and a value.")
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser,
                    example: str = "data_root=data/ave train_cfg.max_epochs=5") -> None:
    """mmengine-style ``--cfg-options key=value ...`` overrides."""
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, default={}, metavar="KEY=VALUE",
                        help=f"override config keys, e.g. {example}")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """CONFIG, --work-dir and --cfg-options."""
    parser.add_argument("config", help="config file (configs/ave_vgg.py) or the name of a shipped config (ave_vgg)")
    parser.add_argument("--work-dir", help="where checkpoints, logs and results go, used exactly as given (default: "
                                           "the config's work_dir, else a new folder work_dirs/<config>/<time>)")
    add_cfg_options(parser)


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a tim-bench checkpoint (best.pth) or an original TIM .pth.tar")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full unpickling for checkpoints that hold Python objects (only files you trust)")


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """--resume and --overwrite of the commands that train (run, train)."""
    parser.add_argument("--resume", action="store_true",
                        help="continue from WORK_DIR/last.pth; without --work-dir, the latest unfinished run folder "
                             "of the config")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow training again in a work dir that holds a finished run (its files are replaced)")
