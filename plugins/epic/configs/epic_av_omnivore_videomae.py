# TIM on EPIC-KITCHENS-100 + EPIC-Sounds as published (CVPR 2024, EPIC row): the visual stream is Omnivore and
# VideoMAE features concatenated per interval (1024 + 1024 = 2048-d; the authors in JacobChalk/TIM issue #25), the
# audio stream Auditory SlowFast (2304-d). Everything else is configs/epic_av.py (the 1024-d recipe).
# features/visual_omnivore_videomae/ holds <video_id>.npy [T, A, 2048] per split folder, as features/visual/ does.
_base_ = ["epic_av.py"]

features = dict(
    visual=dict(folder="features/visual_omnivore_videomae",
                intervals="features/visual_omnivore_videomae/intervals_{split}.csv", dim=2048),
)
