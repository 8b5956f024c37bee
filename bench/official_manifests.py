"""Write the checkpoint manifests of plugins/extractors/manifests/ from the official model code.

The manifests (key -> shape of each official checkpoint) are derived by building the official
models themselves (on the meta device where the code allows, so no weights are made) and listing
their state dicts:

    python bench/official_manifests.py --tim TIM/feature_extractors --torchvggish torchvggish/torchvggish \
        --torchvision-models vision/torchvision/models --out plugins/extractors/manifests

* Omnivore: TIM ``feature_extractors/omnivore/omnivore/models/omnivore_model.py`` (``omnivore_swinB_epic``,
  ``omnivore_swinB``), checkpoint layout ``{"trunk": trunk.state_dict(), "heads": heads.state_dict()}``
  (``_omnivore_base`` loads both strictly), written as ``trunk.*`` / ``heads.*``.
* Auditory SlowFast: TIM ``feature_extractors/auditory_slowfast`` (``SlowFast`` of
  ``slowfast/models/audio_model_builder.py`` with ``configs/EPIC-SOUNDS/SLOWFAST_R50.yaml``), 44 classes
  (EPIC-Sounds) and 309 (VGG-Sound, the AVE checkpoint); the ``.pyth`` holds it under ``model_state``.
* VideoMAE: TIM ``feature_extractors/VideoMAE/modeling_finetune.py`` ``vit_large_patch16_224`` with the
  arguments of ``feature_extraction.py`` (verb and noun heads, mean pooling).
* VGG-19: torchvision ``models/vgg.py`` ``vgg19()`` (the layout of ``vgg19-dcbb9e9d.pth``).
* VGGish: torchvggish ``vggish.py`` ``VGG(make_layers())`` (the layout of ``vggish-10086976.pth``).

Modules the official code imports only for training or downloading (timm layers, fvcore, einops)
are replaced by stand-ins that build no parameters. This script is for maintainers; the tests read
the manifests it wrote.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn


def stub(name: str, **attrs: Any) -> None:
    """Register a stand-in module ``name`` (and its parents) holding ``attrs``."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    for k, v in attrs.items():
        setattr(sys.modules[name], k, v)


class DropPath(nn.Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()


def install_stubs() -> None:
    layers = dict(DropPath=DropPath, trunc_normal_=nn.init.trunc_normal_, drop_path=lambda x, *a: x,
                  to_2tuple=lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x))
    stub("timm.models.layers", **layers)
    stub("timm.models.registry", register_model=lambda f: f)
    stub("einops", rearrange=None)

    class Registry(dict):
        def __init__(self, name: str) -> None:
            super().__init__()

        def register(self, *a: Any):
            return lambda obj: obj

    stub("fvcore.common.registry", Registry=Registry)
    stub("fvcore.common.file_io", PathManager=None)


def load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write(path: Path, state: dict[str, torch.Tensor], source: str) -> None:
    with open(path, "w") as f:
        f.write("key\tshape\tdtype\n")
        for key, value in state.items():
            shape = "x".join(str(s) for s in value.shape) or "-"
            f.write(f"{key}\t{shape}\t{str(value.dtype).replace('torch.', '')}\n")
    print(f"{path}: {len(state)} keys from {source}")


def omnivore(tim: Path, out: Path) -> None:
    pkg = types.ModuleType("omni_models")
    pkg.__path__ = [str(tim / "omnivore/omnivore/models")]
    sys.modules["omni_models"] = pkg
    stub("omni_models.swin_utils", load_and_broadcast_checkpoint_list=None)
    load_file("omni_models.swin_transformer", tim / "omnivore/omnivore/models/swin_transformer.py")
    model = load_file("omni_models.omnivore_model", tim / "omnivore/omnivore/models/omnivore_model.py")
    model._omnivore_base = lambda trunk, heads=None, head_dim_in=1024, **kw: (
        trunk, heads if heads is not None else model.get_all_heads(dim_in=head_dim_in))
    for fn, name in (("omnivore_swinB_epic", "omnivore_swinB_epic"), ("omnivore_swinB", "omnivore_swinB")):
        trunk, heads = getattr(model, fn)()  # on the CPU: the drop-path schedule calls .item()
        state = {f"trunk.{k}": v for k, v in trunk.state_dict().items()}
        state.update({f"heads.{k}": v for k, v in heads.state_dict().items()})
        write(out / f"{name}.tsv", state, f"omnivore_model.{fn}")


