"""Every backbone extractor, small and with random weights, through the real `tim-bench extract-features` on real
video files: the feature grid, the shapes NpyFeatures reads back, the config-hash cache, and the failure summary."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bad_input import assert_clear_error, run_cli
from extractor_media import write_video

from tim_bench_plugins.features.npy import NpyFeatures

#: extractor type -> (small config, value shape per row without the copies axis) on 48x64 videos at 10 fps
SMALL: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "OmnivoreVideo": (dict(crop=32, num_frames=4, model=dict(embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1),
                                                                window_size=(2, 7, 7))), (64,)),
    "VideoMAEVideo": (dict(crop=32, num_frames=4, config=dict(image_size=32, num_frames=4, hidden_size=16,
                                                               num_hidden_layers=1, num_attention_heads=2,
                                                               intermediate_size=32)), (16,)),
    "AuditorySlowFastAudio": (dict(sample_rate=16000, model=dict(width=16, beta_inv=4, depths=(1, 1, 1, 1))), (640,)),
    "VGG19Pool5": (dict(size=64, frames_per_segment=4, model=dict(widths=(8, "M", 8, "M", 16, "M", 16, "M", 16, "M"),
                                                                  hidden=16)), (2, 2, 16)),
    "VGGishAudio": (dict(model=dict(widths=(8, "M", 8, "M", 16, "M", 16, "M"), hidden=16)), (128,)),
}
#: the grid of each: (window, hop, include_end) as in configs/extract/
GRIDS = {"OmnivoreVideo": (1.0, 0.2, False), "VideoMAEVideo": (1.0, 0.2, False),
         "AuditorySlowFastAudio": (1.0, 0.2, False), "VGG19Pool5": (1.0, 1.0, True), "VGGishAudio": (1.0, 1.0, True)}


def write_config(folder: Path, kind: str, **extra: Any) -> Path:
    weights = "weights" if kind == "VideoMAEVideo" else "checkpoint"
    window, hop, include_end = GRIDS[kind]
    extractor = dict(type=kind, **{weights: "random"}, device="cpu", window=window, hop=hop, include_end=include_end,
                     **SMALL[kind][0], **extra)
    path = folder / f"extract_{kind}.py"
    path.write_text(f"data_root = {str(folder)!r}\n"
                    f"extract = dict(extractor={extractor!r}, inputs='videos/{{video_id}}.mp4', split='val',\n"
                    f"               out_folder='features/{kind}')\n")
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extract")
    write_video(root / "videos" / "clip_a.mp4", cls=0, seconds=3.0)
    write_video(root / "videos" / "clip_b.mp4", cls=2, seconds=2.0)
    return root


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_extractor_writes_the_grid_and_npy_features_read_it(videos: Path, kind: str, tmp_path: Path) -> None:
    config = write_config(videos, kind)
    outcome = run_cli(["extract-features", str(config), "--cfg-options",
                       f"extract.out_folder=features/{tmp_path.name}"])
    assert outcome.code == 0, outcome.output
    assert "2 videos extracted, 0 skipped" in outcome.output and "frames/s" in outcome.output
    source = NpyFeatures(str(videos), folder=f"features/{tmp_path.name}",
                         intervals=f"features/{tmp_path.name}/intervals_{{split}}.csv")
    window, hop, _ = GRIDS[kind]
    for video, seconds in (("clip_a", 3.0), ("clip_b", 2.0)):
        features = source.open("val", video)
        rows = int(seconds) if hop == 1.0 else int(round((seconds - window) / hop))  # start + window < duration
        assert features.values.shape == (rows, 1, *SMALL[kind][1]) and features.values.dtype == np.float32
        assert features.times[0].tolist() == [0.0, window] and np.isfinite(features.values).all()
        assert features.values.std() > 0
    a, b = source.open("val", "clip_a").values, source.open("val", "clip_b").values
    assert not np.allclose(a[:2], b[:2])  # different shapes and tones make different features


def test_rerun_skips_and_a_changed_config_extracts_again(videos: Path, tmp_path: Path) -> None:
    argv = ["extract-features", str(write_config(videos, "VGGishAudio")), "--cfg-options",
            f"extract.out_folder=features/{tmp_path.name}"]
    assert "2 videos extracted" in run_cli(argv).output
    assert "0 videos extracted, 2 skipped" in run_cli(argv).output
    changed = run_cli(argv + ["extract.extractor.final_relu=False"])  # changes the numbers: not the cached ones
    assert "2 videos extracted, 0 skipped" in changed.output
    faster = run_cli(argv + ["extract.extractor.final_relu=False", "extract.extractor.batch_size=1"])
    assert "0 videos extracted, 2 skipped" in faster.output  # batch_size is speed-only


def test_a_broken_video_is_listed_the_others_written_and_the_exit_is_non_zero(videos: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "clip_a.mp4").write_bytes((videos / "videos" / "clip_a.mp4").read_bytes())
    (root / "videos" / "broken.mp4").write_bytes(b"\x00" * 200)
    outcome = run_cli(["extract-features", str(write_config(videos, "AuditorySlowFastAudio")), "--cfg-options",
                       f"data_root={root}"])
    assert_clear_error(outcome, "1 of 2 videos failed", "broken: DataError", code=1)
    out = root / "features" / "AuditorySlowFastAudio" / "val"
    assert (out / "clip_a.npy").is_file() and not (out / "broken.npy").exists()
    again = run_cli(["extract-features", str(write_config(videos, "AuditorySlowFastAudio")), "--cfg-options",
                     f"data_root={root}"])
    assert again.code == 1 and "0 videos extracted, 1 skipped (already extracted), 1 failed" in again.output


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_bfloat16_the_gpu_dtype_tracks_float32_and_is_cached_apart(videos: Path, kind: str) -> None:
    from tim_bench.extract import extractor_hash
    from tim_bench_registry import EXTRACTORS, build
    weights = "weights" if kind == "VideoMAEVideo" else "checkpoint"
    values, hashes = [], []
    for dtype in ("float32", "bfloat16"):  # dtype="auto" picks bfloat16 on a GPU
        cfg = dict(type=kind, **{weights: "random"}, device="cpu", dtype=dtype, **SMALL[kind][0])
        extractor = build(EXTRACTORS, cfg)
        values.append(extractor.extract(videos / "videos" / "clip_b.mp4").values.reshape(-1))
        hashes.append(extractor_hash(cfg, extractor))
    assert np.corrcoef(values[0], values[1])[0, 1] > 0.999
    assert hashes[0] != hashes[1]


def concat_config(path: Path, root: Path, parts: list[dict], out: str) -> Path:
    path.write_text(f"data_root = {str(root)!r}\n"
                    f"extract = dict(extractor=dict(type='ConcatFeatures', parts={parts!r}), "
                    f"inputs='videos/{{video_id}}.mp4', split='val', out_folder={out!r})\n")
    return path


def test_concatenated_parts_are_the_published_epic_visual_stream(videos: Path, tmp_path: Path) -> None:
    from tim_bench_registry import EXTRACTORS, build
    parts = [dict(type=kind, **{"weights" if kind == "VideoMAEVideo" else "checkpoint": "random"}, device="cpu",
                  **SMALL[kind][0]) for kind in ("OmnivoreVideo", "VideoMAEVideo")]  # merge_features.py's order
    out = f"features/{tmp_path.name}"
    outcome = run_cli(["extract-features", str(concat_config(tmp_path / "concat.py", videos, parts, out))])
    assert outcome.code == 0 and "visual features (80-d)" in outcome.output, outcome.output
    merged = np.load(videos / out / "val" / "clip_b.npy")
    alone = build(EXTRACTORS, parts[0]).extract(videos / "videos" / "clip_b.mp4").values
    assert merged.shape == (5, 1, 64 + 16)
    np.testing.assert_allclose(merged[..., :64], alone, rtol=1e-5, atol=1e-6)
    parts[1]["hop"] = 0.5  # another grid: refused for every video, naming both parts
    refused = run_cli(["extract-features", str(concat_config(tmp_path / "other.py", videos, parts, out + "b"))])
    assert_clear_error(refused, "VideoMAEVideo made", "OmnivoreVideo", code=1)


def test_a_missing_released_backbone_says_how_to_download_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped VGGish recipe points at checkpoints/vggish-10086976.pth; absent, the refusal names the zoo entry
    that releases that file and the command that fetches it, before any video is decoded."""
    monkeypatch.chdir(tmp_path)  # the recipe's checkpoint path is relative
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "a.mp4").write_bytes(b"")
    outcome = run_cli(["extract-features", "ave_vggish", "--cfg-options", f"data_root={tmp_path}"])
    assert_clear_error(outcome, "checkpoints/vggish-10086976.pth does not exist",
                       "`tim-bench download vggish` fetches it", code=2)
