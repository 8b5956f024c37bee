"""EPIC-KITCHENS-100 and EPIC-Sounds leaderboard tables (each alone and the joint model) and their published rows.

EPIC-Sounds mAUC is a fraction in [0, 1] (as the official evaluator reports it), every other metric a
percentage, so a tolerance in points is meaningless for mAUC.
"""
from tim_bench_registry import LEADERBOARDS, Chance, LeaderboardSpec, register_reference_files

EPIC100_METRICS = tuple(f"all_{t}_accuracy_at_{k}" for k in (1, 5) for t in ("verb", "noun", "action")) + tuple(
    f"{split}_{t}_accuracy_at_1" for split in ("tail", "unseen") for t in ("verb", "noun", "action")) + (
    "tim_action_head_top1",)
EPIC100_LABELS = {
    **{f"all_{t}_accuracy_at_{k}": f"{t}@{k}" for k in (1, 5) for t in ("verb", "noun", "action")},
    **{f"{s}_{t}_accuracy_at_1": f"{s} {t}@1" for s in ("tail", "unseen") for t in ("verb", "noun", "action")},
    "tim_action_head_top1": "TIM action head@1",
}
SOUNDS_METRICS = ("all_interaction_accuracy_at_1", "all_interaction_accuracy_at_5", "all_interaction_mCA",
                  "all_interaction_mAP", "all_interaction_mAUC")
SOUNDS_LABELS = {"all_interaction_accuracy_at_1": "sound@1", "all_interaction_accuracy_at_5": "sound@5",
                 "all_interaction_mCA": "sound mCA", "all_interaction_mAP": "sound mAP",
                 "all_interaction_mAUC": "sound mAUC"}

# chance levels from the scored split's class counts; the official action (verb and noun both right) is read from
# the action task's counts (one class per verb-noun pair of the vocabulary); action@k and the action head score
# every segment, a pair outside the vocabulary (unlabelled for the action task) as wrong, so their levels divide by
# all segments; tail/unseen subsets, mAP and mAUC get none
EPIC100_CHANCE = {
    **{f"all_{t}_accuracy_at_{k}": Chance(f"visual_{t}", k) for k in (1, 5) for t in ("verb", "noun")},
    **{f"all_action_accuracy_at_{k}": Chance("visual_action", k, unlabelled_scored=True) for k in (1, 5)},
    "tim_action_head_top1": Chance("visual_action", unlabelled_scored=True),
}
SOUNDS_CHANCE = {"all_interaction_accuracy_at_1": Chance("audio_interaction"),
                 "all_interaction_accuracy_at_5": Chance("audio_interaction", 5),
                 "all_interaction_mCA": Chance("audio_interaction", per_class=True)}

SPECS = (
    LeaderboardSpec("EPIC100", "EPIC-KITCHENS-100 action recognition", EPIC100_METRICS, EPIC100_LABELS,
                main_metric="all_action_accuracy_at_1", chance=EPIC100_CHANCE),
    LeaderboardSpec("EPICSounds", "EPIC-Sounds audio interaction recognition", SOUNDS_METRICS, SOUNDS_LABELS,
                main_metric="all_interaction_accuracy_at_1", chance=SOUNDS_CHANCE),
    LeaderboardSpec("EPIC100+EPICSounds", "EPIC-KITCHENS-100 + EPIC-Sounds (one joint model)",
                EPIC100_METRICS + SOUNDS_METRICS, {**EPIC100_LABELS, **SOUNDS_LABELS},
                references=("EPIC100", "EPICSounds"), main_metric="all_action_accuracy_at_1",
                chance={**EPIC100_CHANCE, **SOUNDS_CHANCE}),
)
for _spec in SPECS:
    LEADERBOARDS.register(_spec.name, _spec)
REFERENCE_ROWS = register_reference_files(__package__)
