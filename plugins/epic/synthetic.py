"""Synthetic EPIC-KITCHENS-100 + EPIC-Sounds in the official layout, with a planted signal TIM can learn.

Writes under ``out`` (the EPIC configs' ``data_root``)::

    epic-kitchens-100/  EPIC_100_train.csv, EPIC_100_validation.csv, EPIC_100_test_timestamps.csv,
                        EPIC_100_video_info.csv, EPIC_100_{verb,noun}_classes.csv, EPIC_100_tail_{verbs,nouns}.csv,
                        EPIC_100_unseen_participant_ids_{validation,test}.csv
    epic-sounds/        EPIC_Sounds_train.csv, EPIC_Sounds_validation.csv,
                        EPIC_Sounds_recognition_test_timestamps.csv
    features/{visual,audio}/{train,val,test}/<video_id>.npy   [T, A, D] float32: one row every 0.2 s, each
                        spanning 1 s; A = 4 visual / 3 audio noise draws in train, 1 elsewhere
    features/{visual,audio}/intervals_{split}.csv             video_id, start_sec, stop_sec

Signal: each feature carries the prototypes of the segments overlapping its 1-s span, weighted by
the share of the span they cover (visual: (verb + noun prototype) / sqrt 2; audio: the class
prototype), topped up by a weak background prototype where they cover less of it, times
``signal``, plus unit Gaussian noise per copy.

With ``annotations=DIR`` the real annotation files under ``DIR/epic-kitchens-100`` and
``DIR/epic-sounds`` give the segments and durations. The validation files are the only split both
datasets label here, so the first ``max_videos`` videos of ``EPIC_100_validation.csv`` are carved
into val (the second of every four: videos 2, 6, 10, ...) and train (the rest) and written as those
splits' files with their real rows; the test timestamps keep their real rows for as many test
videos as val has (all when ``max_videos`` is None). The unseen-participant list of val is
recomputed for the carved split; class, tail, video-info and the test unseen list are copied.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from tim_bench_registry import DataError
from tim_bench_registry.files import atomic_path, write_atomic, write_npy
from tim_bench_registry.synthetic import check_free_space, prototypes, write_marker
from tim_bench_registry.tables import seconds

from .epic_kitchens import NUM_NOUNS, NUM_VERBS
from .epic_sounds import NUM_CLASSES as NUM_SOUNDS
from .official import BACKGROUND_CLASS as BACKGROUND_SOUND
SPLITS = ("train", "val", "test")
FEAT_GAP, FEAT_SPAN = 0.2, 1.0
COPIES = {"visual": 4, "audio": 3}  # stored augmentation copies in train; 1 in val and test
EPIC = "epic-kitchens-100"
SOUNDS = "epic-sounds"
EPIC_FILES = {"train": "EPIC_100_train.csv", "val": "EPIC_100_validation.csv", "test": "EPIC_100_test_timestamps.csv"}
SOUNDS_FILES = {"train": "EPIC_Sounds_train.csv", "val": "EPIC_Sounds_validation.csv",
                "test": "EPIC_Sounds_recognition_test_timestamps.csv"}
UNSEEN_FILES = {"val": "EPIC_100_unseen_participant_ids_validation.csv",
                "test": "EPIC_100_unseen_participant_ids_test.csv"}
COPIED_FILES = ("EPIC_100_verb_classes.csv", "EPIC_100_noun_classes.csv", "EPIC_100_tail_verbs.csv",
                "EPIC_100_tail_nouns.csv", "EPIC_100_video_info.csv", UNSEEN_FILES["test"])
EPIC_TEST_COLUMNS = ["narration_id", "participant_id", "video_id", "narration_timestamp", "start_timestamp",
                     "stop_timestamp", "start_frame", "stop_frame"]
SOUNDS_TEST_COLUMNS = ["annotation_id", "participant_id", "video_id", "start_timestamp", "stop_timestamp",
                       "start_sample", "stop_sample"]
FPS, SAMPLE_RATE = 50, 24000


@dataclass
class Annotations:
    """Official-format rows per split with float ``start``/``stop`` seconds, and the video durations."""

    visual: dict[str, pd.DataFrame]   # EPIC-100 rows; real test rows have no labels (generated ones keep theirs)
    audio: dict[str, pd.DataFrame]    # EPIC-Sounds rows; likewise
    durations: dict[str, float]


def timestamp(seconds: np.ndarray, decimals: int) -> list[str]:
    """Float seconds -> ``HH:MM:SS.ff`` (2 decimals, EPIC-100) or ``HH:MM:SS.fff`` (3, EPIC-Sounds)."""
    out = []
    for s in np.round(np.asarray(seconds, dtype=float), decimals):
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        out.append(f"{int(h):02d}:{int(m):02d}:{sec:0{3 + decimals}.{decimals}f}")
    return out


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))


# ---------------------------------------------------------------- synthetic annotations

def _zipf(rng: np.random.Generator, n_classes: int, size: int, power: float) -> np.ndarray:
    """Long-tailed class ids: P(c) proportional to 1 / (c + 1)^power, as EPIC's frequency-ordered ids."""
    p = 1.0 / np.arange(1, n_classes + 1) ** power
    return rng.choice(n_classes, size=size, p=p / p.sum())


