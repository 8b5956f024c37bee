"""Data in the official on-disk layout -> the original TIM's own layout (its pickles and per-video ``.npy``).

``make-synthetic --layout original`` writes the official layout under ``OUT/official`` and converts it
here, so both layouts hold the same segments, labels and feature values. The original's
``SlidingWindowDataset`` reads, per stream and split (README names, ``.pkl`` added; ``{split}`` is
``train``, ``validation`` or ``test``, the words its ``--validate`` rule looks for):

* an annotation pickle: a pandas DataFrame indexed by segment id with ``video_id``,
  ``start_timestamp`` and ``stop_timestamp`` (``HH:MM:SS.ff``) and the label column it reads:
  visual ``action_class`` (EPIC also ``verb_class``, ``noun_class``; AVE reads ``class_id`` for
  both streams), audio ``class_id``. EPIC tables keep every official column (the original's are the
  official pickles plus ``action_class``); EPIC action ids are tim-bench's training-pair ids, -1
  for pairs outside them, as the original marks out-of-vocabulary actions;
* a feature-interval pickle: a DataFrame with ``video_id``, ``start_sec``, ``stop_sec``,
  ``narration_sec`` (the span's centre), one row per feature in time order;
* ``<features folder>/<split>/<video_id>.npy``: ``[T, A, D]`` (AVE VGG maps ``[T, A, 7, 7, D]``)
  float32, the split folders named ``train`` / ``val`` / ``test`` as the original's loader names them;
* one video-info pickle: a DataFrame indexed by ``video_id`` with ``duration`` in seconds.

Only labelled splits are written: the original's loader selects the label columns, which
unlabelled files (EPIC's test timestamps) lack.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import (DATASETS, FEATURES, FeatureSource, SplitAnnotations, TimBenchError, build,
                                plugin_manager)
from tim_bench_registry.files import write_atomic, write_npy
from tim_bench_registry.original import OriginalDataset, StreamFiles
from tim_bench_registry.synthetic import write_marker

from ..data.checked import load_annotations, open_features
from ..data.rules import check_disjoint, is_training_data
from .registered import original_of_generator

#: tim-bench split -> the word in the original's file names (its --validate picks the split by it)
SPLIT_WORDS = {"train": "train", "val": "validation", "test": "test"}
#: tim-bench stream -> the prefix of the original's run_net.py flags
FLAG_PREFIX = {"visual": "video", "audio": "audio"}
#: tim-bench stream -> the original's flag of its feature width
WIDTH_FLAG = {"visual": "visual_input_dim", "audio": "audio_input_dim"}


def timestamps(seconds: np.ndarray) -> list[str]:
    """Float seconds -> ``HH:MM:SS.ff``, with as many decimals (2 to 6) as the values need to stay exact."""
    values = np.asarray(seconds, dtype=np.float64)
    decimals = next((d for d in range(2, 7) if np.allclose(np.round(values, d), values, rtol=0, atol=1e-9)), 6)
    out = []
    for s in np.round(values, decimals):
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        out.append(f"{int(h):02d}:{int(m):02d}:{sec:0{3 + decimals}.{decimals}f}")
    return out


def _to_pickle(path: Path, table: pd.DataFrame) -> None:
    """Pickle ``table`` with text as plain ``object`` columns (pandas 3's string dtype does not unpickle in the
    pandas versions the original runs on)."""
    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    plain = table.astype({c: object for c in text})
    if not pd.api.types.is_numeric_dtype(plain.index):
        plain.index = pd.Index(plain.index.to_numpy(object), dtype=object, name=plain.index.name)
    write_atomic(path, lambda tmp: plain.to_pickle(tmp, compression=None))


def _annotation_table(official: Path, files: StreamFiles, split: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The original's annotation DataFrame of one stream and split (index: segment id)."""
    labels = rows.set_index("segment_id")[files.task]
    if files.official and split in files.official:
        name, id_column = files.official[split]
        table = pd.read_csv(official / name).astype({id_column: str}).set_index(id_column)
    else:
        table = pd.DataFrame({"video_id": rows["video_id"].to_numpy(),
                              "start_timestamp": timestamps(rows["start"].to_numpy()),
                              "stop_timestamp": timestamps(rows["stop"].to_numpy())},
                             index=pd.Index(rows["segment_id"].astype(str).to_numpy()))
    if set(table.index) != set(labels.index):
        raise TimBenchError(f"{official}: the {split} segments read by the dataset plugin differ from the rows of "
                            f"its annotation file; regenerate the official layout.")
    table[files.label] = labels.reindex(table.index).to_numpy(np.int64)
    return table.rename_axis("narration_id")


