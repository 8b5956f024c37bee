"""Raw media -> feature files in the layout ``NpyFeatures`` reads (what `tim-bench extract-features` does).

A config's ``extract`` section says what to run and where the results go, all paths relative to
``data_root``::

    extract = dict(
        extractor=dict(type="LogMelAudio", n_mels=64),    # any EXTRACTORS plugin (a FeatureExtractor)
        inputs="audio/{video_id}.wav",                    # one file or folder per video; {split} allowed
        videos=None,        # None: every input matching `inputs`; a list of ids; or a text file of ids
        split="train",
        out_folder="features/logmel",                     # writes {out_folder}/{split}/{video_id}.npy
        intervals="features/logmel/intervals_{split}.csv",  # optional; this is the default
    )

The outputs plug straight into ``features=dict(audio=dict(type="NpyFeatures", folder=out_folder,
intervals=intervals))``. Beside each ``.npy`` a ``.extract/{video_id}.json`` records the hash of the
extractor config that made it (``extractor_hash``: every key but speed-only ones, with the dtype the
model really ran in); a video is skipped when its ``.npy``, its interval rows and a record with the
current hash exist, and extracted again when the config changed (or with ``overwrite``). An extractor's
``num_copies`` may be a ``{split: copies}`` dict (the original stores augmented copies for train only); it is
resolved for ``split`` before the extractor is built, hashed and recorded (``for_split``). Every file is
written atomically, and the table is rewritten (keeping the rows of videos this run did not touch) even
when a later video fails. A video that fails is recorded in the report with its reason and the run goes
on to the next; the command prints the failures and exits non-zero, so no video is silently missing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from tim_bench_registry import EXTRACTORS, FEATURES, DataError, TimBenchError, build, lookup, plugin_manager
from tim_bench_registry.paths import safe_join

from .config import ConfigError
from .io import atomic_path, write_json, write_npy
from .outputs import check_output_folder, mark_output_folder

log = logging.getLogger(__name__)
REQUIRED = ("extractor", "inputs", "split", "out_folder")
#: The tim_bench.outputs kind of an extract.out_folder/<split> folder.
OUTPUT_KIND = "features"
INTERVAL_COLUMNS = ["video_id", "start_sec", "stop_sec"]
#: extractor keys that change how fast features are made, never their values: left out of the hash
SPEED_ONLY_EXTRACTOR_KEYS = ("batch_size", "device")
#: errors one video may raise without stopping the others (bad media, a model error on it, a full GPU)
VIDEO_ERRORS = (TimBenchError, OSError, RuntimeError, ValueError)


@dataclass
class ExtractReport:
    """What one extraction run did, and the ``features`` config that reads its output."""

    stream: str
    dim: int
    features_cfg: dict[str, Any]
    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    decode_s: float = 0.0
    model_s: float = 0.0
    frames: int = 0


def video_ids(section: Mapping[str, Any], root: Path) -> list[str]:
    """The videos to extract: the configured list, the ids in a text file, or every input found."""
    videos, split, inputs = section.get("videos"), section["split"], section["inputs"]
    if isinstance(videos, str):
        path = root / videos.format(split=split)
        if not path.is_file():
            raise DataError(f"Video list {path} does not exist; fix extract.videos (a list of ids, a text file "
                            f"with one id per line, or None for every input found).")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if videos is not None:
        return [str(v) for v in videos]
    prefix, _, suffix = inputs.replace("{split}", split).partition("{video_id}")
    matches = (str(p.relative_to(root)) for p in root.glob(f"{prefix}*{suffix}"))
    found = sorted(m[len(prefix):len(m) - len(suffix)] for m in matches)
    if not found:
        raise DataError(f"No input matches {root / f'{prefix}*{suffix}'}; fix extract.inputs or data_root.")
    return found


def read_intervals(path: Path) -> dict[str, pd.DataFrame]:
    """The rows of an existing interval table by video id (empty when there is none yet)."""
    if not path.is_file():
        return {}
    table = pd.read_csv(path, dtype={"video_id": str})
    if not set(INTERVAL_COLUMNS) <= set(table.columns):
        raise DataError(f"{path} has columns {list(table.columns)}, not {INTERVAL_COLUMNS}; move it away or "
                        f"choose another extract.intervals.")
    return {str(v): g for v, g in table[INTERVAL_COLUMNS].groupby("video_id", sort=False)}


def write_intervals(path: Path, rows: dict[str, pd.DataFrame]) -> None:
    """Write every video's rows, sorted by video and start, atomically."""
    table = pd.concat(rows.values()) if rows else pd.DataFrame(columns=INTERVAL_COLUMNS)
    with atomic_path(path) as tmp:
        table.sort_values(["video_id", "start_sec"], kind="stable").to_csv(tmp, index=False)


