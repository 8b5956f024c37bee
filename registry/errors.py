"""Errors that reach the user as one sentence: the CLI prints them without a traceback."""


class TimBenchError(Exception):
    """A problem with the user's input or environment, with the fix in its message."""


class UnknownPluginError(TimBenchError):
    """A config names a plugin that no registry holds, or cannot build it."""


class DataError(TimBenchError):
    """Annotations or features are missing, malformed or disagree with the config."""


class LeaderboardError(TimBenchError):
    """A run record, reference row or leaderboard request that cannot be used as given."""
