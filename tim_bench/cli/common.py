"""Arguments shared by the commands that read a config."""
from __future__ import annotations

import argparse

from mmengine.config import DictAction


def add_cfg_options(parser: argparse.ArgumentParser,
                    example: str = "data_root=data/ave train_cfg.max_epochs=5") -> None:
    """mmengine-style ``--cfg-options key=value ...`` overrides."""
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help=f"override config keys, e.g. {example}")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """CONFIG, --work-dir and --cfg-options."""
    parser.add_argument("config", help="config file (configs/ave_vgg.py) or the name of a shipped config (ave_vgg)")
    parser.add_argument("--work-dir", help="where checkpoints, logs and results go (default: the config's work_dir, "
                                                 "else work_dirs/<config>)")
    add_cfg_options(parser)


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a tim-bench checkpoint (best.pth) or an original TIM .pth.tar")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full unpickling for checkpoints that hold Python objects (only files you trust)")
