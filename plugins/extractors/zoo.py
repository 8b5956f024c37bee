"""The official backbone weights the published feature recipes read (docs/feature-extractors.md), as zoo entries.

Each is verified against its manifest (``manifests/*.tsv``, written from the official model code). URLs are given
where the original code names one; the others (Auditory SlowFast, VideoMAE, VGG-19) are links on a README page or
in torchvision: fetch those once by hand, or serve them from a mirror (``TIM_BENCH_ZOO_MIRROR``).
"""
from tim_bench_registry import WEIGHTS, Weights

#: training recipes per feature backbone (the extraction recipe of configs/extract/ comes first)
EPIC_VISUAL = ("epic_av", "epic_visual", "epic_av_omnivore_videomae")
EPIC_AUDIO = ("epic_av", "epic_sounds", "epic_av_omnivore_videomae")
OMNIVORE = "TIM feature_extractors/omnivore/omnivore/models/omnivore_model.py, CHECKPOINT_PATHS"
ASF = "TIM feature_extractors/auditory_slowfast/README.md (link on that page)"

for weights in (
    Weights("omnivore_swinB_epic", "extractor", "swinB_epic_checkpoint.torch",
            "https://dl.fbaipublicfiles.com/omnivore/models/swinB_epic_checkpoint.torch",
            (__package__, "manifests/omnivore_swinB_epic.tsv"),
            recipes=("epic_omnivore", "epic_omnivore_videomae", "perception_omnivore", *EPIC_VISUAL, "perception_av"),
            source=f"{OMNIVORE}: omnivore_swinB_epic", flatten=("trunk", "heads")),
    Weights("omnivore_swinB", "extractor", "swinB_checkpoint.torch",
            "https://dl.fbaipublicfiles.com/omnivore/models/swinB_checkpoint.torch",
            (__package__, "manifests/omnivore_swinB.tsv"), recipes=("ave_omnivore", "ave_omnivore_asf"),
            source=f"{OMNIVORE}: omnivore_swinB", flatten=("trunk", "heads")),
    Weights("videomae_epic", "extractor", "videomae_epic.pth.tar", None, (__package__, "manifests/videomae_epic.tsv"),
            recipes=("epic_videomae", "epic_omnivore_videomae", "epic_av_omnivore_videomae"),
            source="TIM feature_extractors/VideoMAE/README.md (\"we provided our pretrained model here\")",
            nested=("model", "module"), allow=("argparse.Namespace",)),
    Weights("asf_epicsounds", "extractor", "asf_epicsounds.pyth", None, (__package__, "manifests/asf_epicsounds.tsv"),
            recipes=("epic_sounds_asf", "perception_asf", *EPIC_AUDIO, "perception_av"), source=ASF,
            nested=("model_state",)),
    Weights("asf_vggsound", "extractor", "asf_vggsound.pyth", None, (__package__, "manifests/asf_vggsound.tsv"),
            recipes=("ave_asf", "ave_omnivore_asf"), source=ASF, nested=("model_state",)),
    Weights("vgg19", "extractor", "vgg19-dcbb9e9d.pth", None, (__package__, "manifests/vgg19.tsv"),
            recipes=("ave_vgg19", "ave_vgg"), sha256_prefix="dcbb9e9d",
            source="torchvision: torchvision.models.VGG19_Weights.IMAGENET1K_V1.url"),
    Weights("vggish", "extractor", "vggish-10086976.pth",
            "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
            (__package__, "manifests/vggish.tsv"), recipes=("ave_vggish", "ave_vgg"), sha256_prefix="10086976",
            source="harritaylor/torchvggish release v0.1"),
):
    WEIGHTS.register(weights.name, weights)
