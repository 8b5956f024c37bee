"""EPIC-KITCHENS-100 action recognition (Damen et al., IJCV 2022) from its official annotation files.

Visual-stream tasks: ``verb`` (97), ``noun`` (300) and ``action``. The action vocabulary is every
(verb, noun) pair of the *training* annotations, sorted by (verb, noun) and named "verb,noun"; a
segment whose pair is outside it gets action label -1 (no action loss; the official metric still
scores it through verb x noun). The original TIM's modified pickles (index ``narration_id``, an
``action_class`` column) bring their own action ids instead, and the vocabulary size is then
``num_actions`` (the released TIM model uses 3806) or the largest id read plus one. ``action_vocabulary``
names the file(s) that fix the action ids instead (the original's annotation tables with ``action_class``,
or Omnivore's header-less ``verb_key,noun_key`` list); splits without ``action_class`` are mapped through it.

Files, relative to ``data_root/folder``: ``split_files`` (CSV, or pickle only with
``trust_pickle=True``; a file without ``verb_class`` is an unlabelled split such as
``EPIC_100_test_timestamps.csv``), the video info (``duration`` per ``video_id``), the verb and
noun class lists (names), the tail class lists and the unseen-participant list of each split
(read into ``extra`` for the official metrics).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import DATASETS, IGNORE_LABEL, DataError, SplitAnnotations, Task
from tim_bench_registry.tables import class_ids, read_durations, read_table, segments_of, with_ids

NUM_VERBS, NUM_NOUNS = 97, 300
#: Actions of the released TIM models (the original parser's num_class literal), numbered by its own mapping.
RELEASED_ACTIONS = 3806
SPLIT_FILES = {"train": "EPIC_100_train.csv", "val": "EPIC_100_validation.csv",
               "test": "EPIC_100_test_timestamps.csv"}
UNSEEN_FILES = {"val": "EPIC_100_unseen_participant_ids_validation.csv",
                "test": "EPIC_100_unseen_participant_ids_test.csv"}
ID_COLUMN = "narration_id"
MISSING_HINT = "fix data_root or the file name in the dataset config, or run `tim-bench make-synthetic epic DIR`."


@DATASETS.register_module()
class EPIC100:
    """EPIC-KITCHENS-100 verb / noun / action recognition on the visual stream."""

    def __init__(self, data_root: str, folder: str = "epic-kitchens-100", split_files: Mapping[str, str | None] | None
                 = None, video_info: str = "EPIC_100_video_info.csv", verb_classes: str = "EPIC_100_verb_classes.csv",
                 noun_classes: str = "EPIC_100_noun_classes.csv", tail_verbs: str = "EPIC_100_tail_verbs.csv",
                 tail_nouns: str = "EPIC_100_tail_nouns.csv", unseen_files: Mapping[str, str | None] | None = None,
                 include_verb_noun: bool = True, num_actions: int | None = None, trust_pickle: bool = False,
                 action_vocabulary: str | Sequence[str] | None = None) -> None:
        self.root = Path(data_root) / folder
        self.action_files = [action_vocabulary] if isinstance(action_vocabulary, str) else list(action_vocabulary or [])
        self.split_files = {s: f for s, f in {**SPLIT_FILES, **(split_files or {})}.items() if f}
        self.unseen_files = {s: f for s, f in {**UNSEEN_FILES, **(unseen_files or {})}.items() if f}
        self.video_info, self.trust_pickle = self.root / video_info, trust_pickle
        self.include_verb_noun = include_verb_noun
        self.verb_names = self._class_names(verb_classes, NUM_VERBS)
        self.noun_names = self._class_names(noun_classes, NUM_NOUNS)
        self.tail = {name: self._id_list(file, name) for name, file in (("verb", tail_verbs), ("noun", tail_nouns))}
        self._tables: dict[str, pd.DataFrame] = {}
        self.vocabulary, self.action_ids_given = self._action_vocabulary()
        if num_actions is not None and not self.action_ids_given:
            raise DataError(f"num_actions={num_actions} needs the original TIM's action ids (an action_class column), "
                            f"but {self._path('train')} has none, so its vocabulary is built from the (verb, noun) "
                            f"pairs and would not match a released checkpoint's numbering; give the original's action "
                            f"mapping as action_vocabulary=FILE (docs/original-tim.md) or leave num_actions unset.")
        self.num_actions = num_actions or len(self.vocabulary)
        if self.num_actions < len(self.vocabulary):
            raise DataError(f"num_actions={num_actions} but {self._path('train')} uses action ids up to "
                            f"{len(self.vocabulary) - 1}; raise num_actions or leave it unset.")
        self._tasks = self._make_tasks()

    def _path(self, split: str) -> Path:
        if split not in self.split_files:
            raise DataError(f"EPIC100 has splits {tuple(self.split_files)}; the config asks for '{split}'.")
        return self.root / self.split_files[split]

    def _class_names(self, file: str, count: int) -> tuple[str, ...]:
        """Class names by id from the official class CSV (``id``, ``key``); ids as names when it is absent."""
        path = self.root / file
        if not path.is_file():
            return tuple(str(i) for i in range(count))
        table = pd.read_csv(path)
        if sorted(table["id"]) != list(range(count)):
            raise DataError(f"{path} lists {len(table)} classes with ids {table['id'].min()}..{table['id'].max()}; "
                            f"EPIC-KITCHENS-100 has {count}, numbered 0..{count - 1}.")
        return tuple(table.sort_values("id")["key"].astype(str))

    def _id_list(self, file: str, column: str) -> list | None:
        """The ``column`` of an official one-column list (tail classes, unseen participants); None when absent."""
        path = self.root / file
        if not path.is_file():
            return None
        table = pd.read_csv(path)
        if column not in table.columns:
            raise DataError(f"{path} has no '{column}' column; give the official EPIC-KITCHENS-100 file.")
        return sorted(table[column].tolist())

    def _table(self, split: str) -> pd.DataFrame:
        if split not in self._tables:
            path = self._path(split)
            what = f"EPIC-KITCHENS-100 {split} annotation"
            table = with_ids(read_table(path, self.trust_pickle, what, MISSING_HINT), ID_COLUMN)
            missing = {"video_id", "start_timestamp", "stop_timestamp"} - set(table.columns)
            if missing:
                raise DataError(f"{path} lacks columns {sorted(missing)}; give an official EPIC_100_*.csv.")
            self._tables[split] = table
        return self._tables[split]

    def _action_vocabulary(self) -> tuple[list[tuple[int, int]], bool]:
        """(verb, noun) per action id: the original's ``action_class`` ids if the training file has them, else the
        training pairs sorted by (verb, noun). The flag says which."""
        if self.action_files:
            return self._vocabulary_files(), True
        if "train" not in self.split_files or not self._path("train").is_file():
            raise DataError(f"EPIC100 builds its action vocabulary from the training annotations, but "
                            f"{self.root / self.split_files.get('train', SPLIT_FILES['train'])} does not exist; point "
                            f"split_files.train at the training file (e.g. EPIC_100_uda_source_train.csv).")
        path, table = self._path("train"), self._table("train")
        ids = table[ID_COLUMN]
        if not {"verb_class", "noun_class"} <= set(table.columns):
            raise DataError(f"{path} has no verb_class/noun_class labels; the training split must be labelled.")
        pairs = pd.DataFrame({"verb": class_ids(table, "verb_class", ids, path, NUM_VERBS),
                              "noun": class_ids(table, "noun_class", ids, path, NUM_NOUNS)})
        if "action_class" not in table.columns:
            unique = pairs.drop_duplicates().sort_values(["verb", "noun"])
            return list(zip(unique["verb"].tolist(), unique["noun"].tolist())), False
        pairs["action"] = class_ids(table, "action_class", ids, path, allow_ignore=True)
        known = pairs[pairs["action"] >= 0].drop_duplicates("action")  # -1: no action label
        vocabulary = [(-1, -1)] * (int(pairs["action"].max()) + 1)
        for action, verb, noun in known[["action", "verb", "noun"]].itertuples(index=False):
            vocabulary[action] = (int(verb), int(noun))
        return vocabulary, True

    def _vocabulary_files(self) -> list[tuple[int, int]]:
        """(verb, noun) per action id from ``action_vocabulary``: tables with verb_class, noun_class and action_class
        columns (the original TIM's annotation pickles), or header-less ``verb_key,noun_key`` lines whose line
        number is the id (Omnivore's ``epic_action_classes.csv``)."""
        vocabulary: dict[int, tuple[int, int]] = {}
        verbs, nouns = ({k: i for i, k in enumerate(names)} for names in (self.verb_names, self.noun_names))
        for file in self.action_files:
            path = self.root / file
            table = with_ids(read_table(path, self.trust_pickle, "EPIC-KITCHENS-100 action vocabulary",
                                        "give the original TIM's action mapping file (see docs/original-tim.md)."),
                             ID_COLUMN)
            if {"verb_class", "noun_class", "action_class"} <= set(table.columns):
                ids = table[ID_COLUMN].astype(str)
                rows = zip(*(class_ids(table, c, ids, path, allow_ignore=c == "action_class").tolist()
                             for c in ("action_class", "verb_class", "noun_class")))
            else:
                lines = pd.read_csv(path, header=None, names=["verb", "noun"], dtype=str)
                pairs = list(zip(lines["verb"], lines["noun"]))
                unknown = [f"line {i + 1} '{v},{n}'" for i, (v, n) in enumerate(pairs)
                           if v not in verbs or n not in nouns]
                if unknown:
                    raise DataError(f"{path} {unknown[0]} is not a 'verb_key,noun_key' pair of the EPIC-100 class "
                                    f"lists; give the original's action_class table or Omnivore's action list.")
                rows = zip(range(len(pairs)), [verbs[v] for v, _ in pairs], [nouns[n] for _, n in pairs])
            for action, verb, noun in rows:
                if action >= 0 and vocabulary.setdefault(action, (verb, noun)) != (verb, noun):
                    raise DataError(f"{path} maps action {action} to (verb {verb}, noun {noun}) but an earlier "
                                    f"action_vocabulary file maps it to {vocabulary[action]}; use one release.")
        if not vocabulary:
            raise DataError(f"{self.root / self.action_files[0]} defines no action; give the original's mapping.")
        return [vocabulary.get(a, (-1, -1)) for a in range(max(vocabulary) + 1)]

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.split_files if self._path(s).is_file())

    def tasks(self) -> tuple[Task, ...]:
        return self._tasks

    def _make_tasks(self) -> tuple[Task, ...]:
        names = tuple(f"{self.verb_names[v]},{self.noun_names[n]}" if v >= 0 else f"action {a}"
                      for a, (v, n) in enumerate(self.vocabulary))
        names += tuple(f"action {a}" for a in range(len(names), self.num_actions))
        action = Task("visual", "action", self.num_actions, names)
        if not self.include_verb_noun:
            return (action,)
        return (Task("visual", "verb", NUM_VERBS, self.verb_names), Task("visual", "noun", NUM_NOUNS, self.noun_names),
                action)

    def _action_labels(self, table: pd.DataFrame, verb: np.ndarray, noun: np.ndarray, path: Path) -> np.ndarray:
        if self.action_ids_given:
            if self.action_files and "action_class" not in table.columns:
                index = {pair: a for a, pair in enumerate(self.vocabulary) if pair[0] >= 0}
                return np.array([index.get(p, IGNORE_LABEL) for p in zip(verb.tolist(), noun.tolist())], dtype=np.int64)
            if "action_class" not in table.columns:
                raise DataError(f"{path} has no action_class column, but the training file numbers actions by it; "
                                f"give this split's file from the same (original TIM) release.")
            return class_ids(table, "action_class", table[ID_COLUMN].astype(str), path, self.num_actions,
                             allow_ignore=True)
        index = {pair: a for a, pair in enumerate(self.vocabulary)}
        return np.array([index.get(pair, IGNORE_LABEL) for pair in zip(verb.tolist(), noun.tolist())], dtype=np.int64)

    def load(self, split: str) -> SplitAnnotations:
        path, table = self._path(split), self._table(split)
        ids = table[ID_COLUMN].astype(str)
        labelled = {"verb_class", "noun_class"} <= set(table.columns)
        segments = segments_of(table, path, ID_COLUMN, "visual")
        if labelled:
            verb, noun = class_ids(table, "verb_class", ids, path, NUM_VERBS), \
                class_ids(table, "noun_class", ids, path, NUM_NOUNS)
            action = self._action_labels(table, verb, noun, path)
        else:
            verb = noun = action = np.full(len(table), IGNORE_LABEL, dtype=np.int64)
        if self.include_verb_noun:
            segments["visual_verb"], segments["visual_noun"] = verb, noun
        segments["visual_action"] = action
        all_durations = read_durations(self.video_info, self.trust_pickle)
        durations = {v: all_durations[v] for v in segments["video_id"].unique() if v in all_durations}
        return SplitAnnotations(segments=segments, durations=durations, tasks=self._tasks, labelled=labelled,
                                extra=self._extra(split, table, ids), source=str(path))

    def _extra(self, split: str, table: pd.DataFrame, ids: pd.Series) -> dict[str, Any]:
        """What the official metrics read: participants, tail classes, unseen participants, the action vocabulary."""
        participants = table["participant_id"] if "participant_id" in table.columns else \
            table["video_id"].astype(str).str.split("_").str[0]
        extra: dict[str, Any] = {"participant_id": dict(zip(ids, participants.astype(str))),
                                 "action_vocabulary": list(self.vocabulary)}
        if self.tail["verb"] is not None:
            extra["tail_verbs"] = self.tail["verb"]
        if self.tail["noun"] is not None:
            extra["tail_nouns"] = self.tail["noun"]
        unseen = self._id_list(self.unseen_files[split], "participant_id") if split in self.unseen_files else None
        if unseen is not None:
            extra["unseen_participants"] = [str(p) for p in unseen]
        return extra
