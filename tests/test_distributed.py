"""Two CPU processes (torchrun, gloo): training runs in lock-step and sharded evaluation equals one process."""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from helpers import TINY_MODEL, run_bounded, tim_bench, tim_bench_exe
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_gloo_training_and_sharded_evaluation(tmp_path):
    root = make_ave(tmp_path / "ave", videos=60, visual_dim=8, audio_dim=4)
    opts = ["--cfg-options", f"data_root={root}", "train_cfg.max_epochs=2", "train_cfg.batch_size=8", *TINY_MODEL]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(_free_port()), tim_bench_exe()]
    wd = tmp_path / "ddp"
    proc = run_bounded([*torchrun, "train", CONFIG, "--work-dir", str(wd), *opts], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("best epoch") == 1  # only rank 0 reports (and writes)
    assert [json.loads(line)["epoch"] for line in (wd / "metrics.jsonl").read_text().splitlines()] == [1, 2]

    two = run_bounded([*torchrun, "test", CONFIG, str(wd / "best.pth"), "--json", "--work-dir", str(wd), *opts],
                         capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    one = tim_bench("test", CONFIG, str(wd / "best.pth"), "--json", "--work-dir", str(tmp_path / "one"), *opts)
    assert json.loads(two.stdout.strip().splitlines()[-1]) == pytest.approx(json.loads(one.stdout.strip()))
