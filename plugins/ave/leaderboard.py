"""AVE's leaderboard table and its published reference rows (``reference/*.json``)."""
from tim_bench_registry import LEADERBOARDS, DatasetSpec, register_reference_files

SPEC = DatasetSpec("AVE", "AVE (Audio-Visual Event), 1-s segment accuracy", ("acc_fused", "acc_visual", "acc_audio"),
                   {"acc_fused": "fused", "acc_visual": "visual", "acc_audio": "audio"})
LEADERBOARDS.register(SPEC.name, SPEC)
REFERENCE_ROWS = register_reference_files(__package__)
