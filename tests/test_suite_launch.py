"""Suites across processes: claims in the results store, the data fingerprint in a recipe's identity, the local and
SLURM (submitit) launchers, dry runs, a killed job resumed, and suites started side by side."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import run_bounded, tim_bench, tim_bench_exe
from test_leaderboard_suite import write_config
from tim_bench.config import load_config
from tim_bench.data.fingerprint import data_fingerprint
from tim_bench.leaderboard import claims
from tim_bench.leaderboard.store import load_records
from tim_bench_plugins.ave.synthetic import make_ave

TINY = {"train_cfg": "dict(max_epochs=1, batch_size=32)", "test_cfg": "dict(batch_size=64)"}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def tiny_configs(folder: Path, data: Path, **extra: str) -> list[Path]:
    """Two small recipes on ``data`` (they differ in the model width)."""
    root = repr(str(data))
    return [write_config(folder, "tiny_a", data_root=root, model="dict(d_model=16, num_layers=1, nhead=2)",
                         **{**TINY, **extra}),
            write_config(folder, "tiny_b", data_root=root, model="dict(d_model=32, num_layers=1, nhead=2)",
                         **{**TINY, **extra})]


# ---- claims -------------------------------------------------------------------------------------------------------

def finished_pid() -> int:
    """The pid of a process that has ended (a holder that died)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_pair_is_claimed_once_and_a_dead_or_failed_claim_is_taken_over(tmp_path: Path) -> None:
    first = claims.try_claim(tmp_path, "r1", 0, claims.holder_info(job="a"))
    assert isinstance(first, claims.Claim) and first.path.name == "0000.json"
    second = claims.try_claim(tmp_path, "r1", 0, claims.holder_info(job="b"))
    assert isinstance(second, claims.Refused) and not second.done and second.seen.holder["job"] == "a"
    assert isinstance(claims.try_claim(tmp_path, "r1", 1, claims.holder_info()), claims.Claim)  # another seed
    first.finish(claims.DONE, run_id="run-1")
    done = claims.try_claim(tmp_path, "r1", 0, claims.holder_info())
    assert isinstance(done, claims.Refused) and done.done and done.seen.holder["run_id"] == "run-1"
    rerun = claims.try_claim(tmp_path, "r1", 0, claims.holder_info(), rerun=True)
    assert isinstance(rerun, claims.Claim) and rerun.path.name == "0001.json"

    # a holder whose process is gone (same host) is dead: the next generation takes over, naming the dead one
    dead = claims.try_claim(tmp_path, "r2", 0, {**claims.holder_info(work_dir="/w"), "pid": finished_pid(),
                                                "pid_start": None})
    assert isinstance(dead, claims.Claim)
    dead._stop.set()
    taken = claims.try_claim(tmp_path, "r2", 0, claims.holder_info())
    assert isinstance(taken, claims.Claim) and taken.path.name == "0001.json"
    assert taken.previous is not None and taken.previous.holder["work_dir"] == "/w"
    taken.finish(claims.FAILED, error="boom")
    again = claims.try_claim(tmp_path, "r2", 0, claims.holder_info())
    assert isinstance(again, claims.Claim) and again.path.name == "0002.json"

    # a claim on another host whose heartbeat stopped long ago is dead too
    far = claims.try_claim(tmp_path, "r3", 0, {**claims.holder_info(), "host": "elsewhere-node"})
    assert isinstance(far, claims.Claim)
    far._stop.set()
    assert isinstance(claims.try_claim(tmp_path, "r3", 0, claims.holder_info()), claims.Refused)
    old = time.time() - claims.STALE_S - 60
    os.utime(far.path, (old, old))
    assert isinstance(claims.try_claim(tmp_path, "r3", 0, claims.holder_info()), claims.Claim)


