"""The released Perception Test checkpoint of the original TIM (its recognition README, "Pretrained models")."""
from tim_bench_registry import WEIGHTS, Weights

WEIGHTS.register("tim_perception_av", Weights(
    name="tim_perception_av", kind="checkpoint", filename="percetion_test_action_sound.pth.tar",
    url="https://www.dropbox.com/scl/fi/xzt8rbl19cumgl0v3gl2d/percetion_test_action_sound.pth.tar"
        "?rlkey=qsd7vbpddnftpk4mjq4j8dpnm&dl=1",
    manifest=(__package__, "manifests/tim_perception_av.tsv"), nested=("state_dict",), recipes=("perception_av",),
    source="JacobChalk/TIM recognition/README.md, Pretrained models: Perception Test Action + Sound"))
