"""The jobs behind the CLI: train, run (train -> best checkpoint -> test -> record), test and predict."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config

from tim_bench_registry import WRITERS, TimBenchError, build, plugin_manager

from ..config import config_hash, load_config, recipe_hash
from ..evaluation.predictions import Predictions
from ..io import write_atomic, write_json
from ..leaderboard.plots import write_run_plots
from ..leaderboard.store import add_record
from ..model.convert import load_weights
from ..synthetic.common import is_synthetic
from ..model.tim import TIM
from .assemble import Experiment, SplitData
from .checkpoint import load_checkpoint, state_dict_of
from .distributed import DistInfo, init_distributed
from .inference import predict_split
from .record import device_name, git_state, model_description, new_run_id, now_iso, package_versions
from .trainer import BEST, Trainer

log = logging.getLogger("tim_bench")
REPO = Path(__file__).resolve().parents[2]


def _setup(config: str | Path, cfg_options: dict | None, work_dir: str | None) -> tuple[Config, Path, DistInfo,
                                                                                        torch.device]:
    cfg = load_config(config, cfg_options)
    dist = init_distributed()
    wd = Path(work_dir or cfg.get("work_dir") or Path("work_dirs") / cfg["_name"])
    if dist.is_main:
        wd.mkdir(parents=True, exist_ok=True)
        _log_to(wd / "log.txt")
        # the resolved config, loadable again by `tim-bench run WORK_DIR/config.py` (no internal _keys)
        resolved = Config({k: v for k, v in cfg.to_dict().items() if not k.startswith("_")})
        write_atomic(wd / "config.py", lambda tmp: tmp.write_text(resolved.pretty_text))
    device = torch.device(f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(int(cfg.get("seed", 0)))
    return cfg, wd, dist, device


def _log_to(path: Path) -> None:
    logger = logging.getLogger("tim_bench")
    logger.setLevel(logging.INFO)
    if not any(isinstance(h, logging.FileHandler) and h.baseFilename == str(path.resolve()) for h in logger.handlers):
        fh = logging.FileHandler(path)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(fh)


def _experiment(cfg: Config, wd: Path, dist: DistInfo) -> Experiment:
    cache = cfg.get("window_cache", str(wd / "window_cache"))
    return Experiment(cfg, cache_dir=cache, write_cache=dist.is_main)


def load_model(exp: Experiment, checkpoint: str | Path, device: torch.device, trust: bool = False) -> TIM:
    """Build the config's model and load a tim-bench or original TIM checkpoint into it, strictly."""
    model = exp.build_model()
    ckpt = load_checkpoint(checkpoint, trust=trust)
    load_weights(model, state_dict_of(ckpt, checkpoint), str(checkpoint))
    return model.to(device)


def _predict(exp: Experiment, model: TIM, data: SplitData, device: torch.device, dist: DistInfo) -> Predictions:
    loader = exp.loader(data, exp.cfg.test_cfg.batch_size, False, dist)
    return predict_split(model, loader, data, exp.dataset_name, device, dist)


def train(config: str | Path, cfg_options: dict | None = None, work_dir: str | None = None,
          resume: bool = False) -> dict[str, Any]:
    """Train and keep the best checkpoint by the dataset's main metric; returns a training summary."""
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir)
    exp = _experiment(cfg, wd, dist)
    result = Trainer(exp, wd, device, dist).fit(resume=resume)
    if not dist.is_main:
        return {}
    return {"work_dir": str(wd.resolve()), "epochs_trained": result.epochs_trained, "best_epoch": result.best_epoch,
            "val_metrics": result.best_metrics, "main_metric": result.main_metric}


