"""`tim-bench from-tim-args`: the original TIM's run_net.py flags -> a tim-bench config and the command to run it."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "from-tim-args", help="convert an original TIM command line into a tim-bench config and command",
        description="Convert the flags of the original `python scripts/run_net.py --train|--validate|--extract_feats "
                    "...` into an equivalent tim-bench config (printed, or written with --out) and the tim-bench "
                    "command (run, test or predict) that does the same. Put the original flags after `--`; an "
                    "unknown or unsupported flag is named in an error.",
        epilog="example: tim-bench from-tim-args --out ave.py -- --train --output_dir out --dataset ave ...")
    p.add_argument("--out", help="write the config here instead of printing it")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("original", nargs=argparse.REMAINDER, help="the original flags (after --)")
    p.set_defaults(func=run)


def read_paths(original: list[str]) -> list[Path]:
    """The existing files the original flags name (its pickles): inputs that --out must never replace."""
    values = [a.split("=", 1)[-1] for a in original]
    return [Path(v) for v in values if v and not v.startswith("-") and Path(v).is_file()]


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_output_file

    from ..original.from_tim_args import convert, render_config
    from ..io import write_atomic
    if args.out:
        check_output_file(args.out, read_paths(args.original), force=args.force, option="--out",
                          example="tim_config.py")
    conversion = convert(args.original, args.out or "CONFIG.py")
    text = render_config(conversion, args.original)
    if not args.out:
        print(text, end="")
        return 0
    write_atomic(args.out, lambda tmp: tmp.write_text(text))
    print(f"wrote {args.out}")
    print(f"run: {shlex.join(conversion.command)}")
    return 0
