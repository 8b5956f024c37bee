"""Wall time of a 4-job suite (2 tiny AVE recipes x 2 seeds, 1 epoch) run sequentially vs ``--launcher local --jobs N``.

Each repeat uses a fresh results store and work dirs, so every job trains; prints each time and the medians.

    python bench/suite_parallel.py --repeats 3 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tim_bench_plugins.ave.synthetic import make_ave

REPO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py"


def write_configs(folder: Path, data: Path) -> list[str]:
    paths = []
    for name, width in (("tiny_a", 16), ("tiny_b", 32)):
        path = folder / f"{name}.py"
        path.write_text(f"_base_ = [{str(REPO_CONFIG)!r}]\ndata_root = {str(data)!r}\n"
                        f"train_cfg = dict(max_epochs=1, batch_size=32)\ntest_cfg = dict(batch_size=64)\n"
                        f"model = dict(d_model={width}, num_layers=1, nhead=2)\n")
        paths.append(str(path))
    return paths


def timed_suite(folder: Path, configs: list[str], launcher: list[str]) -> float:
    """Seconds of one `tim-bench suite` over the configs with seeds 0 1, in a fresh store."""
    run = folder / f"run-{time.time_ns()}"
    run.mkdir()
    env = {**os.environ, "TIM_BENCH_RESULTS": str(run / "store"), "TIM_BENCH_LEADERBOARD": str(run / "board")}
    command = [shutil.which("tim-bench") or str(Path(sys.executable).with_name("tim-bench")), "suite", *configs,
               "--seeds", "0", "1", "--work-dir-root", str(run / "work"), *launcher]
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        configs = write_configs(folder, make_ave(folder / "data", videos=30, visual_dim=4, audio_dim=4))
        modes = {"sequential": [], f"local --jobs {args.jobs}": ["--launcher", "local", "--jobs", str(args.jobs),
                                                                  "--poll", "0.2"]}
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for repeat in range(args.repeats):  # interleaved, so a change in machine load hits both alike
            for mode, flags in modes.items():
                times[mode].append(timed_suite(folder, configs, flags))
                print(f"repeat {repeat + 1}: {mode}: {times[mode][-1]:.1f} s", flush=True)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"4-job suite on {os.cpu_count()} CPUs (load average now {load:.1f}):")
        for mode, values in times.items():
            print(f"  {mode:<16} median {statistics.median(values):.1f} s  ({', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
