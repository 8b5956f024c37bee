"""WRITERS plugins of the official EPIC-KITCHENS-100 and EPIC-Sounds submission zips (the framework that checks
and writes them is ``submission_writer``)."""
from __future__ import annotations

from pathlib import Path

from tim_bench_registry import WRITERS, Predictions

from .challenges import EPIC100_ACTION, EPIC_SOUNDS
from .submission_writer import submission_header, t_mod_of, write_submission


@WRITERS.register_module()
class EPIC100ActionSubmission:
    """EPIC-KITCHENS-100 action recognition zip (version 0.2): 97 verb and 300 noun scores per narration_id.

    ``timestamps`` (EPIC_100_test_timestamps.csv, relative to ``data_root`` when that is given) makes the
    writer refuse missing or extra segments.
    """

    challenge = EPIC100_ACTION

    def __init__(self, sls_pt: int = 2, sls_tl: int = 3, sls_td: int = 4,
                 timestamps: str | Path | None = None, data_root: str | Path | None = None) -> None:
        self.header = submission_header(self.challenge, sls_pt, sls_tl, sls_td)
        self.timestamps = Path(data_root) / timestamps if data_root and timestamps else timestamps

    def __call__(self, predictions: Predictions, out: str | Path, force: bool = False) -> Path:
        return write_submission(self.challenge, self.header, predictions, out, self.timestamps, force)


@WRITERS.register_module()
class EPICSoundsSubmission:
    """EPIC-Sounds audio-based interaction recognition zip (version 0.1): 44 scores per annotation_id.

    ``t_mod`` is the training modality (0 audio, 1 video, 2 audio-visual; by default read off the predicted
    streams, see ``t_mod_of``); ``timestamps``
    (EPIC_Sounds_recognition_test_timestamps.csv, relative to ``data_root`` when given) makes the writer
    refuse missing or extra segments.
    """

    challenge = EPIC_SOUNDS

    def __init__(self, sls_pt: int = 2, sls_tl: int = 3, sls_td: int = 4, t_mod: int | None = None,
                 timestamps: str | Path | None = None, data_root: str | Path | None = None) -> None:
        self.levels = dict(sls_pt=sls_pt, sls_tl=sls_tl, sls_td=sls_td)
        self.t_mod = t_mod
        submission_header(self.challenge, **self.levels, t_mod=0 if t_mod is None else t_mod)  # refuse bad options now
        self.timestamps = Path(data_root) / timestamps if data_root and timestamps else timestamps

    def __call__(self, predictions: Predictions, out: str | Path, force: bool = False) -> Path:
        header = submission_header(self.challenge, **self.levels, t_mod=t_mod_of(predictions, self.t_mod))
        return write_submission(self.challenge, header, predictions, out, self.timestamps, force)
