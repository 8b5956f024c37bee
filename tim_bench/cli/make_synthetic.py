"""`tim-bench make-synthetic NAME OUT`: a dataset's real on-disk format filled with a learnable planted signal.

The generators are ``GENERATORS`` entries of the installed benchmark plugins (see
``tim_bench_registry.SyntheticGenerator``); with no NAME (or an unknown one) the command lists them.
``--layout original`` also converts the result into the original TIM's pickle layout
(tim_bench.original.layout).
"""
from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path

from tim_bench_registry import GENERATORS, UnknownPluginError, lookup, plugin_manager
from tim_bench_registry.synthetic import MARKER

from ..outputs import check_output_folder, mark_output_folder

#: The output-folder kind (tim_bench.outputs) of a folder this command writes.
OUTPUT_KIND = "synthetic dataset"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("make-synthetic", help="write synthetic data in a dataset's official layout",
                       description="Write annotations and features in the official on-disk format of the dataset "
                                   "that generator NAME makes, with class prototypes planted in the features so TIM "
                                   "can learn them. Without NAME, list the installed generators; "
                                   "`make-synthetic NAME --help` shows NAME's options.", add_help=False)
    p.add_argument("name", nargs="?", metavar="NAME", help="generator (a GENERATORS entry of a plugin)")
    p.add_argument("-h", "--help", action="store_true", help="show this help, or NAME's options after NAME")
    p.add_argument("--layout", choices=("official", "original"), default="official",
                   help="official (default): the dataset's own release format; original: also the original "
                        "TIM's pickles and per-video .npy (OUT/official holds the official files)")
    p.set_defaults(func=run, takes_extra_args=True, parser=p)


def generator_table() -> str:
    """One line per installed generator: its name and what it writes."""
    plugin_manager()
    return "\n".join(f"  {name:<12} {getattr(GENERATORS.get(name), 'description', '')}"
                     for name in sorted(GENERATORS.module_dict))


def run(args: argparse.Namespace) -> int:
    """Parse NAME's own options, write its official layout, and with ``--layout original`` convert it."""
    if args.name is None:
        if args.help:
            args.parser.print_help()
        print(f"installed generators (tim-bench make-synthetic NAME OUT ...):\n{generator_table()}")
        return 0
    try:
        generator = lookup(GENERATORS, args.name)
    except UnknownPluginError as exc:
        raise UnknownPluginError(f"{exc}\ninstalled generators:\n{generator_table()}") from None
    parser = argparse.ArgumentParser(prog=f"tim-bench make-synthetic {args.name}", description=generator.description)
    generator.add_arguments(parser)
    options = parser.parse_args(args.extra_args + (["--help"] if args.help else []))
    check_options(parser, options)
    out = check_output_folder(options.out, OUTPUT_KIND, input_paths(options), option="OUT",
                              also_marked_by=(MARKER,))
    if args.layout == "official":
        status = generator.run(options)
        mark_output_folder(out, OUTPUT_KIND)
        return status
    from ..original.layout import check_convertible, write_original_layout
    check_convertible(args.name, options)
    official = check_output_folder(out / "official", OUTPUT_KIND, option="OUT/official", also_marked_by=(MARKER,))
    options.out = str(official)
    status = generator.run(options)
    mark_output_folder(official, OUTPUT_KIND)
    mark_output_folder(out, OUTPUT_KIND)
    flags = write_original_layout(args.name, options.out, out, f"work_dirs/{args.name}_original")
    print(f"wrote the original TIM layout of it to {out}; the original TIM trains its README recipe on it with\n"
          f"  python scripts/run_net.py {shlex.join(flags)}\n"
          f"the same as a tim-bench config (then run the command it prints):\n"
          f"  tim-bench from-tim-args --out {args.name}_original.py -- {shlex.join(flags)}")
    return status


def check_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """A usage error for any NaN or infinite number among a generator's options (each generator checks its ranges;
    this holds for every generator, a third party's included)."""
    for action in parser._actions:
        value = getattr(options, action.dest, None)
        if isinstance(value, float) and not math.isfinite(value):
            parser.error(f"argument {'/'.join(action.option_strings) or action.dest}: {value} is not a finite number")


def input_paths(options: argparse.Namespace) -> list[Path]:
    """The existing files and folders a generator's options (other than OUT) name: what it reads."""
    values = [v for k, v in vars(options).items() if k != "out" and isinstance(v, (str, Path)) and v]
    return [Path(v) for v in values if Path(v).exists()]
