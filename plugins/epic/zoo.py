"""The released EPIC checkpoints of the original TIM (its recognition README, "Pretrained models").

Their visual input width is not published: 1024 (one backbone, ``epic_av``) or 2048 (Omnivore and VideoMAE
concatenated, ``epic_av_omnivore_videomae``; the authors in JacobChalk/TIM issue #25). Both are accepted; the
visual embedder's shape says which recipe a downloaded file belongs to.
"""
from tim_bench_registry import WEIGHTS, Weights

#: the one key whose shape depends on the visual feature width
VISUAL_WIDTH = {"feature_encoding.visual_embedder.1.weight": ((512, 1024), (512, 2048))}
NOTE = "visual input 1024-d (epic_av) or 2048-d (epic_av_omnivore_videomae); the action head numbers 3806 actions " \
       "by the original's mapping (docs/original-tim.md, EPIC action vocabulary)"

WEIGHTS.register("tim_epic_av", Weights(
    name="tim_epic_av", kind="checkpoint", filename="epic_100_epic_sounds.pth.tar",
    url="https://www.dropbox.com/scl/fi/taqoclgnhjyeoapnb61pq/epic_100_epic_sounds.pth.tar"
        "?rlkey=wbfcnlbpdzf3lt35w6ugtc44w&dl=1",
    manifest=(__package__, "manifests/tim_epic_av.tsv"), nested=("state_dict",),
    recipes=("epic_av_omnivore_videomae", "epic_av"),
    source="JacobChalk/TIM recognition/README.md, Pretrained models: EPIC-KITCHENS-100 + EPIC-SOUNDS",
    alternatives=VISUAL_WIDTH, note=NOTE))
WEIGHTS.register("tim_epic_visual", Weights(
    name="tim_epic_visual", kind="checkpoint", filename="epic_visual_only.pth.tar",
    url="https://www.dropbox.com/scl/fi/udqes9jcyl1at05xljdgn/epic_visual_only.pth.tar"
        "?rlkey=56pe4jjnlyjxg1o2tris4npyi&dl=1",
    manifest=(__package__, "manifests/tim_epic_visual.tsv"), nested=("state_dict",), recipes=("epic_visual",),
    source="JacobChalk/TIM recognition/README.md, Pretrained models: EPIC-KITCHENS-100 (Visual-Only)",
    alternatives=VISUAL_WIDTH, note=NOTE))
