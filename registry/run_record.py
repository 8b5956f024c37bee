"""The run record (result.json): the one schema the runner writes, the results store reads and the
``tim_bench_run_finished`` hook hands to plugins (``RunRecord.from_dict(json.loads(text))``); docs/writing-plugins.md 7."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

#: The version of the record's keys a new record is written with; bumped when a key changes meaning or goes away
#: (adding an optional key does not bump it).
RUN_RECORD_SCHEMA = 1


@dataclasses.dataclass
class RunRecord:
    """One finished run, as ``result.json`` and the results store hold it.

    The first keys (through ``created``) are ``REQUIRED`` of a new record (None is a value there, e.g.
    ``git_revision`` outside git); the later ones were added over time, so a record stored by an older
    tim-bench lacks them and loads with None (``to_dict`` leaves a None optional key out). Keys this version
    does not know are kept in ``extra`` and written back unchanged.
    """

    run_id: str
    config_name: str
    config_hash: str
    dataset: str
    seed: int
    split: str
    metrics: dict[str, float | None]
    created: str
    schema: int | None = RUN_RECORD_SCHEMA  # None: a record written before the key existed (read as it was)
    config_path: str | None = None
    features: Any = None  # the config's feature readers (a dict per stream, or a list of them)
    model: str | None = None
    val_metrics: dict[str, float] | None = None
    main_metric: str | None = None
    epochs_trained: int | None = None
    best_epoch: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    torch_version: str | None = None
    package_versions: dict[str, str] | None = None
    git_revision: str | None = None
    git_dirty: bool | None = None
    work_dir: str | None = None
    predictions: str | None = None
    # optional: recorded since later versions
    recipe_hash: str | None = None  # since the data fingerprint: without data_root, with data_fingerprint's sha256
    data_fingerprint: dict[str, Any] | None = None  # what the data is (the engine's data fingerprint)
    data_root: str | None = None
    synthetic_data: bool | None = None
    stream_best: dict[str, Any] | None = None
    metrics_original_selection: dict[str, float | None] | None = None
    sampler: str | None = None
    training_procedure: dict[str, Any] | None = None
    predictions_sha256: str | None = None
    submissions: list[str] | None = None
    load_from: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # the resolved config (what `compare` and the leaderboard diff)
    world_size: int | None = None  # training processes sharing the global batch (absent: 1)
    # roles ("val", "test") whose split is the training data itself: its scores measure fit, not generalisation
    scored_on_training_data: list[str] | None = None
    label_counts: dict[str, list[int]] | None = None  # per task, segments of each class in the scored split (chance)
    task_segments: dict[str, int] | None = None  # per task, scored segments labelled or not (chance denominators)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    #: keys a new record must carry (the runner's contract with the leaderboard)
    REQUIRED: ClassVar[tuple[str, ...]] = (
        "run_id", "config_name", "config_path", "config_hash", "dataset", "features", "model", "seed", "split",
        "metrics", "val_metrics", "main_metric", "epochs_trained", "best_epoch", "wall_time_s", "device",
        "torch_version", "package_versions", "git_revision", "git_dirty", "work_dir", "predictions", "created")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """A record from its JSON form (old records lack later keys, ``schema`` included: they load as None)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{"schema": None, **{k: v for k, v in data.items() if k in known}},
                   extra={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every required key, the optional keys that are set, then ``extra``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None or k in self.REQUIRED}
        return {**out, **self.extra}
