"""The original TIM's ``scripts/run_net.py`` command line -> an equivalent tim-bench config and command.

The flags are parsed by a replica of the original parser (``utils/parser.py``, including the
``--feat_gap`` and ``--apply_feature_pooling`` flags of its README), so defaults match. Every flag
ends up in the config, in the command, or in a note of the generated file; an unknown flag, or one
tim-bench cannot honour, raises ``ConversionError`` naming it.

The original reads its own ground-truth layout: annotation and video-info pickles, feature-interval
pickles and ``<data_path>/<split>/<video_id>.npy`` features. The generated config reads exactly
those files (through the readers the benchmark plugin's ``ORIGINAL_DATASETS`` entry names, e.g.
EPIC through the ``EPIC100``/``EPICSounds`` plugins, else ``OriginalTIMAnnotations``, features
through ``NpyFeatures``) and trusts the pickles explicitly. Everything specific to one ``--dataset``
(its heads, metric, refused flags) comes from that entry.
``--validate`` and ``--extract_feats`` evaluate the split the original picks from the file name of
the validation pickle: ``train`` if it contains "train", ``val`` if it contains "validation",
else ``test``; features are read from ``<data_path>/<that split>/``.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tim_bench_registry import STREAMS, Task, TimBenchError

from ..data.rules import layout_problem
from .registered import original_dataset, original_datasets

MODES = ("train", "validate", "extract_feats")
#: Flags that change nothing tim-bench computes; the generated file names them.
NO_EFFECT = {"print_freq": ("--print-freq", "tim-bench logs once per epoch"),
             "pin_memory": ("--pin-memory", "tim-bench pins memory on GPU runs"),
             "init_method": ("--init_method", "torchrun sets up the process group"),
             "dist_backend": ("--dist_backend", "torchrun picks NCCL on GPUs and gloo on CPUs")}
PICKLE_SUFFIXES = (".pkl", ".pickle")
#: tim-bench stream -> the prefix of the original's flags for it
STREAM_PREFIX = {"visual": "video", "audio": "audio"}
_AT_LEAST_1, _AT_LEAST_0 = (lambda v: v >= 1, "at least 1"), (lambda v: v >= 0, "at least 0")
#: dest -> (test, what it says) of the numeric flags a run can train with; the original's parser takes any
#: number, then fails (or trains nothing) at run time.
RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    **dict.fromkeys(("num_feats", "feat_stride", "visual_input_dim", "audio_input_dim", "d_model",
                     "feedforward_scale", "nhead", "num_layers", "finetune_epochs", "batch_size", "m_drloc",
                     "print_freq", "num_gpus"), _AT_LEAST_1),
    **dict.fromkeys(("warmup_epochs", "lambda_drloc", "mixup_alpha", "lambda_audio", "weight_decay", "workers"),
                    _AT_LEAST_0),
    **dict.fromkeys(("feat_gap", "window_stride", "lr"), (lambda v: v > 0, "greater than 0")),
    **dict.fromkeys(("enc_dropout", "feat_dropout", "seq_dropout"), (lambda v: 0 <= v < 1, "at least 0 and below 1")),
    "seed": (lambda v: v == -1 or 0 <= v < 2**32, "-1 (draw one) or from 0 to 2**32 - 1, numpy.random.seed's range"),
}


class ConversionError(TimBenchError):
    """An original TIM flag that tim-bench does not know or cannot honour."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so the CLI prints one sentence."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConversionError(f"The original TIM command does not parse: {message}.")


def str2bool(value: str) -> bool:
    """The original's ``utils.misc.str2bool``."""
    if value.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if value.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"boolean value expected, got '{value}'")


