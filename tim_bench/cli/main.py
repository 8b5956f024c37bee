"""`tim-bench`: one console command, one module per subcommand (each exposes ``add_parser``).

Arguments are parsed before anything heavy is imported: only the module of the command given is loaded
(torch, pandas, mmengine and the plugins come with what that command needs), so --help and a mistyped
command answer at once.
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import re
import os
import signal
import sys
from collections.abc import Sequence

#: Subcommand modules under tim_bench.cli, in the order --help lists them.
COMMANDS = (
    "run", "train", "test", "predict", "evaluate", "submit", "leaderboard", "compare", "suite", "make_synthetic",
    "plugins", "check_parity", "from_tim_args", "check_data",
    "new_plugin",
    "extract_features", "zoo", "download",
)
#: Each command's one-line help as its module gives it (tests/test_cli_startup.py checks they agree), so that
#: the command list needs no module imported; a command missing here is imported to list it.
SUMMARIES = {
    "run": "train, pick the best checkpoint, evaluate it and record the result",
    "train": "train a model and keep its best checkpoint",
    "test": "evaluate a checkpoint on a labelled split (default: the val split)",
    "predict": "write per-segment predictions of a split",
    "evaluate": "score a challenge submission with the official metrics",
    "submit": "write the official challenge submission zip from predictions",
    "leaderboard": "tables of stored runs with the published TIM rows",
    "compare": "difference between two runs, with a paired bootstrap CI and p-value",
    "suite": "run several configs and seeds (here, on local GPUs/CPUs or on SLURM), skipping stored ones, then show "
             "the leaderboard",
    "make_synthetic": "write synthetic data in a dataset's official layout",
    "plugins": "list registered datasets, features, extractors, heads, models, metrics, writers, challenges, "
               "generators, leaderboards, formats, references, original TIM datasets",
    "check_parity": "compare the model with outputs recorded from the original TIM",
    "from_tim_args": "convert an original TIM command line into a tim-bench config and command",
    "check_data": "check annotations and features before training",
    "new_plugin": "create a plugin package to start from",
    "zoo": "list every shipped recipe with its published numbers and released weights",
    "download": "fetch a released checkpoint or extractor weights into the cache, verified",
    "extract_features": "turn raw audio/video into feature files (Omnivore, VideoMAE, Auditory SlowFast, VGG-19, "
                        "VGGish, log-mel, timm)",
}
EXIT_BAD_INPUT = 2
#: Options of tim-bench itself that take no value (the command is the first other word).
GLOBAL_FLAGS = ("-v", "--verbose")
#: A reader that closed the pipe early (`tim-bench plugins | head -1`): the status of a Unix tool killed by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


class VersionAction(argparse.Action):
    """``--version``: the package version and source revision, looked up only when asked for (git is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace, values, option_string=None) -> None:
        from ..runner.provenance import version_text
        print(version_text())
        parser.exit()


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` most likely meant: a close spelling ('trian' -> 'train'), else a choice spelt by
    letters of ``word`` in order from its first ('markdown' -> 'md'); None when nothing is near."""
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return close[0]
    abbreviations = [c for c in choices if c and word.startswith(c[0]) and _in_order(c, word)]
    return abbreviations[0] if len(abbreviations) == 1 else None


def _in_order(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(ch in rest for ch in letters)


class Parser(argparse.ArgumentParser):
    """argparse, with a did-you-mean for an invalid choice (a command, --format ...), as config keys have."""

    def error(self, message: str):  # noqa: D102 (argparse's)
        match = re.match(r"argument .*?: invalid choice: '(.*?)' \(choose from (.*)\)$", message)
        if match:
            guess = did_you_mean(match.group(1), re.findall(r"'([^']*)'", match.group(2)))
            if guess:
                message += f"; did you mean '{guess}'?"
        super().error(message)


def command_of(argv: Sequence[str]) -> str:
    """The command word of ``argv`` (the first word that is no option of tim-bench itself), '' when none."""
    return next((a for a in argv if a not in GLOBAL_FLAGS and not a.startswith("-")), "")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command`` (a command word, '' for none) only that command's module is
    imported and the others are listed by their ``SUMMARIES`` line."""
    parser = Parser(
        prog="tim-bench", description="Train, evaluate and compare TIM (Time Interval Machine) on audio-visual "
                                      "action recognition benchmarks. Configs are Python files (mmengine style): "
                                      "every command that reads one executes it and its _base_ files, so use "
                                      "only configs you trust.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details and show tracebacks")
    parser.add_argument("--version", action=VersionAction,
                        help="print the tim-bench version and git revision (with a dirty flag) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        word = name.replace("_", "-")
        if command is None or command == word or name not in SUMMARIES:
            importlib.import_module(f"tim_bench.cli.{name}").add_parser(sub)
        else:
            sub.add_parser(word, help=SUMMARIES[name], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_extra_args", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_args = extra  # a command's plugin-defined options (evaluate's challenge, make-synthetic's generator)
    _log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("tim_bench").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from tim_bench_registry import TimBenchError  # the package loads pandas and mmengine: only once a command runs
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        if "torch.distributed" in sys.modules:  # only commands that ran the model joined a process group
            from ..distributed import shutdown
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
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
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


def _discard_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone, so nothing (the flush at exit included) writes to the
    closed pipe again: the command stops quietly, as Unix tools do."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a file (tests, notebooks) needs nothing
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _close_log_files() -> None:
    """A command's log.txt ends with it: nothing a later command in this process logs lands there."""
    logger = logging.getLogger("tim_bench")
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()


if __name__ == "__main__":
    sys.exit(main())