def auditory_slowfast(tim: Path, out: Path) -> None:
    sys.path.insert(0, str(tim / "auditory_slowfast"))
    builder = importlib.import_module("slowfast.models.audio_model_builder")
    node = lambda **kw: types.SimpleNamespace(**kw)  # noqa: E731 (the yaml's sections as attributes)
    for classes, name in ((44, "asf_epicsounds"), (309, "asf_vggsound")):
        cfg = node(
            MODEL=node(ARCH="slowfast", NUM_CLASSES=[classes], DROPOUT_RATE=0.5, HEAD_ACT="softmax"),
            BN=node(NORM_TYPE="batchnorm"), DATA=node(INPUT_CHANNEL_NUM=[1, 1]),
            AUDIO_DATA=node(NUM_FRAMES=200, NUM_FREQUENCIES=128),
            SLOWFAST=node(ALPHA=4, BETA_INV=8, FUSION_CONV_CHANNEL_RATIO=2, FUSION_KERNEL_SZ=7),
            RESNET=node(ZERO_INIT_FINAL_BN=True, WIDTH_PER_GROUP=64, NUM_GROUPS=1, DEPTH=50,
                        TRANS_FUNC="bottleneck_transform", STRIDE_1X1=False,
                        NUM_BLOCK_TEMP_KERNEL=[[3, 3], [4, 4], [6, 6], [3, 3]],
                        FREQUENCY_STRIDES=[[1, 1], [2, 2], [2, 2], [2, 2]],
                        FREQUENCY_DILATIONS=[[1, 1], [1, 1], [1, 1], [1, 1]]))
        with torch.device("meta"):
            net = builder.SlowFast(cfg)
        write(out / f"{name}.tsv", net.state_dict(), f"audio_model_builder.SlowFast ({classes} classes)")


def videomae(tim: Path, out: Path) -> None:
    sys.path.insert(0, str(tim / "VideoMAE"))
    finetune = load_file("modeling_finetune", tim / "VideoMAE/modeling_finetune.py")
    # feature_extraction.py's create_model arguments (None ones dropped, as timm does); CPU: .item() in the schedule
    net = finetune.vit_large_patch16_224(
        img_size=224, num_classes=[97, 300], all_frames=16, tubelet_size=2, drop_rate=0.0,
        drop_path_rate=0.2, attn_drop_rate=0.0, head_drop_rate=0.3, use_mean_pooling=True,
        init_scale=0.001, with_cp=False, num_segment=1)
    write(out / "videomae_epic.tsv", net.state_dict(), "modeling_finetune.vit_large_patch16_224")


def vgg19(models: Path, out: Path) -> None:
    pkg = types.ModuleType("tv_models")
    pkg.__path__ = [str(models)]
    sys.modules["tv_models"] = pkg
    stub("tv_models.utils", load_state_dict_from_url=None)
    vgg = load_file("tv_models.vgg", models / "vgg.py")
    with torch.device("meta"):
        net = vgg.vgg19()
    write(out / "vgg19.tsv", net.state_dict(), "torchvision vgg.vgg19")


def vggish(torchvggish: Path, out: Path) -> None:
    pkg = types.ModuleType("tvggish")
    pkg.__path__ = [str(torchvggish)]
    sys.modules["tvggish"] = pkg
    stub("tvggish.vggish_input")
    load_file("tvggish.vggish_params", torchvggish / "vggish_params.py")
    module = load_file("tvggish.vggish", torchvggish / "vggish.py")
    with torch.device("meta"):
        net = module.VGG(module.make_layers())
    write(out / "vggish.tsv", net.state_dict(), "torchvggish vggish.VGG(make_layers())")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tim", type=Path, required=True, help="TIM's feature_extractors/ folder")
    p.add_argument("--torchvggish", type=Path, required=True, help="torchvggish's torchvggish/ package folder")
    p.add_argument("--torchvision-models", type=Path, required=True, help="folder holding torchvision's vgg.py")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "plugins/extractors/manifests")
    args = p.parse_args()
    install_stubs()
    omnivore(args.tim, args.out)
    auditory_slowfast(args.tim, args.out)
    videomae(args.tim, args.out)
    vgg19(args.torchvision_models, args.out)
    vggish(args.torchvggish, args.out)


if __name__ == "__main__":
    main()