def _intervals(rng: np.random.Generator, duration: float, mean_gap: float, median_len: float, min_len: float,
               max_len: float, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping segments over a video: exponential gaps between starts, log-normal lengths."""
    count = int(duration / mean_gap * 2) + 4
    start = np.cumsum(rng.exponential(mean_gap, count))
    length = np.clip(rng.lognormal(math.log(median_len), 0.7, count), min_len, max_len)
    start, stop = np.round(start, decimals), np.round(np.minimum(start + length, duration), decimals)
    keep = (start < duration - min_len) & (stop - start >= min_len)
    return start[keep], stop[keep]


def _video_plan(rng: np.random.Generator, videos: int) -> pd.DataFrame:
    """video_id, participant_id, split, duration: val and test each have one video of a participant unseen in train."""
    if videos < 3:
        raise DataError(f"Synthetic EPIC needs at least 3 videos (train, val and test); got {videos}.")
    n_eval = max(1, videos // 5)
    split = np.array(["test"] * n_eval + ["val"] * n_eval + ["train"] * (videos - 2 * n_eval))
    seen = max(2, videos // 4)
    participant = [f"P{i % seen + 1:02d}" for i in range(videos)]
    participant[0], participant[n_eval] = f"P{seen + 2:02d}", f"P{seen + 1:02d}"  # unseen in test, in val
    counter: dict[str, int] = {}
    video_id = []
    for p in participant:
        counter[p] = counter.get(p, 0) + 1
        video_id.append(f"{p}_{counter[p]:02d}")
    return pd.DataFrame({"video_id": video_id, "participant_id": participant, "split": split,
                         "duration": np.round(rng.uniform(40.0, 160.0, videos), 6)})


def _epic_rows(video: pd.Series, start: np.ndarray, stop: np.ndarray, verb: np.ndarray, noun: np.ndarray,
               verb_keys: list[str], noun_keys: list[str]) -> pd.DataFrame:
    n = len(start)
    return pd.DataFrame({
        "narration_id": [f"{video.video_id}_{i}" for i in range(n)], "participant_id": video.participant_id,
        "video_id": video.video_id, "narration_timestamp": timestamp(start + 0.3, 3),
        "start_timestamp": timestamp(start, 2), "stop_timestamp": timestamp(stop, 2),
        "start_frame": np.round(start * FPS).astype(int) + 1, "stop_frame": np.round(stop * FPS).astype(int) + 1,
        "narration": [f"{verb_keys[v]} {noun_keys[o]}" for v, o in zip(verb, noun)],
        "verb": [verb_keys[v] for v in verb], "verb_class": verb, "noun": [noun_keys[o] for o in noun],
        "noun_class": noun, "all_nouns": [f"['{noun_keys[o]}']" for o in noun],
        "all_noun_classes": [f"[{o}]" for o in noun], "start": start, "stop": stop})


def _sounds_rows(video: pd.Series, start: np.ndarray, stop: np.ndarray, label: np.ndarray,
                 names: list[str]) -> pd.DataFrame:
    n = len(start)
    return pd.DataFrame({
        "annotation_id": [f"{video.video_id}_{i}" for i in range(n)], "participant_id": video.participant_id,
        "video_id": video.video_id, "start_timestamp": timestamp(start, 3), "stop_timestamp": timestamp(stop, 3),
        "start_sample": np.round(start * SAMPLE_RATE).astype(int),
        "stop_sample": np.round(stop * SAMPLE_RATE).astype(int),
        "description": [f"sound of {names[c]}" for c in label], "class": [names[c] for c in label],
        "class_id": label, "start": start, "stop": stop})


def _tail(counts: np.ndarray, head_share: float = 0.8) -> list[int]:
    """Tail classes: all but the most frequent ones that together hold ``head_share`` of the training instances."""
    order = np.argsort(-counts, kind="stable")
    head = order[: int(np.searchsorted(np.cumsum(counts[order]) / max(counts.sum(), 1), head_share)) + 1]
    return sorted(set(range(len(counts))) - set(head.tolist()))


def full_scale_plan(source: Path) -> pd.DataFrame:
    """Every EPIC-100 video with its real duration and split: val and test as the real validation and test files
    list them, train all the others (the 700 videos of EPIC_100_video_info.csv)."""
    info_path = source / EPIC / "EPIC_100_video_info.csv"
    if not info_path.is_file():
        raise DataError(f"{info_path} does not exist; --full needs the official EPIC_100_video_info.csv under "
                        f"--annotations DIR/{EPIC}.")
    info = pd.read_csv(info_path)
    split_of: dict[str, str] = {}
    for split in ("val", "test"):
        path = source / EPIC / EPIC_FILES[split]
        if not path.is_file():
            raise DataError(f"{path} does not exist; --full takes the {split} videos from it.")
        split_of.update({str(v): split for v in pd.read_csv(path, usecols=["video_id"]).video_id.unique()})
    ids = info.video_id.astype(str)
    return pd.DataFrame({"video_id": ids, "participant_id": ids.str.split("_").str[0],
                         "split": ids.map(split_of).fillna("train"), "duration": info.duration.astype(float)})


def synthetic_annotations(out: Path, rng: np.random.Generator, videos: int,
                          plan: pd.DataFrame | None = None) -> Annotations:
    """Generate and write the EPIC-100 and EPIC-Sounds annotation files of ``videos`` generated videos (or of
    ``plan``'s: video_id, participant_id, split, duration); return them."""
    plan = _video_plan(rng, videos) if plan is None else plan
    verb_keys = [f"verb{c:02d}" for c in range(NUM_VERBS)]
    noun_keys = [f"noun{c:03d}" for c in range(NUM_NOUNS)]
    sound_names = [f"sound{c:02d}" if c != BACKGROUND_SOUND else "background" for c in range(NUM_SOUNDS)]
    visual: dict[str, list[pd.DataFrame]] = {s: [] for s in SPLITS}
    audio: dict[str, list[pd.DataFrame]] = {s: [] for s in SPLITS}
    for _, video in plan.iterrows():
        start, stop = _intervals(rng, video.duration, 2.5, 2.0, 0.5, 30.0, 2)
        visual[video.split].append(_epic_rows(video, start, stop, _zipf(rng, NUM_VERBS, len(start), 1.1),
                                              _zipf(rng, NUM_NOUNS, len(start), 1.0), verb_keys, noun_keys))
        start, stop = _intervals(rng, video.duration, 3.0, 1.0, 0.2, 20.0, 3)
        audio[video.split].append(_sounds_rows(video, start, stop, _zipf(rng, NUM_SOUNDS, len(start), 0.8),
                                               sound_names))
    ann = Annotations({s: pd.concat(v, ignore_index=True) for s, v in visual.items()},
                      {s: pd.concat(v, ignore_index=True) for s, v in audio.items()},
                      dict(zip(plan.video_id, plan.duration)))
    for split in SPLITS:
        epic_columns = EPIC_TEST_COLUMNS if split == "test" else list(ann.visual[split].columns[:-2])
        sounds_columns = SOUNDS_TEST_COLUMNS if split == "test" else list(ann.audio[split].columns[:-2])
        _write_csv(out / EPIC / EPIC_FILES[split], ann.visual[split][epic_columns])
        _write_csv(out / SOUNDS / SOUNDS_FILES[split], ann.audio[split][sounds_columns])
    train = ann.visual["train"]
    for name, keys in (("verb", verb_keys), ("noun", noun_keys)):
        _write_csv(out / EPIC / f"EPIC_100_{name}_classes.csv",
                   pd.DataFrame({"id": range(len(keys)), "key": keys, "instances": [f"['{k}']" for k in keys],
                                 "category": "synthetic"}))
        counts = np.bincount(train[f"{name}_class"], minlength=len(keys))
        _write_csv(out / EPIC / f"EPIC_100_tail_{name}s.csv", pd.DataFrame({name: _tail(counts)}))
    for split in ("val", "test"):
        unseen = sorted(set(plan.participant_id[plan.split == split]) - set(plan.participant_id[plan.split == "train"]))
        _write_csv(out / EPIC / UNSEEN_FILES[split], pd.DataFrame({"participant_id": unseen}))
    _write_csv(out / EPIC / "EPIC_100_video_info.csv",
               pd.DataFrame({"video_id": plan.video_id, "duration": plan.duration, "fps": float(FPS),
                             "resolution": "1920x1080"}))
    return ann


# ---------------------------------------------------------------- real annotations

def _read_real(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path} does not exist; --annotations needs a folder with epic-kitchens-100/ and "
                        f"epic-sounds/ holding the official CSV files.")
    table = pd.read_csv(path)
    ids = table.iloc[:, 0]
    return table.assign(start=seconds(table.start_timestamp, ids, path),
                        stop=seconds(table.stop_timestamp, ids, path))


def real_annotations(out: Path, source: Path, max_videos: int | None) -> Annotations:
    """Carve train/val out of the real validation files (see the module docstring), write them, return them."""
    epic_val = _read_real(source / EPIC / EPIC_FILES["val"])
    sounds_val = _read_real(source / SOUNDS / SOUNDS_FILES["val"])
    videos = list(dict.fromkeys(epic_val.video_id))[:max_videos]
    if len(videos) < 2:
        raise DataError(f"--max-videos must keep at least 2 videos (train and val); got {max_videos}.")
    val_videos = videos[1::4]
    split_of = {v: "val" if v in val_videos else "train" for v in videos}
    visual = {s: epic_val[epic_val.video_id.map(split_of) == s].reset_index(drop=True) for s in ("train", "val")}
    audio = {s: sounds_val[sounds_val.video_id.map(split_of) == s].reset_index(drop=True) for s in ("train", "val")}
    epic_test_path, sounds_test_path = source / EPIC / EPIC_FILES["test"], source / SOUNDS / SOUNDS_FILES["test"]
    if epic_test_path.is_file() and sounds_test_path.is_file():
        epic_test, sounds_test = _read_real(epic_test_path), _read_real(sounds_test_path)
        test_videos = [v for v in dict.fromkeys(epic_test.video_id) if v in set(sounds_test.video_id)]
        test_videos = test_videos[:len(val_videos)] if max_videos is not None else test_videos
        visual["test"] = epic_test[epic_test.video_id.isin(test_videos)].reset_index(drop=True)
        audio["test"] = sounds_test[sounds_test.video_id.isin(test_videos)].reset_index(drop=True)
    info = pd.read_csv(source / EPIC / "EPIC_100_video_info.csv")
    durations = dict(zip(info.video_id.astype(str), info.duration.astype(float)))
    for split in visual:
        _write_csv(out / EPIC / EPIC_FILES[split], visual[split].drop(columns=["start", "stop"]))
        _write_csv(out / SOUNDS / SOUNDS_FILES[split], audio[split].drop(columns=["start", "stop"]))
    for name in COPIED_FILES:
        if (source / EPIC / name).is_file():
            with atomic_path(out / EPIC / name) as tmp:
                shutil.copyfile(source / EPIC / name, tmp)
    participants = {s: set(visual[s].participant_id) | set(audio[s].participant_id) for s in visual}
    _write_csv(out / EPIC / UNSEEN_FILES["val"],
               pd.DataFrame({"participant_id": sorted(participants["val"] - participants["train"])}))
    used = set().union(*(set(t.video_id) for t in [*visual.values(), *audio.values()]))
    return Annotations(visual, audio, {v: durations[v] for v in used})


# ---------------------------------------------------------------- features

def feature_intervals(duration: float) -> np.ndarray:
    """[T, 2] feature spans: one every FEAT_GAP s from 0, each FEAT_SPAN s long centred on it, clipped to the video."""
    centre = np.arange(0.0, duration, FEAT_GAP)
    return np.stack([np.maximum(centre - FEAT_SPAN / 2, 0.0), np.minimum(centre + FEAT_SPAN / 2, duration)], 1)


def planted_signal(times: np.ndarray, start: np.ndarray, stop: np.ndarray, protos: np.ndarray,
                   background: np.ndarray) -> np.ndarray:
    """[T, D]: per feature, the prototypes of the segments overlapping its span weighted by the share of the span
    they cover, averaged where the shares add up to more than 1 and topped up with the background where less."""
    span = np.minimum(stop[None], times[:, 1:]) - np.maximum(start[None], times[:, :1])
    weight = np.clip(span, 0, None) / (times[:, 1:] - times[:, :1])
    total = weight.sum(1, keepdims=True)
    mixed = weight @ protos
    return np.where(total >= 1, mixed / np.maximum(total, 1e-9), mixed + (1 - total) * background).astype(np.float32)


def _labels_for_signal(rng: np.random.Generator, table: pd.DataFrame, train: pd.DataFrame,
                       columns: list[str]) -> np.ndarray:
    """[N, len(columns)] class ids; unlabelled (test) rows draw theirs from the training rows, as test data would."""
    if set(columns) <= set(table.columns):
        return table[columns].to_numpy(np.int64)
    return train[columns].to_numpy(np.int64)[rng.integers(len(train), size=len(table))]


def feature_bytes(ann: Annotations, dims: dict[str, int]) -> int:
    """Bytes of float32 features ``write_features`` writes for ``ann`` (told to the user before writing)."""
    size = 0
    for split in ann.visual:
        for video in set(ann.visual[split].video_id) | set(ann.audio[split].video_id):
            rows = len(feature_intervals(ann.durations[video]))
            size += sum(rows * (COPIES[s] if split == "train" else 1) * d * 4 for s, d in dims.items())
    return size


def write_features(out: Path, rng: np.random.Generator, ann: Annotations, dims: dict[str, int],
                   signal: float, progress: bool = False) -> None:
    """Per split and video, both streams' ``.npy`` features and interval CSVs (every video of a split gets both)."""
    total = sum(len(set(ann.visual[s].video_id) | set(ann.audio[s].video_id)) for s in ann.visual)
    check_free_space(out, feature_bytes(ann, dims), f"{total} videos, " + " + ".join(
        f"{d}-d {s}" for s, d in dims.items()), smaller="--dims (e.g. --dims 16,16) or --max-videos")
    bar = tqdm(total=total, desc="write features", unit="video", disable=not progress)
    verb, noun = prototypes(rng, NUM_VERBS, dims["visual"]), prototypes(rng, NUM_NOUNS, dims["visual"])
    sound = prototypes(rng, NUM_SOUNDS, dims["audio"])
    background = {s: prototypes(rng, 1, d)[0] * 0.3 for s, d in dims.items()}
    for split in ann.visual:
        tables = {"visual": ann.visual[split], "audio": ann.audio[split]}
        labels = {"visual": _labels_for_signal(rng, tables["visual"], ann.visual["train"],
                                               ["verb_class", "noun_class"]),
                  "audio": _labels_for_signal(rng, tables["audio"], ann.audio["train"], ["class_id"])}
        intervals: dict[str, list[pd.DataFrame]] = {s: [] for s in dims}
        for video in sorted(set(tables["visual"].video_id) | set(tables["audio"].video_id)):
            times = feature_intervals(ann.durations[video])
            for stream, dim in dims.items():
                mine = (tables[stream].video_id == video).to_numpy()
                y = labels[stream][mine]
                protos = (verb[y[:, 0]] + noun[y[:, 1]]) / math.sqrt(2) if stream == "visual" else sound[y[:, 0]]
                clean = planted_signal(times, tables[stream].start.to_numpy()[mine],
                                       tables[stream].stop.to_numpy()[mine], protos, background[stream])
                copies = COPIES[stream] if split == "train" else 1
                noise = rng.standard_normal((len(times), copies, dim), dtype=np.float32)
                write_npy(out / "features" / stream / split / f"{video}.npy", clean[:, None] * signal + noise)
                intervals[stream].append(pd.DataFrame({"video_id": video, "start_sec": times[:, 0],
                                                       "stop_sec": times[:, 1]}))
            bar.update()
        for stream, parts in intervals.items():
            _write_csv(out / "features" / stream / f"intervals_{split}.csv", pd.concat(parts, ignore_index=True))
    bar.close()


def make_epic(out: str | Path, videos: int = 20, seed: int = 0, visual_dim: int = 1024, audio_dim: int = 2304,
              annotations: str | Path | None = None, max_videos: int | None = None, signal: float = 0.5,
              full: bool = False, progress: bool = False) -> Path:
    """Write synthetic EPIC-100 + EPIC-Sounds (annotations and features) under ``out``; return ``out``.

    ``full``: every EPIC-100 video (real durations and splits from ``annotations``) with generated segments.
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    if full:
        if annotations is None:
            raise DataError("The full-scale EPIC data takes the real videos' durations from --annotations DIR.")
        ann = synthetic_annotations(out, rng, 0, full_scale_plan(Path(annotations)))
    elif annotations is None:
        ann = synthetic_annotations(out, rng, videos)
    else:
        ann = real_annotations(out, Path(annotations), max_videos)
    write_features(out, rng, ann, {"visual": visual_dim, "audio": audio_dim}, signal, progress)
    write_marker(out, "EPIC100+EPICSounds", videos=videos, full=full, seed=seed, visual_dim=visual_dim, audio_dim=audio_dim,
                 annotations=str(annotations) if annotations else None, max_videos=max_videos, signal=signal)
    return out