def run_experiment(config: str | Path, cfg_options: dict | None = None, work_dir: str | None = None,
                   results_dir: str | None = None, resume: bool = False) -> dict[str, Any]:
    """train -> best checkpoint -> metrics on the labelled test split (else val) -> result.json -> results store;
    an unlabelled test split is predicted and handed to the config's writers (challenge submissions)."""
    t0 = time.perf_counter()
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir)
    exp = _experiment(cfg, wd, dist)
    trained = Trainer(exp, wd, device, dist).fit(resume=resume)
    model = load_model(exp, wd / BEST, device)
    test_name, val_name = exp.split_name("test"), exp.split_name("val")
    test = exp.load_split(test_name, train=False) if test_name else None
    # metrics come from the labelled test split, else from val; an unlabelled test split gets submissions
    scored = test if test is not None and test.annotations.labelled else \
        exp.load_split(val_name, train=False) if val_name else None
    if scored is None:
        raise TimBenchError("The config has no val split and its test split is unlabelled: nothing to score.")
    preds = _predict(exp, model, scored, device, dist)
    test_preds = _predict(exp, model, test, device, dist) if test is not None and test is not scored else None
    if not dist.is_main:
        return {}
    pred_path = preds.save(wd / f"predictions_{scored.name}.npz")
    metric = exp.build_metric()
    metrics = metric(preds, scored.annotations)
    submissions = []
    if test_preds is not None:
        test_preds.save(wd / f"predictions_{test.name}.npz")
        submissions = write_submissions(exp, test_preds, wd)
    split = scored.name
    rev, dirty = git_state(REPO) if (REPO / ".git").exists() else (None, None)  # not an unrelated enclosing repo
    seed = int(cfg.get("seed", 0))
    record = {
        "run_id": new_run_id(cfg["_name"], seed), "config_name": cfg["_name"], "config_path": cfg["_path"],
        "config_hash": config_hash(cfg), "recipe_hash": recipe_hash(cfg), "dataset": exp.dataset_name,
        "features": exp.feature_description(),
        "model": model_description(cfg.model), "seed": seed, "data_root": str(Path(exp.data_root).resolve()),
        "synthetic_data": is_synthetic(exp.data_root), "split": split, "metrics": metrics,
        "val_metrics": trained.best_metrics, "main_metric": metric.main_metric,
        "epochs_trained": trained.epochs_trained, "best_epoch": trained.best_epoch,
        "wall_time_s": round(time.perf_counter() - t0, 2), "device": device_name(device),
        "torch_version": torch.__version__, "package_versions": package_versions(), "git_revision": rev,
        "git_dirty": dirty, "work_dir": str(wd.resolve()), "predictions": str(pred_path.resolve()),
        "submissions": [str(p) for p in submissions], "created": now_iso(),
    }
    write_json(wd / "result.json", record)
    add_record(record, results_dir or cfg.get("results_dir"))
    write_run_plots(record)
    plugin_manager().hook.tim_bench_run_finished(result=record, work_dir=str(wd))
    return record


def write_submissions(exp: Experiment, preds: Predictions, wd: Path) -> list[Path]:
    """Every writer the config lists (e.g. challenge zips), each to WORK_DIR/<its ``out`` key, default TYPE.zip>."""
    paths = []
    for wcfg in exp.cfg.get("writers") or []:
        options = dict(wcfg)
        out = wd / options.pop("out", f"{options['type']}.zip")
        writer = build(WRITERS, options, data_root=exp.data_root)
        paths.append(writer(preds, out, force=True))  # a rerun replaces its own submission
    return paths


def test_checkpoint(config: str | Path, checkpoint: str | Path, cfg_options: dict | None = None,
                    work_dir: str | None = None, split: str | None = None, trust: bool = False) -> dict[str, float]:
    """Metrics of a trained (or released original) checkpoint on the val split (or ``split``)."""
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir)
    exp = _experiment(cfg, wd, dist)
    model = load_model(exp, checkpoint, device, trust)
    split = split or exp.split_name("val") or exp.split_name("test")
    data = exp.load_split(split, train=False)
    if not data.annotations.labelled:
        raise TimBenchError(f"Split '{split}' has no labels to test against; use `tim-bench predict` for it.")
    preds = _predict(exp, model, data, device, dist)
    metrics = exp.build_metric()(preds, data.annotations)
    if not dist.is_main:
        return {}
    write_json(wd / f"test_{split}.json", {"checkpoint": str(checkpoint), "split": split, "metrics": metrics})
    return metrics


def predict(config: str | Path, checkpoint: str | Path, split: str, out: str | Path | None = None,
            cfg_options: dict | None = None, work_dir: str | None = None, trust: bool = False) -> Path | None:
    """Write per-segment predictions of ``split`` to ``out`` (default: work dir); the path, or None off rank 0."""
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir)
    exp = _experiment(cfg, wd, dist)
    model = load_model(exp, checkpoint, device, trust)
    preds = _predict(exp, model, exp.load_split(split, train=False), device, dist)
    if not dist.is_main:
        return None
    return preds.save(out or wd / f"predictions_{split}.npz")
