"""Augmented feature copies: the RandAugment/SpecAugment ops at hand-checked values, and the Omnivore, VideoMAE and
Auditory SlowFast extractors (small, random weights) writing [T, A, D] with copy 0 the plain features, seeded copies,
through `tim-bench extract-features` into files NpyFeatures and the feature store read as augmentation copies."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from bad_input import run_cli
from extractor_media import write_video
from PIL import Image

from tim_bench.data.store import FeatureStore
from tim_bench_plugins.features.npy import NpyFeatures
from tim_bench_registry import EXTRACTORS, TimBenchError
from tim_bench_plugins.extractors.common.augment import (DrawnOp, apply_op, draw_clip_ops, level_args, omnivore_policy,
                                        rand_augment_clip, shifted_start, spec_augment, spec_time_warp,
                                        videomae_policy)
from tim_bench_registry.building import build
from tim_bench_registry.plugin_manager import plugin_manager

#: small random-weight configs of the three extractors with augmented copies (48x64 videos at 10 fps)
SMALL: dict[str, dict[str, Any]] = {
    "OmnivoreVideo": dict(checkpoint="random", crop=32, num_frames=4,
                          model=dict(embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1), window_size=(2, 7, 7))),
    "VideoMAEVideo": dict(weights="random", crop=32, num_frames=4,
                          config=dict(image_size=32, num_frames=4, hidden_size=16, num_hidden_layers=1,
                                      num_attention_heads=2, intermediate_size=32)),
    "AuditorySlowFastAudio": dict(checkpoint="random", sample_rate=16000,
                                  model=dict(width=16, beta_inv=4, depths=(1, 1, 1, 1))),
}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("aug") / "videos" / "clip_a.mp4", cls=1, seconds=1.6)


def extractor(kind: str, **extra: Any) -> Any:
    plugin_manager()
    return build(EXTRACTORS, dict(type=kind, device="cpu", batch_size=1, **SMALL[kind], **extra))


def test_level_args_at_known_magnitudes() -> None:
    rng = random.Random(0)
    assert level_args("PosterizeIncreasing", 10.0, rng) == (0,) and level_args("PosterizeIncreasing", 5.0, rng) == (2,)
    assert level_args("SolarizeIncreasing", 10.0, rng) == (0,) and level_args("SolarizeIncreasing", 5.0, rng) == (128,)
    assert level_args("SolarizeAdd", 10.0, rng) == (110,) and level_args("SolarizeAdd", 7.0, rng) == (77,)
    assert abs(level_args("Rotate", 10.0, rng)[0]) == 30.0
    assert abs(level_args("ShearX", 5.0, rng)[0]) == pytest.approx(0.15)
    assert level_args("ColorIncreasing", 10.0, rng)[0] in (pytest.approx(1.9), pytest.approx(0.1))
    assert level_args("Equalize", 10.0, rng) == ()


def test_ops_on_a_small_image_give_hand_checked_pixels() -> None:
    row = np.array([0, 63, 100, 127, 128, 200, 255], np.uint8)
    img = Image.fromarray(np.repeat(row[None, :, None], 3, axis=2).repeat(2, axis=0), "RGB")
    fill = (1, 2, 3)

    def red(op: DrawnOp) -> list[int]:
        return np.asarray(apply_op(img, op, fill))[0, :, 0].tolist()

    assert red(DrawnOp("SolarizeAdd", (110,))) == [110, 173, 210, 237, 128, 200, 255]
    assert red(DrawnOp("PosterizeIncreasing", (2,))) == [0, 0, 64, 64, 128, 192, 192]
    assert red(DrawnOp("PosterizeIncreasing", (0,))) == [0] * 7  # m >= 10: no bit kept (Pillow 8's LUT)
    assert red(DrawnOp("SolarizeIncreasing", (128,))) == [0, 63, 100, 127, 127, 55, 0]
    assert red(DrawnOp("Invert", ())) == [255, 192, 155, 128, 127, 55, 0]
    shifted = np.asarray(apply_op(img, DrawnOp("TranslateXRel", (2 / 7,)), fill))  # 2 px left, fill on the right
    assert shifted[0, :, 0].tolist() == [100, 127, 128, 200, 255, 1, 1] and shifted[0, -1].tolist() == [1, 2, 3]


def test_policies_draw_the_originals_op_counts_and_magnitudes() -> None:
    omnivore, videomae = omnivore_policy((0.485, 0.456, 0.406)), videomae_policy()
    assert omnivore.fill == (124, 116, 104) and omnivore.num_layers == 2 and omnivore.prob == 1.0
    counts = set()
    for seed in range(200):
        ops = draw_clip_ops(omnivore, seed)
        assert len(ops) == 2  # prob 1 (TIM's autoaugment.py), magnitude gauss(15, 0.5) clipped to 10
        for op in ops:
            if op.name == "Rotate":
                assert abs(op.args[0]) == 30.0
            if op.name == "SolarizeAdd":
                assert op.args == (110,)
        if ops[0].name == ops[1].name:
            assert ops[0] == ops[1]  # one re-seeded draw per op: the same op gets the same arguments
        counts.add(len(draw_clip_ops(videomae, seed)))
        assert all(op.resample == "bicubic" for op in draw_clip_ops(videomae, seed))
    assert counts == {0, 1, 2, 3, 4}  # 4 layers, each kept with probability 0.5


def test_one_draw_applies_to_every_frame_of_a_clip() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (20, 24, 3)).astype(np.uint8)
    clip = np.stack([frame, frame, frame])
    for seed in range(5):
        out = rand_augment_clip(clip, omnivore_policy((0.485, 0.456, 0.406)), seed)
        assert (out == out[0]).all() and out.shape == clip.shape
    policy = videomae_policy()
    assert not np.array_equal(rand_augment_clip(clip, policy, 1), rand_augment_clip(clip, policy, 2))


def test_spec_masks_are_bands_set_to_the_mean_and_copies_shift_the_clip() -> None:
    spec = torch.arange(200 * 128, dtype=torch.float32).reshape(200, 128)
    rows = cols = 0
    for seed in range(20):
        out = spec_augment(spec.clone(), random.Random(seed))
        assert torch.equal(spec_augment(spec.clone(), random.Random(seed)), out)  # seeded: reproducible
        changed = out != spec
        rows, cols = rows + changed.all(1).sum().item(), cols + changed.all(0).sum().item()
    assert rows and cols  # whole time rows and whole mel columns masked
    assert [shifted_start(24000, 23976, k, 3) for k in range(3)] == [0.0, 12.0, 24.0]
    assert shifted_start(20000, 23976, 2, 3) == 0.0  # a short interval is not shifted


def test_time_warp_moves_frames_only_along_time() -> None:
    flat_in_time = torch.arange(128, dtype=torch.float32).expand(200, 128).contiguous()  # [frames, mels]
    ramp = torch.arange(200, dtype=torch.float32)[:, None].expand(200, 128).contiguous()
    moved = 0
    for seed in range(10):
        warped = spec_time_warp(flat_in_time, random.Random(seed), torch.Generator().manual_seed(seed))
        torch.testing.assert_close(warped, flat_in_time)  # rows never move: a constant-in-time spec is unchanged
        warped = spec_time_warp(ramp, random.Random(seed), torch.Generator().manual_seed(seed))
        assert torch.isfinite(warped).all() and warped.min() >= 0 and warped.max() <= 199  # border-clamped samples
        moved += not torch.allclose(warped, ramp)
    assert moved >= 5


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_copy_zero_is_the_plain_feature_and_copies_are_seeded(video: Path, kind: str) -> None:
    plain = extractor(kind, num_copies=1).extract(video).values
    three = extractor(kind, num_copies=3).extract(video)
    assert plain.shape[1] == 1 and three.values.shape == (plain.shape[0], 3, plain.shape[2])
    np.testing.assert_allclose(three.values[:, 0], plain[:, 0], rtol=1e-5, atol=1e-6)
    for copy in (1, 2):
        assert not np.allclose(three.values[:, copy], plain[:, 0], atol=1e-4)
    assert not np.allclose(three.values[:, 1], three.values[:, 2], atol=1e-4)
    again = extractor(kind, num_copies=3).extract(video).values
    np.testing.assert_array_equal(again, three.values)
    other = extractor(kind, num_copies=3, seed=1).extract(video).values
    assert not np.allclose(other[:, 1:], three.values[:, 1:], atol=1e-4)


def test_num_copies_below_one_is_refused() -> None:
    with pytest.raises(TimBenchError, match="num_copies"):
        extractor("OmnivoreVideo", num_copies=0)


def test_split_copies_reach_the_npy_files_npy_features_and_the_store(video: Path) -> None:
    root = video.parents[1]
    extractor_cfg = dict(type="OmnivoreVideo", device="cpu", num_copies=dict(train=3, val=1), **SMALL["OmnivoreVideo"])
    config = root / "extract.py"
    config.write_text(f"data_root = {str(root)!r}\nextract = dict(extractor={extractor_cfg!r}, "
                      f"inputs='videos/{{video_id}}.mp4', split='train', out_folder='features/omni')\n")
    for split, copies in (("train", 3), ("val", 1)):
        outcome = run_cli(["extract-features", str(config), "--cfg-options", f"extract.split={split}"])
        assert outcome.code == 0, outcome.output
        record = json.loads((root / "features/omni" / split / ".extract" / "clip_a.json").read_text())
        assert record["extractor"]["num_copies"] == copies and record["shape"][1] == copies
    outcome = run_cli(["extract-features", str(config), "--cfg-options", "extract.split=test"])
    assert outcome.code != 0 and "names no copies for split 'test'" in outcome.output
    assert "Traceback" not in outcome.output
    source = NpyFeatures(str(root), folder="features/omni", intervals="features/omni/intervals_{split}.csv")
    values = np.asarray(source.open("train", "clip_a").values)
    assert values.shape[1] == 3
    np.testing.assert_allclose(values[:, 0], np.asarray(source.open("val", "clip_a").values)[:, 0], rtol=1e-5,
                               atol=1e-6)
    store = FeatureStore({"visual": source}, "train", ["clip_a"], torch.device("cpu"), "host")
    stream = store.streams["visual"]
    assert stream.copies.tolist() == [3]
    rows = stream.offset[0] + np.array([0 * 3 + 0, 1 * 3 + 1, 2 * 3 + 2])  # (row, copy) = (0, 0), (1, 1), (2, 2)
    np.testing.assert_allclose(store.gather("visual", rows).numpy(), values[[0, 1, 2], [0, 1, 2]], rtol=1e-6)