def original_parser() -> argparse.ArgumentParser:
    """The original ``run_net.py`` parser: same flags, types and defaults."""
    p = _Parser(prog="scripts/run_net.py", add_help=False, allow_abbrev=False)
    for name in ("video_data_path", "audio_data_path", "video_train_action_pickle", "video_val_action_pickle",
                 "video_train_context_pickle", "video_val_context_pickle", "audio_train_action_pickle",
                 "audio_val_action_pickle", "audio_train_context_pickle", "audio_val_context_pickle",
                 "video_info_pickle"):
        p.add_argument(f"--{name}", type=Path, default=Path(""))
    p.add_argument("--include_verb_noun", type=str2bool, default=True)
    datasets = original_datasets()  # the --dataset names the installed benchmark plugins register
    default = next((name for name, d in datasets.items() if d.default), None)
    p.add_argument("--dataset", default=default, required=default is None, choices=sorted(datasets))
    p.add_argument("--num_feats", type=int, default=50)
    p.add_argument("--feat_stride", type=int, default=3)
    p.add_argument("--feat_gap", type=float, default=0.2)
    p.add_argument("--window_stride", type=float, default=1.0)
    p.add_argument("--data_modality", default="audio_visual", choices=["visual", "audio", "audio_visual"])
    p.add_argument("--num_class")
    p.add_argument("--visual_input_dim", type=int, default=1024)
    p.add_argument("--audio_input_dim", type=int, default=2304)
    p.add_argument("--d_model", type=int, default=512)
    p.add_argument("--feedforward_scale", type=int, default=4)
    p.add_argument("--nhead", type=int, default=8)
    p.add_argument("--num_layers", type=int, default=4)
    p.add_argument("--enc_dropout", type=float, default=0.1)
    p.add_argument("--feat_dropout", type=float, default=0.5)
    p.add_argument("--seq_dropout", type=float, default=0.5)
    p.add_argument("--apply_feature_pooling", type=str2bool, default=False)
    p.add_argument("--model_modality", default="audio_visual", choices=["visual", "audio", "audio_visual"])
    p.add_argument("--finetune_epochs", type=int, default=100)
    p.add_argument("--warmup_epochs", type=int, default=2)
    p.add_argument("-b", "--batch-size", type=int, default=64)
    p.add_argument("--pretrained_model", default="")
    p.add_argument("--lambda_drloc", type=float, default=0.3)
    p.add_argument("--mixup_alpha", type=float, default=0.2)
    p.add_argument("--lambda_audio", type=float, default=1.0)
    p.add_argument("--m_drloc", type=int, default=32)
    p.add_argument("--enable_amp", type=str2bool, default=True)
    p.add_argument("--early_stop_period", type=int, default=-1)
    p.add_argument("--lr", "--learning-rate", type=float, default=1e-4)
    p.add_argument("--weight_decay", "--wd", type=float, default=1e-4)
    for mode in MODES:
        p.add_argument(f"--{mode}", action="store_true")
    p.add_argument("--output_dir", type=Path)
    p.add_argument("--enable_wandb_log", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-p", "--print-freq", type=int, default=100)
    p.add_argument("-j", "--workers", type=int, default=8)
    p.add_argument("--pin-memory", type=str2bool, default=True)
    p.add_argument("--shard_id", type=int, default=0)
    p.add_argument("--num_shards", type=int, default=1)
    p.add_argument("--init_method", default="tcp://localhost:9999")
    p.add_argument("--num-gpus", type=int, default=1)
    p.add_argument("--dist_backend", default="nccl")
    return p


@dataclass
class Conversion:
    """A converted command: the config (plain dict), the tim-bench command and the notes the generated file
    carries."""

    mode: str
    config: dict[str, Any]
    command: list[str]
    notes: list[str] = field(default_factory=list)


def strip_launcher(argv: Sequence[str]) -> list[str]:
    """Drop a leading ``--``, ``python`` and ``scripts/run_net.py`` so a pasted command line works as is."""
    args = list(argv)
    while args and (args[0] == "--" or Path(args[0]).name.startswith("python") or args[0].endswith("run_net.py")):
        args.pop(0)
    return args


def given_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dests of the flags that appear on the command line."""
    options = parser._option_string_actions  # noqa: SLF001  (argparse has no public lookup)
    return {options[a.split("=", 1)[0]].dest for a in argv if a.split("=", 1)[0] in options}


def repeated_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """The flags given more than once (aliases such as --lr and --learning-rate count as one flag)."""
    options = parser._option_string_actions  # noqa: SLF001  (argparse has no public lookup)
    seen: dict[str, list[str]] = {}
    for flag in (a.split("=", 1)[0] for a in argv):
        if flag in options:
            seen.setdefault(options[flag].dest, []).append(flag)
    return [" and ".join(dict.fromkeys(flags)) if len(set(flags)) > 1 else flags[0]
            for flags in seen.values() if len(flags) > 1]


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, set[str]]:
    """The original's arguments and the dests of the flags given; unknown and repeated flags raise."""
    parser = original_parser()
    argv = strip_launcher(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise ConversionError(f"Unknown original TIM flags: {' '.join(unknown)}; check the spelling against "
                              f"`python scripts/run_net.py --help` of the original.")
    repeated = repeated_flags(parser, argv)
    if repeated:
        raise ConversionError(f"{', '.join(repeated)} given more than once; the original would silently keep the "
                              f"last value, so give each flag once.")
    problems = _out_of_range(parser, args)
    if problems:
        raise ConversionError(f"The original TIM command cannot train: {'; '.join(problems)}.")
    return args, given_flags(parser, argv)


def _out_of_range(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The numeric flags no run can train with: out of ``RANGES``, NaN or infinite, or not fitting each other."""
    flags = {a.dest: next(o for o in a.option_strings if o.startswith("--")) for a in parser._actions
             if a.option_strings}
    problems = []
    for dest, (test, allowed) in RANGES.items():
        value = getattr(args, dest)
        if not math.isfinite(value):
            problems.append(f"{flags[dest]} {value} (not a finite number)")
        elif not test(value):
            problems.append(f"{flags[dest]} {value:g} (it must be {allowed})")
    if args.d_model >= 1 and args.nhead >= 1 and args.d_model % args.nhead:
        problems.append(f"--d_model {args.d_model} with --nhead {args.nhead} (attention splits d_model over the "
                        f"heads, so d_model must be a multiple of nhead; the original's model fails to build)")
    if args.batch_size >= 1 and args.num_gpus >= 1 and args.batch_size < args.num_gpus:
        problems.append(f"-b {args.batch_size} over --num-gpus {args.num_gpus} (the original divides the batch "
                        f"over the GPUs, leaving each fewer than one sample)")
    data = {s for s in STREAMS if s in args.data_modality}
    model = {s for s in STREAMS if s in args.model_modality}
    if not data & model:
        problems.append(f"--data_modality {args.data_modality} with --model_modality {args.model_modality} (the "
                        f"model would read none of the features of the streams it is trained to label)")
    return problems


def _mode(args: argparse.Namespace) -> str:
    modes = [m for m in MODES if getattr(args, m)]
    if len(modes) != 1:
        raise ConversionError(f"Give exactly one of --train, --validate, --extract_feats (got "
                              f"{', '.join('--' + m for m in modes) or 'none'}).")
    return modes[0]


def _check_supported(args: argparse.Namespace, given: set[str], mode: str) -> None:
    problems = []
    if "num_class" in given:
        problems.append("--num_class (the original cannot parse it either; class counts follow --dataset)")
    if args.enable_wandb_log:
        problems.append("--enable_wandb_log (tim-bench has no W&B logger; log from the tim_bench_run_finished hook)")
    if args.num_shards != 1 or args.shard_id != 0:
        problems.append("--num_shards/--shard_id (launch several nodes with torchrun --nnodes instead)")
    if mode != "train" and not args.pretrained_model:
        problems.append(f"--{mode} without --pretrained_model (the original asserts one is given)")
    if args.output_dir is None:
        problems.append("a missing --output_dir (the original needs it for logs and checkpoints)")
    dataset = original_dataset(args.dataset)
    visual = dataset.tasks.get("visual", ())
    if len(visual) == 1 and args.include_verb_noun and "visual" in args.data_modality:
        problems.append(f"--dataset {args.dataset} with verb and noun heads (add --include_verb_noun False: the "
                        f"original forces {visual[0].num_classes} visual classes without verbs or nouns)")
    if dataset.refusals is not None:
        problems += dataset.refusals(vars(args))
    if args.apply_feature_pooling and args.model_modality != "audio_visual":
        problems.append("--apply_feature_pooling without both modalities (AVGA pools visual maps guided by audio)")
    if problems:
        raise ConversionError(f"tim-bench cannot convert: {'; '.join(problems)}.")


def eval_split(args: argparse.Namespace) -> str:
    """The split the original's validate/extract loops read, decided by the validation pickle's name."""
    pickle = args.video_val_action_pickle if "visual" in args.data_modality else args.audio_val_action_pickle
    name = str(pickle)
    return "train" if "train" in name else "val" if "validation" in name else "test"


def heads_of_args(args: argparse.Namespace) -> tuple[Task, ...]:
    """The tasks (and class counts) the original builds its heads for, in tim-bench's task names."""
    dataset = original_dataset(args.dataset)
    return tuple(t for s in STREAMS if s in args.data_modality for t in dataset.tasks.get(s, ()))


@dataclass(frozen=True)
class _Input:
    """One file or folder the run reads: its stream, role (data, context, action), tim-bench split and flag."""

    stream: str
    role: str
    split: str
    flag: str


def _inputs(args: argparse.Namespace, mode: str) -> list[_Input]:
    """What the run reads: features of the model's streams, annotations of the data's streams, per split (and the
    training annotations of the streams whose evaluation needs them, e.g. to number classes)."""
    reads_train = original_dataset(args.dataset).eval_reads_train
    sources = {"train": "train", "val": "val"} if mode == "train" else {eval_split(args): "val"}
    inputs = []
    for stream, prefix in STREAM_PREFIX.items():
        if stream in args.model_modality:
            inputs.append(_Input(stream, "data", "", f"{prefix}_data_path"))
            inputs += [_Input(stream, "context", split, f"{prefix}_{which}_context_pickle")
                       for split, which in sources.items()]
        if stream in args.data_modality:
            inputs += [_Input(stream, "action", split, f"{prefix}_{which}_action_pickle")
                       for split, which in sources.items()]
            if stream in reads_train and "train" not in sources:
                inputs.append(_Input(stream, "action", "train", "video_train_action_pickle"))
    return inputs + [_Input("", "info", "", "video_info_pickle")]


def _first_feature_shape(folder: Path) -> tuple[Path, tuple[int, ...]] | None:
    """The first ``.npy`` file in ``folder`` (by name) and its shape (read from its header); None if there is none
    or it cannot be read (``run`` then names the problem)."""
    try:
        first = min(folder.glob("*.npy"), default=None)
        return None if first is None else (first, tuple(np.load(first, mmap_mode="r").shape))
    except (OSError, ValueError):
        return None


def _feature_problems(args: argparse.Namespace, inputs: Sequence[_Input], mode: str) -> list[str]:
    """Where the features already on disk disagree with the command's input widths or feature pooling."""
    split = "train" if mode == "train" else eval_split(args)
    problems = []
    for i in (i for i in inputs if i.role == "data"):
        found = _first_feature_shape(Path(getattr(args, i.flag)) / split)
        if found is None:
            continue
        file, shape = found
        width = f"{i.stream}_input_dim"
        if shape[-1] != getattr(args, width):
            problems.append(f"--{width} {getattr(args, width)}, but {file} holds {shape[-1]}-d features (give "
                            f"--{width} {shape[-1]})")
        problem = layout_problem(shape, i.stream, bool(args.apply_feature_pooling))  # the engine's own rule
        if problem:
            flag = "drop --apply_feature_pooling True" if args.apply_feature_pooling else \
                "add --apply_feature_pooling True"
            problems.append(f"{file}: {problem}" + (f" (the original's flag: {flag})" if i.stream == "visual" else ""))
    return problems


def _given(path: Path) -> bool:
    return str(path) not in ("", ".")


class _Paths:
    """Absolute paths of the original's files, written relative to their common folder (the data_root)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        absolute = [os.path.abspath(p) for p in paths]
        self.root = os.path.commonpath(absolute)
        if self.root in absolute and Path(self.root).suffix:  # every path is one file: root is its folder
            self.root = os.path.dirname(self.root)

    def rel(self, path: Path) -> str:
        return os.path.relpath(os.path.abspath(path), self.root)


def _files(args: argparse.Namespace, inputs: Sequence[_Input], paths: _Paths, stream: str, role: str) -> dict[
        str, str]:
    return {i.split: paths.rel(getattr(args, i.flag)) for i in inputs if i.stream == stream and i.role == role}


def _dataset(args: argparse.Namespace, inputs: Sequence[_Input], paths: _Paths) -> Any:
    """The dataset config: the plugin's reader of each stream that has one, ``OriginalTIMAnnotations`` for the rest
    (its label column per stream from the plugin's layout)."""
    dataset, info = original_dataset(args.dataset), paths.rel(args.video_info_pickle)
    streams = [s for s in STREAMS if s in args.data_modality]
    parts = [dataset.readers[s](_files(args, inputs, paths, s, "action"), info)
             for s in streams if s in dataset.readers]
    tasks = {t.stream: [[t.name, t.num_classes, dataset.streams[t.stream].label]] for t in heads_of_args(args)
             if t.stream not in dataset.readers}
    if tasks:
        parts.append(dict(type="OriginalTIMAnnotations",
                          files={s: _files(args, inputs, paths, s, "action") for s in tasks},
                          video_info=info, tasks=tasks, trust_pickle=True))
    return parts[0] if len(parts) == 1 else parts


def _features(args: argparse.Namespace, inputs: Sequence[_Input], paths: _Paths) -> dict[str, Any]:
    dims = {"visual": args.visual_input_dim, "audio": args.audio_input_dim}
    return {i.stream: dict(type="NpyFeatures", folder=paths.rel(getattr(args, i.flag)),
                           intervals=_files(args, inputs, paths, i.stream, "context"), dim=dims[i.stream],
                           trust_pickle=True)
            for i in inputs if i.role == "data"}


def _evaluator(args: argparse.Namespace) -> dict[str, Any]:
    """The plugin's metric, its main metric that of the first stream the data has."""
    dataset = original_dataset(args.dataset)
    first = next(s for s in STREAMS if s in args.data_modality)
    return dict(type=dataset.metric, main_metric=dataset.main_metric[first])


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def loader_workers(requested: int, gpus: int) -> int:
    """Loader workers per process: the original's ``-j`` split over the GPUs, but never more workers in all
    than this machine has CPUs (the original's default of 8 would oversubscribe a laptop)."""
    return max(0, min(requested // gpus, available_cpus() // gpus))


def build_config(args: argparse.Namespace, mode: str, given: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The tim-bench config equal to the original run, and notes on what maps how."""
    inputs = _inputs(args, mode)
    missing = sorted({f"--{i.flag}" for i in inputs if not _given(getattr(args, i.flag))})
    if missing:
        raise ConversionError(f"The --{mode} command lacks {', '.join(missing)}, which the original reads with "
                              f"--data_modality {args.data_modality} --model_modality {args.model_modality}.")
    problems = _feature_problems(args, inputs, mode)
    if problems:
        raise ConversionError(f"The --{mode} command does not fit its features: {'; '.join(problems)}.")
    files = [getattr(args, i.flag) for i in inputs]
    paths = _Paths(files)
    gpus = max(1, args.num_gpus)
    config = {
        "data_root": paths.root,
        "dataset": _dataset(args, inputs, paths),
        "features": _features(args, inputs, paths),
        "windows": dict(num_feats=args.num_feats, feat_gap=args.feat_gap, feat_stride=args.feat_stride,
                        window_stride=args.window_stride, min_query_size=0.2),
        "model": dict(type="TIM", d_model=args.d_model, nhead=args.nhead, num_layers=args.num_layers,
                      feedforward_scale=args.feedforward_scale, enc_dropout=args.enc_dropout,
                      feat_dropout=args.feat_dropout, seq_dropout=args.seq_dropout,
                      pool_features=args.apply_feature_pooling, head=dict(type="LinearHead")),
        # the original adds lambda_audio * audio loss only when it trains on both streams
        "loss": dict(label_smoothing=0.2, stream_weights=dict(
            visual=1.0, audio=args.lambda_audio if args.data_modality == "audio_visual" else 1.0),
            lambda_drloc=args.lambda_drloc, m_drloc=args.m_drloc, mixup_alpha=args.mixup_alpha),
        "train_cfg": dict(max_epochs=args.finetune_epochs, batch_size=args.batch_size // gpus, lr=args.lr,
                          weight_decay=args.weight_decay, warmup_epochs=args.warmup_epochs, min_lr=1e-6,
                          grad_clip=1.0 if args.enable_amp else None, amp=args.enable_amp,
                          early_stop_patience=args.early_stop_period + 1 if args.early_stop_period > 0 else None,
                          val_interval=1, num_workers=loader_workers(args.workers, gpus), checkpoint_interval=1),
        "test_cfg": dict(batch_size=args.batch_size // gpus),
        "splits": dict(train="train" if mode == "train" else None,
                       val="val" if mode == "train" else eval_split(args), test=None),
        "evaluator": _evaluator(args),
        "seed": args.seed if args.seed != -1 else random.randint(0, 2**32 - 1),
        "work_dir": str(args.output_dir),
    }
    if mode == "train" and args.pretrained_model:
        # --train --pretrained_model: fine-tune from its weights (the original's .pth.tar pickles its meters)
        config["load_from"] = dict(path=os.path.abspath(args.pretrained_model), trust=True)
    return config, _config_notes(args, mode, given, inputs)


def _config_notes(args: argparse.Namespace, mode: str, given: set[str], inputs: Sequence[_Input]) -> list[str]:
    """Every given flag that changes nothing here, and how the rest map where that is not obvious."""
    notes = [f"{flag} has no effect here: {why}." for name, (flag, why) in NO_EFFECT.items() if name in given]
    if args.seed == -1:
        notes.append("--seed -1: the seed below was drawn at conversion, as the original draws one per run.")
    read = {i.flag for i in inputs}
    unused = sorted(f"--{flag}" for flag in given if flag.endswith(("_pickle", "_data_path")) and flag not in read)
    if unused:
        notes.append(f"Not read with --data_modality {args.data_modality} --model_modality {args.model_modality} "
                     f"in --{mode} mode (the original ignores them too): {', '.join(unused)}.")
    if mode == "train" and args.pretrained_model:
        notes.append("--pretrained_model with --train: load_from below loads its weights strictly before training "
                     "(trust=True: the original's .pth.tar pickles its meters; set False for a stripped file).")
    if any(s in args.data_modality and s not in args.model_modality for s in STREAM_PREFIX):
        notes.append(f"--model_modality {args.model_modality} on --data_modality {args.data_modality}: every query "
                     f"reads the {args.model_modality} features only (the original README's note; its own code "
                     f"fails on this combination, see docs/original-tim.md).")
    if not args.enable_amp:
        notes.append("--enable_amp False: no autocast and no gradient clipping, as in the original.")
    if args.early_stop_period > 0:
        notes.append(f"--early_stop_period {args.early_stop_period}: the original stops after "
                     f"{args.early_stop_period + 1} epochs without a better validation accuracy.")
    if any(Path(getattr(args, i.flag)).suffix not in PICKLE_SUFFIXES for i in inputs if i.role != "data"):
        notes.append("tim-bench reads files ending in .pkl/.pickle as pickles and any other file as CSV; rename "
                     "pickles without that suffix.")
    gpus = max(1, args.num_gpus)
    if loader_workers(args.workers, gpus) < args.workers // gpus:
        notes.append(f"-j/--workers {args.workers}: num_workers lowered to {loader_workers(args.workers, gpus)} "
                     f"per process, as this machine has {available_cpus()} CPUs; raise train_cfg.num_workers on "
                     f"a larger machine.")
    if args.num_gpus > 1:
        notes.append(f"--num-gpus {args.num_gpus}: batch_size and num_workers are per process, as the original "
                     f"divides them by the GPU count.")
    return notes


def build_command(args: argparse.Namespace, mode: str, config_path: str) -> tuple[list[str], list[str]]:
    """The tim-bench command line and its notes (launcher, checkpoint trust, the extract output path)."""
    if args.num_gpus > 1:
        launcher = ["torchrun", f"--nproc_per_node={args.num_gpus}", "-m", "tim_bench.cli.main"]
    elif args.num_gpus == 0:
        launcher = ["env", "CUDA_VISIBLE_DEVICES=", "tim-bench"]
    else:
        launcher = ["tim-bench"]
    out, notes = str(args.output_dir), list[str]()
    if mode == "train":
        return launcher + ["run", config_path, "--work-dir", out], notes
    split = eval_split(args)
    command = [config_path, args.pretrained_model, "--split", split, "--work-dir", out, "--trust-checkpoint"]
    notes.append("--trust-checkpoint: the original's .pth.tar files also pickle its meters, so loading them needs "
                 "full unpickling (as the original's torch.load did); drop it for stripped checkpoints.")
    if mode == "validate":
        return launcher + ["test", *command], notes
    source = args.video_val_action_pickle if "visual" in args.data_modality else args.audio_val_action_pickle
    stem = source.name.replace(".pkl", "")
    original = Path(out) / "features" / f"{stem}_features.pkl"
    notes.append(f"{original} holds the original's --extract_feats dict as it writes it (pickle of numpy arrays, "
                 f"ids prefixed v_/a_): read it with pickle.load or pd.read_pickle.")
    return launcher + ["predict", *command, "--out", str(Path(out) / f"predictions_{split}.npz"),
                       "--original-dict", str(original)], notes


def convert(argv: Sequence[str], config_path: str = "CONFIG.py") -> Conversion:
    """Convert one original command line (flags only, or with ``python scripts/run_net.py`` in front)."""
    args, given = parse(argv)
    mode = _mode(args)
    _check_supported(args, given, mode)
    config, notes = build_config(args, mode, given)
    command, command_notes = build_command(args, mode, config_path)
    return Conversion(mode, config, command, notes + command_notes)


def _render(value: Any, indent: int = 0) -> str:
    """A python literal of ``value``; dicts with identifier keys as ``dict(...)``, long ones one key per line."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            items = [f"{k}={_render(v, indent + 4)}" for k, v in value.items()]
            one_line = f"dict({', '.join(items)})"
            if len(one_line) + indent <= 100:
                return one_line
            pad = " " * (indent + 4)
            return "dict(\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + ")"
        return "{" + ", ".join(f"{_render(k)}: {_render(v, indent + 4)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, indent + 4) for v in value) + "]"
    return repr(value)


def render_config(conversion: Conversion, argv: Sequence[str]) -> str:
    """The config file text: a header saying where it came from, what it trusts and how to run it."""
    flags: list[list[str]] = []
    for token in strip_launcher(argv):
        if token.startswith("-") or not flags:
            flags.append([token])
        else:
            flags[-1].append(token)
    lines = ["# Converted by `tim-bench from-tim-args` from the original TIM command:",
             "#   python scripts/run_net.py \\"]
    lines += [f"#     {shlex.join(f)}" + (" \\" if i < len(flags) - 1 else "") for i, f in enumerate(flags)]
    lines += ["# Trusting pickles: trust_pickle=True below lets tim-bench unpickle the original's annotation, "
              "video-info and",
              "# feature-interval files, which can run code when loaded; use it only for files you trust (or "
              "convert them to CSV)."]
    lines += [f"# Note: {note}" for note in conversion.notes]
    lines.append(f"# Run: {shlex.join(conversion.command)}")
    body = [f"{key} = {_render(value)}" for key, value in conversion.config.items()]
    return "\n".join(lines + [""] + body) + "\n"
