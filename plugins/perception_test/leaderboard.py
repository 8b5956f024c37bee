"""Perception Test's leaderboard table and its published reference rows (``reference/*.json``)."""
from tim_bench_registry import LEADERBOARDS, Chance, LeaderboardSpec, register_reference_files

SPEC = LeaderboardSpec("PerceptionTest", "Perception Test action and sound recognition",
                   ("action_top1", "action_top5", "sound_top1", "sound_top5", "action_mca", "sound_mca"),
                   {"action_top1": "action@1", "action_top5": "action@5", "sound_top1": "sound@1",
                    "sound_top5": "sound@5", "action_mca": "action mCA", "sound_mca": "sound mCA"},
                   main_metric="action_top1",
                   chance={"action_top1": Chance("visual_action"), "action_top5": Chance("visual_action", 5),
                           "sound_top1": Chance("audio_sound"), "sound_top5": Chance("audio_sound", 5),
                           "action_mca": Chance("visual_action", per_class=True),
                           "sound_mca": Chance("audio_sound", per_class=True)})
LEADERBOARDS.register(SPEC.name, SPEC)
REFERENCE_ROWS = register_reference_files(__package__)
