"""Pixels to predictions: real AVE-style video files with audio (a moving shape and a tone per class) ->
`tim-bench extract-features` (VideoMAE through transformers and VGGish, small and with random weights, on the 0.2-s
grid) -> `tim-bench run` of the AVE Omnivore + Auditory SlowFast recipe on those features -> far above chance."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from bad_input import run_cli
from extractor_media import write_video

from tim_bench_plugins.ave.dataset import CATEGORIES

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SPLITS = {"train": 18, "val": 3, "test": 6}
#: small random-weight backbones on the grid of configs/extract/ave_omnivore.py (1-s windows every 0.2 s); VideoMAE's
#: fc_norm makes unit-scale features, which TIM's input projection learns from within a few epochs
GRID = dict(window=1.0, hop=0.2, include_end=False)
VISUAL = dict(type="VideoMAEVideo", weights="random", crop=32, num_frames=4, device="cpu", batch_size=64, **GRID,
              config=dict(image_size=32, num_frames=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=64))
AUDIO = dict(type="VGGishAudio", checkpoint="random", device="cpu", batch_size=64, **GRID,
             model=dict(widths=(8, "M", 16, "M", 16, "M", 32, "M"), hidden=32, embedding=32))


def write_ave(root: Path) -> dict[str, list[str]]:
    """Annotations.txt, *_order.h5 and one 10-s video per row: its class's shape and tone for the whole 10 s, as in
    most AVE videos (three classes in turn, so chance is one in three)."""
    lines, ids, row = [], {s: [] for s in SPLITS}, 0
    for split, count in SPLITS.items():
        for i in range(count):
            cls = i % 3
            lines.append(f"{CATEGORIES[cls]}&v{row:03d}&good&0&10")
            write_video(root / "videos" / split / f"v{row:03d}#{row}.mp4", cls, 10.0, fps=6, seed=row)
            ids[split].append(row)
            row += 1
    (root / "Annotations.txt").write_text("\n".join(lines) + "\n")
    for split, rows in ids.items():
        with h5py.File(root / f"{split}_order.h5", "w") as f:
            f.create_dataset("order", data=np.array(rows, np.int64))
    return ids


def extract(root: Path, extractor: dict, folder: str, split: str) -> None:
    config = root / f"extract_{folder}.py"
    config.write_text(f"data_root = {str(root)!r}\nextract = dict(extractor={extractor!r}, "
                      f"inputs='videos/{{split}}/{{video_id}}.mp4', split={split!r}, out_folder={folder!r})\n")
    outcome = run_cli(["extract-features", str(config)])
    assert outcome.code == 0 and f"{SPLITS[split]} videos extracted" in outcome.output, outcome.output


@pytest.mark.slow
def test_features_extracted_from_pixels_train_tim_far_above_chance(tmp_path: Path) -> None:
    root = tmp_path / "ave"
    write_ave(root)
    for split in SPLITS:
        extract(root, VISUAL, "videomae", split)
        extract(root, AUDIO, "vggish", split)
    assert np.load(next((root / "videomae" / "train").glob("*.npy"))).shape == (45, 1, 32)  # starts 0, 0.2 .. 8.8

    work = tmp_path / "run"
    outcome = run_cli(["run", str(CONFIGS / "ave_omnivore_asf.py"), "--work-dir", str(work), "--results-dir",
                       str(tmp_path / "store"), "--cfg-options", f"data_root={root}",
                       "features.visual.folder=videomae", "features.visual.intervals=videomae/intervals_{split}.csv",
                       "features.visual.dim=32", "features.audio.folder=vggish",
                       "features.audio.intervals=vggish/intervals_{split}.csv", "features.audio.dim=32",
                       # a small TIM on 18 videos: no dropout and no mixup, or a few epochs learn nothing
                       "model.d_model=32", "model.num_layers=1", "model.nhead=2", "model.feat_dropout=0.0",
                       "model.seq_dropout=0.0", "loss.mixup_alpha=0.0", "train_cfg.max_epochs=8",
                       "train_cfg.batch_size=2", "train_cfg.warmup_epochs=1", "train_cfg.lr=3e-3"])
    assert outcome.code == 0, outcome.output
    metrics = json.loads((work / "result.json").read_text())["metrics"]
    # every test second is one of three balanced classes: a model that ignores the pixels scores 33 %
    assert metrics["acc_visual"] > 80 and metrics["acc_fused"] > 80, metrics