def _write_features(source: FeatureSource, stream: str, out: Path, files: StreamFiles, split: str,
                    videos: Sequence[str]) -> pd.DataFrame:
    """Each video's features as ``<features>/<split>/<video>.npy``; returns the interval table."""
    parts = []
    for video in videos:
        feats = open_features(source, split, video, stream, source.dim)
        write_npy(out / files.features / split / f"{video}.npy", np.ascontiguousarray(feats.values, np.float32))
        times = np.asarray(feats.times, np.float64)
        parts.append(pd.DataFrame({"video_id": video, "start_sec": times[:, 0], "stop_sec": times[:, 1],
                                   "narration_sec": times.mean(1)}))
    return pd.concat(parts, ignore_index=True)


def layout_of(generator: str) -> OriginalDataset:
    """The original ``--dataset`` whose layout the output of generator ``generator`` converts into."""
    return original_of_generator(generator)


def check_convertible(generator: str, options: argparse.Namespace) -> None:
    """Refuse generator options whose output the original's layout cannot hold, before anything is written."""
    for option, why in layout_of(generator).unconvertible_options.items():
        if getattr(options, option, False):
            raise TimBenchError(f"{why}.")


def write_original_layout(kind: str, official: str | Path, out: str | Path, output_dir: str | Path) -> list[str]:
    """Convert the official-layout data of ``kind`` under ``official`` into the original TIM's layout under
    ``out``; return the original ``run_net.py --train`` flags that train its README recipe on the written files
    into ``output_dir`` (``training_flags``)."""
    layout, official, out = layout_of(kind), Path(official), Path(out)
    plugin_manager()
    datasets = [build(DATASETS, d, data_root=str(official)) for d in layout.datasets]
    sources = {s: build(FEATURES, c, data_root=str(official)) for s, c in layout.features.items()}
    splits = [s for s in SPLIT_WORDS if all(s in d.splits() for d in datasets)]
    durations: dict[str, float] = {}
    written: list[str] = []
    read: dict[str, list[SplitAnnotations]] = {}
    for split in splits:
        loaded = read[split] = [load_annotations(d, split, name["type"]) for d, name in zip(datasets, layout.datasets)]
        if split != "train" and "train" in read and not is_training_data(read["train"], loaded):
            check_disjoint(read["train"], loaded, f"{kind} train", f"{kind} {split}")
        if not all(a.labelled for a in loaded):
            continue
        segments = pd.concat([a.segments for a in loaded], ignore_index=True)
        videos = sorted(segments["video_id"].astype(str).unique())
        for a in loaded:
            durations.update(a.durations)
        tables: dict[str, pd.DataFrame] = {}
        for stream, files in layout.streams.items():
            table = _annotation_table(official, files, split, segments[segments["stream"] == stream])
            name = files.annotations.format(split=SPLIT_WORDS[split])
            if name in tables and not tables[name].equals(table):
                raise TimBenchError(f"{official}: the {split} streams of {kind} disagree on their segments, so they "
                                    f"cannot share {name}; give each stream its own annotation file name.")
            tables[name] = table
            intervals = _write_features(sources[stream], stream, out, files, split, videos)
            _to_pickle(out / files.intervals.format(split=SPLIT_WORDS[split]), intervals)
        for name, table in tables.items():
            _to_pickle(out / name, table)
        written.append(split)
    info = pd.DataFrame({"duration": pd.Series(durations, dtype=np.float64)}).rename_axis("video_id")
    _to_pickle(out / layout.video_info, info)
    write_marker(out, f"{kind} (original TIM layout)", official=str(official), splits=written)
    return training_flags(kind, out, {s: src.dim for s, src in sources.items()}, output_dir)


def training_flags(kind: str, out: str | Path, dims: dict[str, int], output_dir: str | Path) -> list[str]:
    """The complete original ``run_net.py`` command line (flags) that trains the README recipe of ``kind``'s
    ``--dataset`` on its files under ``out``: ``--train``, ``--output_dir``, ``data_flags``, the input widths
    ``dims`` (stream -> D) and the plugin's ``recipe`` flags."""
    widths = [flag for stream, dim in dims.items() for flag in (f"--{WIDTH_FLAG[stream]}", str(dim))]
    return ["--train", "--output_dir", str(output_dir), *data_flags(kind, out), *widths, *layout_of(kind).recipe]


def data_flags(kind: str, out: str | Path, val_split: str = "val") -> list[str]:
    """The original ``run_net.py`` flags naming the files of ``kind`` under ``out``: ``--dataset``, data paths,
    train and ``val_split`` annotation and interval pickles, and the video-info pickle."""
    layout, out = layout_of(kind), Path(out)
    flags = ["--dataset", layout.name]
    for stream, files in layout.streams.items():
        prefix = FLAG_PREFIX[stream]
        flags += [f"--{prefix}_data_path", str(out / files.features)]
        for which, split in (("train", "train"), ("val", val_split)):
            word = SPLIT_WORDS[split]
            flags += [f"--{prefix}_{which}_action_pickle", str(out / files.annotations.format(split=word)),
                      f"--{prefix}_{which}_context_pickle", str(out / files.intervals.format(split=word))]
    return flags + ["--video_info_pickle", str(out / layout.video_info)]
