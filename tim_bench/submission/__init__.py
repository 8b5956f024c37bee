"""Challenge submissions: the official EPIC-100 and EPIC-Sounds zips (writers, reader) and the original TIM dict."""
from .challenges import CHALLENGES, EPIC100_ACTION, EPIC_SOUNDS, Challenge, ScoreBlock
from .epic import EPIC100ActionSubmission, EPICSoundsSubmission, write_submission
from .original import export_original_predictions
from .reader import read_submission

__all__ = [
    "CHALLENGES", "EPIC100_ACTION", "EPIC_SOUNDS", "Challenge", "EPIC100ActionSubmission", "EPICSoundsSubmission",
    "ScoreBlock", "export_original_predictions", "read_submission", "write_submission",
]
