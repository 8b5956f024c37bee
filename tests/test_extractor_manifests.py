"""Each official checkpoint's key/shape layout (plugins/extractors/manifests/, derived from the official code by
bench/official_manifests.py) loads strictly into the full-size model, built on the meta device (no memory, no time);
checkpoints written in the official layout load through the extractors, and other checkpoints are refused."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

from tim_bench_registry import DataError, TimBenchError
from tim_bench_plugins.extractors.common.backbone import read_manifest

MANIFESTS = files("tim_bench_plugins.extractors") / "manifests"


def omnivore(variant: str) -> torch.nn.Module:
    from tim_bench_plugins.extractors.omnivore import VARIANTS, Omnivore
    return Omnivore(**VARIANTS[variant])


def slowfast(classes: int) -> torch.nn.Module:
    from tim_bench_plugins.extractors.auditory_slowfast import AuditorySlowFast
    return AuditorySlowFast(num_classes=classes)


def vgg19() -> torch.nn.Module:
    from tim_bench_plugins.extractors.vgg19 import VGG19
    return VGG19()


def vggish() -> torch.nn.Module:
    from tim_bench_plugins.extractors.vggish import VGGish
    return VGGish()


#: manifest -> the full-size model its checkpoint is for
MODELS = {
    "omnivore_swinB_epic": lambda: omnivore("epic"),
    "omnivore_swinB": lambda: omnivore("base"),
    "asf_epicsounds": lambda: slowfast(44),
    "asf_vggsound": lambda: slowfast(309),
    "vgg19": vgg19,
    "vggish": vggish,
}


def meta_state(manifest: str) -> dict[str, torch.Tensor]:
    """The manifest as a state dict of meta tensors: the official checkpoint's keys and shapes, no data."""
    return {k: torch.empty(shape, device="meta") for k, shape in read_manifest(MANIFESTS / f"{manifest}.tsv").items()}


@pytest.mark.parametrize("manifest", sorted(MODELS))
def test_official_layout_loads_strictly(manifest: str) -> None:
    with torch.device("meta"):
        model = MODELS[manifest]()
    result = model.load_state_dict(meta_state(manifest), strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_videomae_official_layout_converts_and_loads_strictly() -> None:
    from tim_bench_plugins.extractors.videomae import build_official, convert_official
    with torch.device("meta"):
        model = build_official()
    state = meta_state("videomae_epic")
    assert {"verb_head.weight", "noun_head.weight", "fc_norm.weight"} <= set(state)
    converted = convert_official(state, list(model.state_dict()))
    result = model.load_state_dict(converted, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert model.videomae.config.hidden_size == 1024 and len(model.videomae.encoder.layer) == 24


SMALL_SWIN = dict(embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1), window_size=(2, 7, 7))


def test_an_official_omnivore_checkpoint_file_loads_and_sets_the_features(tmp_path: Path) -> None:
    from extractor_media import write_video

    from tim_bench_plugins.extractors.omnivore import Omnivore, OmnivoreVideo
    torch.manual_seed(3)
    source = Omnivore(heads="epic", depth_mode=None, patch_size=(2, 4, 4), **SMALL_SWIN)
    ckpt = tmp_path / "swinB_epic_checkpoint.torch"
    torch.save({"trunk": source.trunk.state_dict(), "heads": source.heads.state_dict()}, ckpt)  # the official layout
    video = write_video(tmp_path / "v.mp4", cls=0, seconds=1.5)
    kw = dict(crop=32, num_frames=4, device="cpu", dtype="float32", model=SMALL_SWIN)
    loaded, random = OmnivoreVideo(checkpoint=str(ckpt), **kw), OmnivoreVideo(checkpoint="random", **kw)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)
    assert not np.allclose(loaded.extract(video).values, random.extract(video).values)


def test_a_checkpoint_of_another_model_is_refused_with_the_keys_that_differ(tmp_path: Path) -> None:
    from tim_bench_plugins.extractors.auditory_slowfast import AuditorySlowFast, AuditorySlowFastAudio
    small = dict(width=16, beta_inv=4, depths=(1, 1, 1, 1))
    ckpt = tmp_path / "asf.pyth"
    state = AuditorySlowFast(num_classes=309, **small).state_dict()  # a VGG-Sound head where 44 classes are asked
    torch.save({"model_state": state, "epoch": 30}, ckpt)
    with pytest.raises(DataError, match=r"head\.projection\.weight"):
        AuditorySlowFastAudio(checkpoint=str(ckpt), num_classes=44, device="cpu", model=small)
    del state["s1.pathway0_stem.conv.weight"]
    torch.save({"model_state": state}, ckpt)
    with pytest.raises(DataError, match=r"missing s1\.pathway0_stem\.conv\.weight"):
        AuditorySlowFastAudio(checkpoint=str(ckpt), num_classes=309, device="cpu", model=small)
    with pytest.raises(DataError, match="does not exist"):
        AuditorySlowFastAudio(checkpoint=str(tmp_path / "nowhere.pyth"), device="cpu", model=small)


