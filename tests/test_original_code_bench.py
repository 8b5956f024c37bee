"""bench/original_tim.py drives the original TIM's own code (JacobChalk/TIM, extracted from a local git mirror) on
tim-bench's batches: its layout of a batch is the original loader's (the original model, given tim-bench's weights'
counterpart, computes tim-bench's logits), and its training step trains."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import run_bounded, tiny_epic_experiment

ROOT = Path(__file__).resolve().parents[1]
MIRROR = "JacobChalk+TIM/repo"  # a bare clone of JacobChalk/TIM under some .mirror/ folder above the checkout


def _mirror() -> Path | None:
    """The original's git dir: $TIM_ORIGINAL_GIT, else a .mirror/JacobChalk+TIM/repo beside a folder above ROOT."""
    given = os.environ.get("TIM_ORIGINAL_GIT")
    candidates = [Path(given)] if given else [p / ".mirror" / MIRROR for p in ROOT.parents]
    return next((c for c in candidates if (c / "objects").is_dir()), None)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The files the bench needs, extracted from the mirror at its HEAD (the checkout itself is never edited)."""
    git_dir = _mirror()
    if git_dir is None:
        pytest.skip("no git mirror of JacobChalk/TIM (set TIM_ORIGINAL_GIT to its git dir to run these tests)")
    sys.path.insert(0, str(ROOT / "bench"))
    import original_tim
    out = tmp_path_factory.mktemp("tim_original")
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "HEAD", original_tim.NEEDED],
                             capture_output=True, check=True, timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True, timeout=120)
    return out


def _batch_and_models(tmp_path, checkout):
    import original_tim
    from tim_bench.original.convert import load_weights
    from tim_bench.distributed import DistInfo
    exp = tiny_epic_experiment(tmp_path, {"model.d_model": 16, "model.num_layers": 2, "model.nhead": 2})
    train = exp.load_split("train", train=True)
    batch = next(iter(exp.loader(train, 8, True, DistInfo(), 0, False)))
    ours = exp.build_model()
    code = original_tim.load(checkout)
    args = original_tim.original_args(ours, exp.cfg, batch["feature_times"]["visual"].shape[1])
    theirs = original_tim.build_model(code, args, torch.device("cpu"))
    load_weights(ours, theirs.state_dict(), "the original's fresh model")  # ours now holds the original's weights
    return code, args, ours, theirs, batch, train.dataset.split_max_queries()


def test_original_model_is_the_checkouts_and_sees_the_batch_as_its_loader_would(tmp_path, checkout):
    import original_tim
    code, args, ours, theirs, batch, split_max = _batch_and_models(tmp_path, checkout)
    assert Path(sys.modules[type(theirs).__module__].__file__).is_relative_to(checkout.resolve())
    assert (args.model_modality, args.data_modality, args.include_verb_noun, args.lambda_audio) == \
        ("audio_visual", "audio_visual", True, 0.01)  # EPIC AV: the original README's arguments
    visual, audio, times, target, nv, na = original_tim.original_batch(batch, ours, split_max)
    assert (nv, na) == (split_max["visual"], split_max["audio"])  # padded to the split maximum, as sliding_window
    assert times.shape[1] == 2 * args.num_feats + nv + na
    ours.eval(), theirs.eval()
    with torch.no_grad():
        mine = ours(batch["features"], batch["feature_times"], batch["query_times"]).logits
        out = theirs([visual, audio], "encoder", theirs(times, "time_mlp"), nv, na)[0]
    for i, task in enumerate(ours.tasks):  # the original's heads: verb, noun, action, audio (flattened B x queries)
        theirs_logits = out[i].view(len(batch["index"]), -1, task.num_classes)[:, :mine[task.key].shape[1]]
        assert torch.allclose(mine[task.key], theirs_logits, atol=1e-5), task.key
    labels = batch["labels"]["visual_action"]
    assert torch.equal(target["action"][:, :labels.shape[1]], labels) and (target["action"][:, labels.shape[1]:] == -1).all()


def test_original_training_step_trains_on_the_device(tmp_path, checkout):
    import original_tim
    code, args, ours, theirs, batch, split_max = _batch_and_models(tmp_path, checkout)
    step = original_tim.OriginalStep(code, args, theirs, torch.device("cpu"))
    before = [p.detach().clone() for p in theirs.parameters()]
    losses = [float(step(original_tim.original_batch(batch, ours, split_max))) for _ in range(3)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(not torch.equal(a, b) for a, b in zip(before, theirs.parameters())) > 0.9 * len(before)


@pytest.mark.slow
def test_throughput_bench_times_the_original_code_beside_its_rendering(tmp_path, shared_data, checkout):
    out = tmp_path / "figures.json"
    done = run_bounded([sys.executable, str(ROOT / "bench" / "throughput.py"), "--dims", "tiny", "--videos", "3",
                        "--steps", "2", "--warmup", "1", "--annotations", str(shared_data), "--out", str(out),
                        "--data", str(tmp_path / "data"), "--original", str(checkout), "--step-only"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    code = figures["original_code"]
    assert code["step_ms"] > 0 and code["rendering_over_code"] > 0 and figures["step_over_original_code"] > 0
    assert "TIM" in code["run_as_is"] and "transcribed" in code["re_driven"]
    assert "(O) original code (JacobChalk/TIM) step" in done.stdout and "re-driven" in done.stdout