def for_split(cfg: Mapping[str, Any], split: str) -> dict[str, Any]:
    """The extractor config with each ``num_copies`` given as a ``{split: copies}`` dict (also in ConcatFeatures'
    ``parts``) replaced by the value for ``split``; a split the dict does not name is a ConfigError."""
    out = dict(cfg)
    copies = out.get("num_copies")
    if isinstance(copies, Mapping):
        if split not in copies:
            raise ConfigError(f"extract.extractor num_copies {dict(copies)} names no copies for split '{split}'; add "
                              f"it (the original stores augmented copies for train only: 1 for val and test).")
        out["num_copies"] = copies[split]
    if isinstance(out.get("parts"), (list, tuple)):
        out["parts"] = [for_split(p, split) if isinstance(p, Mapping) else p for p in out["parts"]]
    return out


def extractor_hash(cfg: Mapping[str, Any], extractor: Any) -> str:
    """sha256 of the extractor config without speed-only keys, plus the dtype the model runs in."""
    keys = {k: v for k, v in cfg.items() if k not in SPEED_ONLY_EXTRACTOR_KEYS and k != "dtype"}
    keys["dtype"] = str(getattr(extractor, "dtype", cfg.get("dtype")))
    text = json.dumps(keys, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def record_path(npy: Path) -> Path:
    """Where the config hash of one video's ``.npy`` is recorded."""
    return npy.parent / ".extract" / f"{npy.stem}.json"


def is_complete(npy: Path, rows: pd.DataFrame | None, dim: int, config: str) -> bool:
    """Whether a video's output exists, made by this extractor config, with one interval row per feature."""
    record = record_path(npy)
    if rows is None or not npy.is_file() or not record.is_file():
        return False
    shape = np.load(npy, mmap_mode="r").shape
    if shape[-1] != dim:
        raise DataError(f"{npy} holds {shape[-1]}-d features but the extractor makes {dim}-d ones; rerun with "
                        f"--overwrite or choose another extract.out_folder.")
    try:
        made_by = json.loads(record.read_text()).get("config_hash")
    except (json.JSONDecodeError, AttributeError):
        return False
    if made_by != config:
        log.info("%s was made by another extractor config; extracting it again", npy.stem)
        return False
    return shape[0] == len(rows)


def checked(features: Any, extractor: str, dim: int, media: Path) -> tuple[np.ndarray, np.ndarray]:
    """The extractor's times and values after checking they keep the extractor contract."""
    times, values = np.asarray(features.times, np.float64), np.asarray(features.values, np.float32)
    if (times.shape != (len(times), 2) or values.ndim not in (3, 5)
            or (len(values), values.shape[-1]) != (len(times), dim)):
        raise DataError(f"Extractor {extractor} returned times {times.shape} and values {values.shape} for {media}; "
                        f"the contract is times [T, 2] and values [T, A, {dim}] or [T, A, H, W, {dim}].")
    if not np.isfinite(values).all():
        raise DataError(f"Extractor {extractor} produced NaN or infinite features for {media}; check the input.")
    return times, values


def check_extractor(cfg: Mapping[str, Any]) -> None:
    """Refuse an extractor config that names no plugin, or a FEATURES reader instead of an EXTRACTORS entry
    (before building it, whose argument errors would hide the real mistake)."""
    if "type" not in cfg:
        raise ConfigError(f"extract.extractor needs a 'type' key; got keys {sorted(cfg)}.")
    plugin_manager()
    if EXTRACTORS.get(cfg["type"]) is None and FEATURES.get(cfg["type"]) is not None:
        raise ConfigError(f"Feature plugin {cfg['type']} reads stored features and cannot extract them; set "
                          f"extract.extractor.type to one of {', '.join(sorted(EXTRACTORS.module_dict))}.")
    lookup(EXTRACTORS, cfg["type"])


def extract_features(cfg: Mapping[str, Any], overwrite: bool = False, progress: bool = False) -> ExtractReport:
    """Run the config's extractor over every video of its ``extract`` section; see the module docstring."""
    section = cfg.get("extract")
    if not section:
        raise ConfigError("The config has no extract section; add one like configs/extract_logmel_demo.py's.")
    missing = [k for k in REQUIRED if k not in section]
    if missing:
        raise ConfigError(f"extract lacks {missing}; it needs {', '.join(REQUIRED)} (see the module docstring of "
                          f"tim_bench.extract).")
    if "{video_id}" not in section["inputs"]:
        raise ConfigError(f"extract.inputs '{section['inputs']}' has no {{video_id}}; write it like "
                          f"'audio/{{video_id}}.wav'.")
    root = Path(cfg.get("data_root", "."))
    split, out_folder = section["split"], section["out_folder"]
    intervals = section.get("intervals") or f"{out_folder}/intervals_{{split}}.csv"
    ids = video_ids(section, root)
    # an id such as ../../x/P01_13 would read and write outside data_root: refused before anything is opened
    outputs = {v: safe_join(root / out_folder / split, v, ".npy") for v in ids}
    media = {v: root / section["inputs"].format(video_id=v, split=split) for v in ids}
    absent = [p for p in media.values() if not p.exists()]
    if absent:
        raise DataError(f"Input {absent[0]} does not exist ({len(absent)} of {len(ids)} inputs are missing); "
                        f"fix extract.inputs, data_root or extract.videos.")
    # never into a folder of other files (e.g. released features, which would be replaced) nor over an input
    folder = check_output_folder(root / out_folder / split, OUTPUT_KIND, media.values(), option="extract.out_folder",
                                 also_marked_by=(".extract",))
    extractor_cfg = for_split(section["extractor"], split)
    check_extractor(extractor_cfg)
    name = extractor_cfg["type"]
    extractor = build(EXTRACTORS, extractor_cfg)
    report = ExtractReport(stream=extractor.stream, dim=extractor.dim, features_cfg=dict(
        type="NpyFeatures", folder=out_folder, intervals=intervals))
    table_path = root / intervals.format(split=split)
    rows = read_intervals(table_path)
    config = extractor_hash(extractor_cfg, extractor)
    mark_output_folder(folder, OUTPUT_KIND)
    bar = tqdm(ids, desc=f"extract {name}", unit="video", disable=not progress)
    try:
        for video in bar:
            npy = outputs[video]
            if not overwrite and is_complete(npy, rows.get(video), extractor.dim, config):
                report.skipped.append(video)
                continue
            tic = time.perf_counter()
            try:
                times, values = checked(extractor.extract(media[video]), name, extractor.dim, media[video])
            except VIDEO_ERRORS as exc:
                report.failed[video] = f"{type(exc).__name__}: {exc}"
                log.warning("%s failed: %s", video, exc)
                continue
            write_npy(npy, values)
            rows[video] = pd.DataFrame({"video_id": video, "start_sec": times[:, 0], "stop_sec": times[:, 1]})
            write_json(record_path(npy), {"config_hash": config, "extractor": extractor_cfg,
                                          "rows": len(times), "shape": list(values.shape)})
            report.extracted.append(video)
            account(report, extractor, time.perf_counter() - tic)
            bar.set_postfix_str(speed(report))
    finally:
        bar.close()
        if report.extracted:
            write_intervals(table_path, rows)
    return report


def account(report: ExtractReport, extractor: Any, seconds: float) -> None:
    """Add one video's decode and model seconds and frames read (all as decode if the extractor keeps no timing)."""
    timing = getattr(extractor, "timing", None)
    if timing is None:
        report.decode_s += seconds
        return
    report.decode_s += timing.decode_s
    report.model_s += timing.model_s
    report.frames += timing.frames


def speed(report: ExtractReport) -> str:
    """Frames per second of decoding and of the model so far, for the progress bar and the summary."""
    total = report.decode_s + report.model_s
    if not report.frames or total <= 0:
        return ""
    parts = [f"{report.frames / total:.0f} frames/s"]
    if report.decode_s > 0 and report.model_s > 0:
        parts.append(f"decode {report.frames / report.decode_s:.0f}/s, model {report.frames / report.model_s:.0f}/s")
    return "; ".join(parts)
