"""The released AVE checkpoint of the original TIM (its recognition README, "Pretrained models": AVE)."""
from tim_bench_registry import WEIGHTS, Weights

WEIGHTS.register("tim_ave", Weights(
    name="tim_ave", kind="checkpoint", filename="ave.pth.tar",
    url="https://www.dropbox.com/scl/fi/fy3wdorrhfdx9nfilwfem/ave.pth.tar?rlkey=u8nyvs0m11msm5hmfq7rnzs2q&dl=1",
    manifest=(__package__, "manifests/tim_ave_omnivore_asf.tsv"), nested=("state_dict",), recipes=("ave_omnivore_asf",),
    source="JacobChalk/TIM recognition/README.md, Pretrained models: AVE",
    note="the Omnivore + Auditory SlowFast model, re-uploaded after the time-MLP ReLU fix (JacobChalk/TIM issue "
         "#29); a VGG-feature (AVGA) checkpoint has another layout and is refused"))
