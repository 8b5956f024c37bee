"""The one error type of the leaderboard package (printed by the CLI as a single sentence)."""
from tim_bench_registry import TimBenchError


class LeaderboardError(TimBenchError):
    """A run record, reference row or leaderboard request that cannot be used as given."""
