"""`tim-bench`: one console command, one module per subcommand (each exposes ``add_parser``)."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from tim_bench_registry import TimBenchError

#: Subcommand modules under tim_bench.cli, in the order --help lists them.
COMMANDS = (
    "run", "train", "test", "predict", "evaluate", "submit", "leaderboard", "compare", "suite", "make_synthetic",
    "plugins", "check_parity", "from_tim_args", "check_data",
    "new_plugin",
    "extract_features", "zoo", "download",
)
EXIT_BAD_INPUT = 2


class VersionAction(argparse.Action):
    """``--version``: the package version and source revision, looked up only when asked for (git is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace, values, option_string=None) -> None:
        from ..runner.record import version_text
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tim-bench", description="Train, evaluate and compare TIM (Time Interval Machine) on audio-visual "
                                      "action recognition benchmarks.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details and show tracebacks")
    parser.add_argument("--version", action=VersionAction,
                        help="print the tim-bench version and git revision (with a dirty flag) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tim_bench.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_extra_args", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_args = extra  # a command's plugin-defined options (evaluate's challenge, make-synthetic's generator)
    _log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("tim_bench").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        code = int(args.func(args) or 0)
        if "torch.distributed" in sys.modules:  # only commands that ran the model joined a process group
            from ..runner.distributed import shutdown
            shutdown()
        return code
    except TimBenchError as exc:
        if args.verbose:
            raise
        print(f"tim-bench {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _close_log_files()


class _CurrentStderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when it emits, so that in-process calls (tests, notebooks)
    whose stderr is swapped between calls never write to a closed stream."""

    @property
    def stream(self):  # noqa: D102  (logging.StreamHandler's attribute)
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _log_to_stderr(level: int) -> None:
    """Messages to stderr, once per process (as logging.basicConfig, which would keep the first stderr for good)."""
    root = logging.getLogger()
    if not any(isinstance(h, _CurrentStderr) for h in root.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def _close_log_files() -> None:
    """A command's log.txt ends with it: nothing a later command in this process logs lands there."""
    logger = logging.getLogger("tim_bench")
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()


if __name__ == "__main__":
    sys.exit(main())