def test_a_claim_file_is_whole_json_readable_by_the_stores_other_users(tmp_path: Path) -> None:
    """Claims are written through the contract's atomic writer: mode 0666 less the umask (not mkstemp's 0600, which
    would hide a claim from a suite another user runs on a shared store), and no temporary file is left behind."""
    claim = claims.try_claim(tmp_path, "r1", 0, claims.holder_info(job="a"))
    assert isinstance(claim, claims.Claim)
    claim.update(work_dir="/w")
    claim.finish(claims.DONE, run_id="run-1")
    umask = os.umask(0)
    os.umask(umask)
    assert claim.path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in claim.path.parent.iterdir()] == ["0000.json"]
    on_disk = json.loads(claim.path.read_text())
    assert on_disk == claim.holder and (on_disk["work_dir"], on_disk["run_id"], on_disk["status"]) == \
        ("/w", "run-1", claims.DONE)


def test_many_processes_racing_for_one_pair_give_one_claim(tmp_path: Path) -> None:
    script = ("import sys; from tim_bench.leaderboard import claims; "
              "c = claims.try_claim(sys.argv[1], 'race', 0, claims.holder_info()); "
              "print('won' if isinstance(c, claims.Claim) else 'lost')")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [p.communicate(timeout=300)[0].strip() for p in procs]
    # winners that exited before a later contender looked are dead holders then: at most one claim is alive at a
    # time, and every claim file is a generation of its own
    files = sorted(p.name for p in claims.claims_dir(tmp_path, "race", 0).iterdir())
    assert results.count("won") == len(files) >= 1
    assert files == [f"{i:04d}.json" for i in range(len(files))]


# ---- data fingerprint ---------------------------------------------------------------------------------------------

def test_the_fingerprint_is_what_the_data_is_not_where_it_lives(tmp_path: Path) -> None:
    data = make_ave(tmp_path / "a", videos=30, visual_dim=4, audio_dim=4)
    config = write_config(tmp_path, "fp", data_root=repr(str(data)))

    def fingerprint(root: Path) -> dict:
        return data_fingerprint(load_config(config, {"data_root": str(root)}))

    original = fingerprint(data)
    assert set(original["features"]) == {"visual", "audio"} and original["annotations"]["splits"]["train"] > 0
    copy = Path(shutil.copytree(data, tmp_path / "staged" / "copy"))
    assert fingerprint(copy) == original
    assert fingerprint(data) == original  # a second look (from the cache) agrees

    with h5py.File(copy / "audio_feature.h5", "r+") as f:  # same shape and dtype, other values
        f["avadataset"][0, 0, 0] += 1.0
    changed = fingerprint(copy)
    assert changed["features"]["audio"] != original["features"]["audio"]
    assert changed["features"]["visual"] == original["features"]["visual"] and changed["sha256"] != original["sha256"]

    (data / "labels.h5").unlink()  # optional; it would refuse the edited annotations below
    before = fingerprint(data)["annotations"]["sha256"]
    text = (data / "Annotations.txt").read_text().splitlines()
    fields = text[1].split("&")
    fields[0] = "Church bell" if fields[0] != "Church bell" else "Dog"  # another event category in one video
    (data / "Annotations.txt").write_text("\n".join([text[0], "&".join(fields), *text[2:]]) + "\n")
    assert fingerprint(data)["annotations"]["sha256"] != before


def test_a_record_made_before_fingerprints_still_counts_as_stored(tmp_path: Path) -> None:
    from tim_bench.config import config_hash
    from tim_bench.launch.plan import stored_record

    cfg = load_config(write_config(tmp_path, "old", data_root="'data/ave'"))
    old = {"run_id": "old-1", "seed": 0, "config_hash": config_hash(cfg), "recipe_hash": "with-data-root"}
    assert stored_record([old], "new-recipe", config_hash(cfg), 0)["run_id"] == "old-1"
    assert stored_record([old], "new-recipe", config_hash(cfg), 1) is None
    assert stored_record([{**old, "data_fingerprint": {"sha256": "x"}}], "new-recipe", config_hash(cfg), 0) is None


