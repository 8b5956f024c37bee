"""The one error type of the leaderboard package (printed by the CLI as a single sentence); plugins raise it too."""
from tim_bench_registry import LeaderboardError

__all__ = ["LeaderboardError"]