def test_videomae_loads_a_transformers_folder_with_its_fc_norm(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is not installed; it is the optional "
                                       "extract extra (pip install -e '.[extract]')")
    from extractor_media import write_video

    from tim_bench_plugins.extractors.videomae import VideoMAEVideo
    cfg = transformers.VideoMAEConfig(image_size=32, num_frames=4, hidden_size=16, num_hidden_layers=1,
                                      num_attention_heads=2, intermediate_size=32, use_mean_pooling=True,
                                      num_labels=5)
    torch.manual_seed(1)
    classifier = transformers.VideoMAEForVideoClassification(cfg).eval()
    classifier.save_pretrained(tmp_path / "videomae")  # what a user keeps of a hub model, offline
    extractor = VideoMAEVideo(weights=str(tmp_path / "videomae"), crop=32, num_frames=4, device="cpu")
    assert extractor.dim == 16
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        tokens = classifier.videomae(pixel_values=clip.permute(0, 2, 1, 3, 4)).last_hidden_state
        torch.testing.assert_close(extractor.model(clip), classifier.fc_norm(tokens.mean(1)))
    features = extractor.extract(write_video(tmp_path / "v.mp4", cls=1, seconds=1.5))
    assert features.values.shape == (3, 1, 16)


def test_videomae_reads_an_official_save_model_checkpoint_with_its_args(tmp_path: Path) -> None:
    import argparse

    from tim_bench_plugins.extractors.videomae import VideoMAEVideo, build_official
    config = dict(image_size=32, num_frames=4, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=32)
    torch.manual_seed(2)
    model = build_official(config)
    own = model.state_dict()
    official = {"patch_embed.proj." + k.rsplit(".", 1)[1]: v for k, v in own.items() if "patch_embeddings" in k}
    official.update({k: v for k, v in own.items() if k.startswith("fc_norm.")})
    names = {"layernorm_before": "norm1", "layernorm_after": "norm2", "attention.output.dense": "attn.proj",
             "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2"}
    for i in range(2):  # the timm layout of modeling_finetune.py, written back from transformers' keys
        layer = f"videomae.encoder.layer.{i}."
        att = layer + "attention.attention."
        qkv = [own[att + f"{n}.weight"] for n in ("query", "key", "value")]
        official[f"blocks.{i}.attn.qkv.weight"] = torch.cat(qkv)
        official[f"blocks.{i}.attn.q_bias"] = own.get(att + "query.bias", own.get(att + "q_bias"))
        official[f"blocks.{i}.attn.v_bias"] = own.get(att + "value.bias", own.get(att + "v_bias"))
        for ours, theirs in names.items():
            for param in ("weight", "bias"):
                official[f"blocks.{i}.{theirs}.{param}"] = own[f"{layer}{ours}.{param}"]
    official["verb_head.weight"], official["noun_head.weight"] = torch.zeros(97, 16), torch.zeros(300, 16)
    ckpt = tmp_path / "videomae_epic.pth.tar"  # as utils.save_model writes it: the args ride along
    torch.save({"model": official, "epoch": 49, "args": argparse.Namespace(model="vit_small")}, ckpt)
    extractor = VideoMAEVideo(weights=str(ckpt), config=config, crop=32, num_frames=4, device="cpu")
    for key, value in own.items():
        assert torch.equal(extractor.model.state_dict()[key], value), key


def test_omnivore_scales_frames_as_the_original_dataset_class_of_each_benchmark() -> None:
    from tim_bench_plugins.extractors.omnivore import OmnivoreVideo
    from tim_bench_plugins.extractors.common.media import center_crop, resize_height, resize_short_side
    kw = dict(checkpoint="random", crop=32, num_frames=4, device="cpu", dtype="float32", model=SMALL_SWIN)
    rng = np.random.default_rng(0)
    portrait, landscape = (rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((96, 48, 3), (48, 96, 3)))
    short_side, by_height = OmnivoreVideo(**kw), OmnivoreVideo(scale_by="height", **kw)
    # ave.py / perception.py: the shorter side to the crop, then the centre crop (a portrait frame is 64 x 32)
    assert np.array_equal(short_side.preprocess(portrait), center_crop(resize_short_side(portrait, 32), 32))
    assert resize_short_side(portrait, 32).shape == (64, 32, 3)
    # epickitchens.py: scale = crop / H; the same on landscape frames (all of EPIC-KITCHENS) ...
    assert np.array_equal(by_height.preprocess(landscape), short_side.preprocess(landscape))
    assert resize_height(portrait, 32).shape == (32, 16, 3) and resize_height(landscape, 32).shape == (32, 64, 3)
    # ... while a portrait frame becomes narrower than the crop, which the original slices into a wrong-sized input
    with pytest.raises(DataError, match="16 pixels are smaller than the 32x32 crop"):
        by_height.preprocess(portrait)
    with pytest.raises(TimBenchError, match="scale_by must be one of"):
        OmnivoreVideo(scale_by="width", **kw)