# ---- dry runs -----------------------------------------------------------------------------------------------------

#: sbatch options a script may set (the subset of `man sbatch` that submitit and our flags write)
SBATCH_OPTIONS = {"job-name", "time", "nodes", "ntasks-per-node", "gpus-per-node", "cpus-per-task", "mem", "partition",
                  "account", "array", "output", "error", "open-mode", "signal", "wckey", "qos", "constraint"}


def test_dry_run_slurm_prints_a_valid_sbatch_array_and_submits_nothing(tmp_path: Path) -> None:
    data = make_ave(tmp_path / "data", videos=30, visual_dim=4, audio_dim=4)
    a, b = tiny_configs(tmp_path, data)
    proc = tim_bench("suite", str(a), str(b), "--seeds", "0", "1", "2", "--launcher", "slurm", "--dry-run",
                     "--partition", "gpu", "--account", "proj7", "--time", "90", "--gpus-per-job", "2",
                     "--cpus-per-job", "8", "--sbatch", "qos=high", "constraint=a100", "--max-parallel", "4",
                     "--setup", "module load cuda", cwd=tmp_path)
    out = proc.stdout
    assert len(re.findall(r"^job +\d\d-tiny_[ab]-s[012]: .*\(torchrun x2\)", out, re.M)) == 6
    options = {}
    for line in out.splitlines():
        if line.startswith("#SBATCH"):
            match = re.fullmatch(r"#SBATCH --([a-z-]+)(?:=(\S+))?", line)
            assert match, f"not an sbatch option line: {line}"
            options[match.group(1)] = match.group(2)
    assert set(options) <= SBATCH_OPTIONS, set(options) - SBATCH_OPTIONS
    assert options["partition"] == "gpu" and options["account"] == "proj7" and options["time"] == "90"
    assert options["gpus-per-node"] == "2" and options["cpus-per-task"] == "8" and options["array"] == "0-5%4"
    assert options["qos"] == "high" and options["constraint"] == "a100" and options["ntasks-per-node"] == "1"
    assert out.startswith("skip") is False and "module load cuda" in out and "#!/bin/bash" in out
    assert "6 jobs would run (slurm); nothing was submitted." in out
    assert not (Path(os.environ["TIM_BENCH_RESULTS"]) / ".suites").exists() and load_records() == []


def test_launcher_settings_come_from_a_file_and_flags_win(tmp_path: Path) -> None:
    from tim_bench.launch.settings import load_settings
    from tim_bench_registry import TimBenchError

    path = tmp_path / "cluster.py"
    path.write_text("launcher = dict(launcher='slurm', partition='a100', time_min=600, sbatch=dict(qos='low'))\n")
    settings = load_settings(path, {"time_min": 30, "partition": None})
    assert (settings.launcher, settings.partition, settings.time_min, settings.sbatch) == \
        ("slurm", "a100", 30, {"qos": "low"})
    path.write_text("launcher = dict(partion='a100')\n")
    with pytest.raises(TimBenchError, match=r"Unknown launcher setting\(s\) \['partion'\]"):
        load_settings(path, {})


# ---- real suites (slow) -------------------------------------------------------------------------------------------

def _claim_windows(store: Path) -> list[tuple[datetime, datetime]]:
    """(started, finished) of every finished claim in the store."""
    out = []
    for path in (store / claims.CLAIMS).glob("*/*.json"):
        holder = json.loads(path.read_text())
        out.append((datetime.fromisoformat(holder["started"]), datetime.fromisoformat(holder["finished"])))
    return out


