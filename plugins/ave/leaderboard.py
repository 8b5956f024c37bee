"""AVE's leaderboard table and its published reference rows (``reference/*.json``).

The TIM paper's AVE table reports one 1-s segment accuracy: the visual-query head at its own best checkpoint
(the original's ``best_visual``; the authors' issue #29 log compares that head with the paper), so ``acc_visual``
is the main metric and the published rows sit in its column.
"""
from tim_bench_registry import LEADERBOARDS, Chance, LeaderboardSpec, register_reference_files

SPEC = LeaderboardSpec("AVE", "AVE (Audio-Visual Event), 1-s segment accuracy", ("acc_visual", "acc_fused", "acc_audio"),
                   {"acc_visual": "visual", "acc_fused": "fused", "acc_audio": "audio"}, main_metric="acc_visual",
                   # both streams carry each second's one event label; fused scores it against the visual labels
                   chance={"acc_visual": Chance("visual_event"), "acc_fused": Chance("visual_event"),
                           "acc_audio": Chance("audio_event")})
LEADERBOARDS.register(SPEC.name, SPEC)
REFERENCE_ROWS = register_reference_files(__package__)