def _suite(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([tim_bench_exe(), "suite", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_local_jobs_run_in_parallel_and_two_suites_side_by_side_run_each_pair_once(tmp_path: Path) -> None:
    data = make_ave(tmp_path / "data", videos=30, visual_dim=4, audio_dim=4)
    configs = [str(c) for c in tiny_configs(tmp_path, data)]
    store = Path(os.environ["TIM_BENCH_RESULTS"])
    proc = tim_bench("suite", *configs, "--seeds", "0", "1", "--launcher", "local", "--jobs", "2", "--poll", "0.2",
                     "--work-dir-root", "work", cwd=tmp_path)
    assert len(load_records()) == 4 and sorted((r["config_name"], r["seed"]) for r in load_records()) == \
        [("tiny_a", 0), ("tiny_a", 1), ("tiny_b", 0), ("tiny_b", 1)]
    windows = sorted(_claim_windows(store))
    assert len(windows) == 4 and any(b[0] < a[1] for a, b in zip(windows, windows[1:]))  # two ran at once
    assert "4 done · 0 failed" in proc.stdout and "tiny_b [synthetic data]" in proc.stdout  # progress, leaderboard
    assert all(Path(r["work_dir"]).parent.parent == tmp_path / "work" for r in load_records())

    # the same command again: nothing to run
    again = tim_bench("suite", *configs, "--seeds", "0", "1", "--launcher", "local", "--jobs", "2", cwd=tmp_path)
    assert again.stdout.count("skipped") == 4 and len(load_records()) == 4
    status = tim_bench("suite", *configs, "--seeds", "0", "1", "--status", "--work-dir-root", "work", cwd=tmp_path)
    assert len(re.findall(r"^tiny_[ab] seed [01] +done ", status.stdout, re.M)) == 4, status.stdout
    everything = tim_bench("suite", "--status", cwd=tmp_path).stdout  # both suites of the store, each all done
    assert len(re.findall(r"^suite [0-9a-f]{12} ", everything, re.M)) == 2, everything
    assert len(re.findall(r" done ", everything)) == 8, everything

    # two suites (other seeds) started at once: each pair runs once, both end with all four in their table
    other = tmp_path / "other"
    other.mkdir()
    suites = [_suite(*configs, "--seeds", "2", "3", "--launcher", "local", "--jobs", "2", "--poll", "0.2", cwd=cwd)
              for cwd in (tmp_path, other)]
    outputs = [s.communicate(timeout=3600)[0] for s in suites]
    assert [s.returncode for s in suites] == [0, 0], outputs
    assert len(load_records()) == 8 and len({(r["config_name"], r["seed"]) for r in load_records()}) == 8
    for out in outputs:
        rows = re.findall(r"^\S*tiny_[ab]\.py\s+[23]\s+(ran|ran elsewhere|skipped)\s+\S+", out, re.M)
        assert len(rows) == 4, out


@pytest.mark.slow
def test_submitit_local_executor_runs_the_suite_through_the_slurm_path(tmp_path: Path) -> None:
    pytest.importorskip("submitit", reason="submitit is not installed; it is the optional slurm extra "
                                           "(pip install -e '.[slurm]')")
    data = make_ave(tmp_path / "data", videos=30, visual_dim=4, audio_dim=4)
    config = str(tiny_configs(tmp_path, data)[0])
    proc = tim_bench("suite", config, "--seeds", "0", "1", "--launcher", "slurm", "--cluster", "local",
                     "--gpus-per-job", "0", "--time", "30", "--poll", "0.5", "--work-dir-root", "work", cwd=tmp_path)
    assert "submitted 2 jobs (local job array" in proc.stdout and "2 done · 0 failed" in proc.stdout
    assert sorted(r["seed"] for r in load_records()) == [0, 1]
    suites = list((Path(os.environ["TIM_BENCH_RESULTS"]) / ".suites").iterdir())
    assert len(suites) == 1 and list((suites[0] / "slurm").glob("*/*_submitted.pkl"))  # submitit's own files


@pytest.mark.slow
def test_a_killed_job_is_reported_and_the_same_command_resumes_it(tmp_path: Path) -> None:
    data = make_ave(tmp_path / "data", videos=30, visual_dim=4, audio_dim=4)
    config = str(write_config(tmp_path, "tiny_long", data_root=repr(str(data)), test_cfg="dict(batch_size=64)",
                              train_cfg="dict(max_epochs=40, batch_size=8)",
                              model="dict(d_model=16, num_layers=1, nhead=2)"))
    store = Path(os.environ["TIM_BENCH_RESULTS"])
    args = (config, "--seeds", "0", "--launcher", "local", "--jobs", "1", "--poll", "0.2", "--work-dir-root", "work")
    suite = _suite(*args, cwd=tmp_path)
    deadline = time.time() + 1800
    holder = None
    while time.time() < deadline:  # wait until the job has written a resume point, then kill it
        found = list((store / claims.CLAIMS).glob("*/0000.json"))
        holder = json.loads(found[0].read_text()) if found else None
        if holder and holder.get("work_dir") and (Path(holder["work_dir"]) / "last.pth").is_file():
            break
        time.sleep(0.2)
    assert holder is not None
    os.kill(int(holder["pid"]), signal.SIGKILL)
    out = suite.communicate(timeout=600)[0]
    assert suite.returncode == 1, out
    assert re.search(r"failed +tiny_long seed 0 +process \d+ ended without an outcome \(killed\?\)", out), out
    assert "epoch 1" in out  # the log's last lines are shown
    assert load_records() == []

    resumed = run_bounded([tim_bench_exe(), "suite", *args], cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    (record,) = load_records()
    assert record["work_dir"] == holder["work_dir"]  # the killed run's folder, continued from its last.pth
    assert "resumed from" in (Path(holder["work_dir"]) / "log.txt").read_text()


@pytest.mark.slow
def test_the_same_data_under_another_path_is_the_same_recipe(tmp_path: Path) -> None:
    data = make_ave(tmp_path / "data", videos=30, visual_dim=4, audio_dim=4)
    config = str(tiny_configs(tmp_path, data)[0])
    tim_bench("suite", config, "--seeds", "0", "--work-dir-root", "work", cwd=tmp_path)
    staged = shutil.copytree(data, tmp_path / "node-local" / "ave")
    proc = tim_bench("suite", config, "--seeds", "0", "--cfg-options", f"data_root={staged}", cwd=tmp_path)
    assert re.search(r"tiny_a\.py\s+0\s+skipped", proc.stdout)
    (record,) = load_records()
    assert record["data_fingerprint"]["sha256"] and record["data_fingerprint"]["features"]["visual"]["files"] == 1
    board = tim_bench("leaderboard", cwd=tmp_path).stdout
    assert board.count("tiny_a [synthetic data]") == 1

    with h5py.File(Path(staged) / "visual_feature.h5", "r+") as f:  # changed features: another recipe, run anew
        f["avadataset"][0, 0, 0, 0] = np.float32(7.0)
    proc = tim_bench("suite", config, "--seeds", "0", "--cfg-options", f"data_root={staged}", "--work-dir-root",
                     "work", cwd=tmp_path)
    assert re.search(r"tiny_a\.py\s+0\s+ran", proc.stdout)
    assert len({r["recipe_hash"] for r in load_records()}) == 2


def test_a_several_gpu_job_is_a_torchrun_command_the_run_parser_reads_back(tmp_path) -> None:
    from tim_bench.cli.main import build_parser
    from tim_bench.launch.job import torchrun_command

    options = {"seed": 3, "train_cfg.lr": 0.0005, "train_cfg.amp": False, "data_root": "/scratch/ave",
               "windows.some_list": [1, 2]}
    config = tmp_path / "ave_vgg.py"  # the parser checks that a config path exists
    config.write_text('_base_ = ["ave_vgg"]\n')
    command = torchrun_command(2, str(config), options, "/w/run", "/store", resume=True)
    assert command[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m"]
    args = build_parser().parse_args(command[command.index("tim_bench.cli.main") + 1:])
    assert (args.config, args.work_dir, args.results_dir, args.resume) == (str(config), "/w/run", "/store", True)
    assert args.cfg_options == options
