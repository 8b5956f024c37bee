"""The jobs behind the CLI: train, run (train -> best checkpoint -> test -> record), test and predict."""
from __future__ import annotations

import json
import logging
import platform
import shlex
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config

from tim_bench_registry import WRITERS, RunRecord, TimBenchError, build, import_custom, plugin_manager
from tim_bench_registry.predictions import Predictions

from ..config import SPEED_ONLY_KEYS, WORLD_SIZE_KEY, check_run_settings, config_hash, load_config, recipe_hash
from ..data.fingerprint import data_fingerprint
from ..data.store import check_split_finite
from ..io import check_writable, sha256_file, write_atomic, write_json
from ..leaderboard.chance import label_counts, task_segments
from ..leaderboard.run_finished import check_registered as check_store_registered
from ..leaderboard.store import check_writable as check_store_writable, is_recorded
from ..model.compiled import compile_mode, inference_forward, probe_forward
from ..model.tim import TIM
from ..original.convert import load_weights
from ..outputs import check_output_file
from ..modelzoo.download import resolve_checkpoint
from ..data.split import SplitData
from .experiment import Experiment
from ..safe_load import check_checkpoint_file, load_checkpoint
from .checkpoint import (check_finite, check_run_checkpoint, describe_checkpoints, differing_keys, keep_policy,
                         prune_checkpoints, state_dict_of)
from ..distributed import DistInfo, init_distributed
from ..evaluation.batch_size import BatchChoice, choose_batch_size
from ..evaluation.predict import predict_split
from .load_from import load_from_record
from .provenance import (device_name, is_synthetic, model_description, new_run_id, now_iso, package_versions,
                         source_state, version_text)
from .rounding import round_metrics
from .scoring import predict_stream_bests, score_stream_bests
from .split_facts import (describe_split, describe_submission, empty_metric_groups, split_summary,
                          submission_coverage)
from .trainer import BEST, LAST, Trainer
from .workdir import (RESULT, Recorded, WorkDirLock, acquire_lock, check_reuse, choose_work_dir, clean_leftovers,
                      config_runs_root, resolve_inputs, resolved_config)

log = logging.getLogger("tim_bench")


def _setup(config: str | Path, cfg_options: dict | None, work_dir: str | Path | None, *, command: str = "",
           trains: bool = False, resume: bool = False, overwrite: bool = False, results_dir: str | None = None,
           outputs: tuple[tuple[str | Path, str], ...] = (), run_dir: Path | None = None,
           ) -> tuple[Config, Path, DistInfo, torch.device]:
    """Load the config and prepare the work dir before any data is read: every output folder (``outputs``,
    and with ``results_dir`` the results store) is checked writable, and a training command locks its work
    dir (until ``_release_locks``) and refuses another run's files there. ``run_dir``: the run folder the
    config came from, whose config's window cache (beside it) is reused."""
    cfg = load_config(config, cfg_options)
    if trains:
        check_run_settings(cfg)
        cfg.train_cfg.keep_checkpoints = keep_policy(cfg.train_cfg)  # recorded in config.py and the record
    dist = init_distributed()
    cfg[WORLD_SIZE_KEY] = dist.world_size  # part of the config hash: the global batch is split over the processes
    wd: Path | None = None
    problem = None
    if dist.is_main:
        try:
            recorded = None
            if results_dir is not None:
                store = results_dir or cfg.get("results_dir")
                check_store_writable(store)
                check_store_registered()
                recorded = partial(is_recorded, results_dir=store)
            wd = _prepare_work_dir(cfg, work_dir, command, trains, resume, overwrite, outputs, recorded)
        except TimBenchError as exc:
            problem = str(exc)
    shared = _from_rank0((str(wd) if wd else None, problem), dist)
    if shared[1] is not None:
        raise TimBenchError(shared[1])
    wd = Path(shared[0])
    explicit = work_dir or cfg.get("work_dir")
    shared_cache = run_dir.parent if run_dir is not None and (run_dir.parent / "window_cache").is_dir() else None
    cfg["_window_cache"] = str((shared_cache or (wd if explicit else config_runs_root(cfg))) / "window_cache")
    device = torch.device(f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(int(cfg.get("seed", 0)))
    return cfg, wd, dist, device


def _prepare_work_dir(cfg: Config, work_dir: str | Path | None, command: str, trains: bool, resume: bool,
                      overwrite: bool, outputs: tuple[tuple[str | Path, str], ...],
                      recorded: Recorded | None = None) -> Path:
    """Rank 0: choose (and for training lock and vet) the work dir, check the other outputs, start the log;
    ``recorded`` tells whether the results store holds a finished run's record (for ``run --resume``)."""
    for folder, what in outputs:  # before a new run folder is made: a refused command leaves nothing behind
        check_writable(folder, what)
    explicit = work_dir or cfg.get("work_dir")
    if explicit:  # before choose_work_dir makes the folder
        _check_outside_data(Path(explicit), cfg.get("data_root"), work_dir)
    wd = choose_work_dir(cfg, work_dir, resume and trains, recorded)
    _check_outside_data(wd, cfg.get("data_root"), work_dir)
    for wcfg in cfg.get("writers") or []:
        check_writable((wd / dict(wcfg).get("out", "x.zip")).parent, f"output folder of writer {wcfg.get('type')}")
    if trains:
        lock = acquire_lock(wd, command)
        try:
            check_reuse(wd, config_hash(cfg), resume, overwrite, recorded)
        except BaseException:
            lock.release()
            raise
        _HELD.append(lock)
    # the resolved config, loadable again by `tim-bench run WORK_DIR/config.py` (no internal _keys)
    resolved = Config(resolved_config(cfg))
    # only once the work dir is this process's: logs of two runs never interleave; a new training run starts
    # a new log, a resumed one (or a test/predict in a run's folder) continues it below a new header
    _log_to(wd / "log.txt", run_header(command, resolved.pretty_text), fresh=trains and not resume)
    if trains:
        clean_leftovers(wd)
    if trains or not (wd / "config.py").exists():  # test/predict in a run's folder keep the run's config.py
        write_atomic(wd / "config.py", lambda tmp: tmp.write_text(resolved.pretty_text))
    log.info("work dir: %s", wd)
    return wd


def _check_outside_data(wd: Path, data_root: str | None, work_dir: str | Path | None) -> None:
    """Refuse a work dir that is ``data_root`` or inside it: checkpoints, logs and window caches would be written
    into the dataset's folder."""
    if not data_root or not Path(data_root).is_dir():
        return
    root, where = Path(data_root).resolve(), wd.resolve()
    if where == root or root in where.parents:
        given = f"--work-dir {work_dir}" if work_dir else f"work dir {wd}"
        raise TimBenchError(f"{given} is {'data_root' if where == root else 'inside data_root'} ({root}): the run's "
                            f"files would be written into the dataset folder; give a --work-dir outside it.")


#: Work-dir locks this process holds (released when its train/run ends, however it ends).
_HELD: list[WorkDirLock] = []


def _release_locks() -> None:
    while _HELD:
        _HELD.pop().release()


def _from_rank0(value: Any, dist: DistInfo) -> Any:
    """Rank 0's ``value`` on every rank (every rank must write to and read from the same work dir)."""
    if dist.world_size == 1:
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


class _RunLog(logging.FileHandler):
    """The log.txt handler of one command; a later command in the same process replaces it."""


def _log_to(path: Path, header: str, fresh: bool) -> None:
    """Send the tim_bench logger to ``path`` (only): the environment and resolved config (``header``) first,
    written to the file alone so the console stays short; ``fresh`` replaces an earlier file."""
    logger = logging.getLogger("tim_bench")
    logger.setLevel(logging.INFO)
    for old in [h for h in logger.handlers if isinstance(h, _RunLog)]:
        logger.removeHandler(old)
        old.close()
    with open(path, "w" if fresh else "a", encoding="utf-8") as f:
        f.write(header)
    fh = _RunLog(path, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(fh)


def run_header(command: str, config_text: str) -> str:
    """The environment (python, torch, CUDA, GPUs, tim-bench version and git state, command line) and the
    resolved config, as the top of a log."""
    cuda = (f"{torch.version.cuda}, {torch.cuda.device_count()} GPU(s): "
            + ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            if torch.cuda.is_available() else
            f"not available (torch built with CUDA {torch.version.cuda})" if torch.version.cuda else
            "not available (CPU-only torch build)")
    rows = {"started": now_iso(), "command": f"tim-bench {command}: {shlex.join(sys.argv)}",
            "tim-bench": version_text(), "python": f"{platform.python_version()} ({sys.executable})",
            "torch": torch.__version__, "CUDA": cuda, "host": f"{platform.node()} ({platform.platform()})"}
    width = max(map(len, rows))
    env = "".join(f"{k:<{width}} : {v}\n" for k, v in rows.items())
    rule = "-" * 78
    return f"{rule}\nEnvironment\n{rule}\n{env}{rule}\nResolved config\n{rule}\n{config_text.rstrip()}\n{rule}\n"


def _fmt_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def _experiment(cfg: Config, wd: Path, dist: DistInfo) -> Experiment:
    cache = cfg.get("window_cache") or cfg.get("_window_cache") or str(wd / "window_cache")
    return Experiment(cfg, cache_dir=cache, write_cache=dist.is_main)


def load_model(exp: Experiment, checkpoint: str | Path, device: torch.device, trust: bool = False,
               run_epoch: int | None = None) -> TIM:
    """Build the config's model and load a tim-bench or original TIM checkpoint into it, strictly.

    ``run_epoch``: the checkpoint must be the one this run wrote at that epoch, with this config's hash
    (a run never evaluates a checkpoint left in its work dir by another run)."""
    model = exp.build_model()
    ckpt = load_checkpoint(checkpoint, trust=trust)
    if run_epoch is not None:
        check_run_checkpoint(ckpt, checkpoint, config_hash(exp.cfg), run_epoch)
    mismatch = _config_mismatch(ckpt, checkpoint, exp.cfg) if run_epoch is None else None
    if mismatch:
        log.warning("warning: %s", mismatch)
    state = state_dict_of(ckpt, checkpoint)
    check_finite(state, checkpoint)
    try:
        load_weights(model, state, str(checkpoint))
    except TimBenchError as exc:
        if mismatch:
            raise TimBenchError(f"{exc} {mismatch}") from exc
        raise
    return model.to(device)


def _config_mismatch(ckpt: dict[str, Any], checkpoint: str | Path, cfg: Config) -> str | None:
    """A sentence naming the config keys a tim-bench checkpoint was trained with that differ from ``cfg``; None
    when its config hash matches (or it is an original TIM checkpoint, which carries none)."""
    saved = ckpt.get("config_hash")
    if saved is None or saved == config_hash(cfg):
        return None
    if not isinstance(ckpt.get("config"), dict):
        return (f"{checkpoint} was trained with another config (config hash {str(saved)[:12]}, this one "
                f"{config_hash(cfg)[:12]}; the checkpoint predates carrying its config): pass its run folder "
                f"(`tim-bench test RUN_DIR`) or the config.py in it.")
    ignore = ["work_dir", "results_dir", *(f"{part}.{k}" for part, keys in SPEED_ONLY_KEYS.items() for k in keys)]
    keys = differing_keys(ckpt["config"], resolved_config(cfg), ignore)
    shown = "; ".join(keys[:12]) + (f"; and {len(keys) - 12} more" if len(keys) > 12 else "")
    return (f"{checkpoint} was trained with another config (config hash {str(saved)[:12]}, this one "
            f"{config_hash(cfg)[:12]}), keys that differ (checkpoint -> given): {shown}. Pass its run folder "
            f"(`tim-bench test RUN_DIR`) or the config.py in it to use the config it was trained with.")


def _predict(exp: Experiment, model: TIM, data: SplitData, device: torch.device, dist: DistInfo,
             choices: dict[str, BatchChoice] | None = None) -> Predictions:
    """``data``'s predictions at ``test_cfg.batch_size`` or, with a probe (``test_cfg.probe_batch_size``), the
    fastest batch size; ``choices`` keeps each split's choice (one probe per split, and the run record's)."""
    base = exp.cfg.test_cfg.batch_size
    loader = exp.loader(data, base, False, dist)
    mode = compile_mode(exp.cfg.train_cfg.get("compile", "auto"), device.type, dist.world_size)
    if mode is not None:  # compiled as training is (on one CUDA device by default): static query padding
        data.batches().pad_queries()
    choices = {} if choices is None else choices
    if data.name not in choices:
        choices[data.name] = choose_batch_size(exp.cfg.test_cfg.get("probe_batch_size", "auto"), base,
                                               probe_forward(model, mode), model, data, device,
                                               f"split '{data.name}'", dist.world_size)
    if choices[data.name].batch_size != base:
        loader = exp.loader(data, choices[data.name].batch_size, False, dist)
    predictions = predict_split(model, loader, data, exp.dataset_name, device, dist,
                                progress=sys.stderr.isatty(),  # a bar in a terminal, no \r lines in a log
                                forward=inference_forward(model, mode))
    predictions.meta["synthetic_data"] = is_synthetic(exp.data_root)  # saved with them: submit warns on it
    return predictions


def train(config: str | Path, cfg_options: dict | None = None, work_dir: str | None = None,
          resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Train and keep the best checkpoint by the dataset's main metric; returns a training summary."""
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir, command="train", trains=True, resume=resume,
                                   overwrite=overwrite)
    try:
        return _train(cfg, wd, dist, device, resume)
    finally:
        _release_locks()


def _train(cfg: Config, wd: Path, dist: DistInfo, device: torch.device, resume: bool) -> dict[str, Any]:
    exp = _experiment(cfg, wd, dist)
    result = Trainer(exp, wd, device, dist).fit(resume=resume)
    if not dist.is_main:
        return {}
    _keep_checkpoints(cfg, wd)
    log.info("training finished: best epoch %d of %d by %s: %s (%s)", result.best_epoch, result.epochs_trained,
             result.main_metric, _fmt_metrics(result.best_metrics), (wd / BEST).resolve())
    return {"work_dir": str(wd.resolve()), "epochs_trained": result.epochs_trained, "best_epoch": result.best_epoch,
            "val_metrics": result.best_metrics, "main_metric": result.main_metric}


def run_experiment(config: str | Path, cfg_options: dict | None = None, work_dir: str | None = None,
                   results_dir: str | None = None, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """train -> best checkpoint -> metrics on the labelled test split (else val) -> result.json -> results store;
    an unlabelled test split is predicted and handed to the config's writers (challenge submissions)."""
    t0 = time.perf_counter()
    cfg, wd, dist, device = _setup(config, cfg_options, work_dir, command="run", trains=True, resume=resume,
                                   overwrite=overwrite, results_dir=results_dir or "")
    try:
        return _run(cfg, wd, dist, device, results_dir, resume, t0)
    finally:
        _release_locks()


def _run(cfg: Config, wd: Path, dist: DistInfo, device: torch.device, results_dir: str | None, resume: bool,
         t0: float) -> dict[str, Any]:
    if resume and (wd / RESULT).is_file():  # check_reuse let it through: finished, but the store lacks its record
        return _record_finished(cfg, wd, dist, results_dir)
    exp = _experiment(cfg, wd, dist)
    test_name, val_name = exp.split_name("test"), exp.split_name("val")
    # the test split (annotations, feature files and widths) is checked before training, not after it
    test = exp.load_split(test_name, train=False) if test_name else None
    if test is not None and test.name not in (exp.split_name("train"), val_name):  # training reads those two
        check_split_finite(exp.sources, test.name, test.windows.video_ids.tolist())
    # what the data is when training starts (the recipe's identity, independent of data_root); rank 0 records it
    fingerprint = data_fingerprint(cfg, exp.plugin) if dist.is_main else {}
    trained = Trainer(exp, wd, device, dist).fit(resume=resume)
    model = load_model(exp, wd / BEST, device, run_epoch=trained.best_epoch)
    # metrics come from the labelled test split, else from val; an unlabelled test split gets submissions
    scored = test if test is not None and test.annotations.labelled else \
        exp.load_split(val_name, train=False) if val_name else None
    if scored is None:
        raise TimBenchError("The config has no val split and its test split is unlabelled: nothing to score.")
    choices: dict[str, BatchChoice] = {}  # each split's inference batch size (probed once per split)
    preds = _predict(exp, model, scored, device, dist, choices)
    test_preds = _predict(exp, model, test, device, dist, choices) if test is not None and test is not scored \
        else None
    # each of the original's per-stream best checkpoints is scored too (prediction runs on every rank)
    by_epoch = predict_stream_bests(trained, wd, preds,
                                    lambda path, epoch: _predict(exp, load_model(exp, path, device, run_epoch=epoch),
                                                                scored, device, dist, choices))
    if not dist.is_main:
        return {}
    pred_path = preds.save(wd / f"predictions_{scored.name}.npz")
    metric = exp.build_metric()
    metrics = metric(preds, scored.annotations)
    facts = _split_facts(scored, metric)
    stream_best, original_selection = score_stream_bests(trained, wd, by_epoch, metric, scored.annotations)
    removed = _keep_checkpoints(cfg, wd)
    for block in stream_best.values():  # a stream best that keep_checkpoints removed is no file of the record
        if Path(block["checkpoint"]) in removed:
            block["checkpoint"] = None
    submissions: list[dict[str, Any]] = []
    if test_preds is not None and test is not None:
        test_preds.save(wd / f"predictions_{test.name}.npz")
        submissions = write_submissions(exp, test_preds, wd)
    split = scored.name
    rev, dirty = source_state()
    seed = int(cfg.get("seed", 0))
    record = RunRecord(
        run_id=new_run_id(cfg["_name"], seed), config_name=cfg["_name"], config_path=cfg["_path"],
        config_hash=config_hash(cfg), recipe_hash=recipe_hash(cfg, fingerprint["sha256"]),
        data_fingerprint=fingerprint, dataset=exp.dataset_name,
        features=exp.feature_description(),
        model=model_description(cfg.model), seed=seed, data_root=str(Path(exp.data_root).resolve()),
        synthetic_data=is_synthetic(exp.data_root), split=split, metrics=metrics,
        val_metrics=trained.best_metrics, main_metric=metric.main_metric,
        epochs_trained=trained.epochs_trained, best_epoch=trained.best_epoch,
        stream_best=stream_best, metrics_original_selection=original_selection,
        sampler=trained.procedure.get("sampler"), training_procedure=trained.procedure,
        wall_time_s=round(time.perf_counter() - t0, 2), device=device_name(device),
        torch_version=torch.__version__, package_versions=package_versions(), git_revision=rev,
        git_dirty=dirty, work_dir=str(wd.resolve()), predictions=str(pred_path.resolve()),
        predictions_sha256=sha256_file(pred_path),
        submissions=[s["file"] for s in submissions], created=now_iso(),
        load_from=load_from_record(cfg.get("load_from")), config=resolved_config(cfg),
        world_size=dist.world_size, scored_on_training_data=exp.scored_on_training_data() or None,
        label_counts=label_counts(preds), task_segments=task_segments(preds),
    ).to_dict()
    # what the numbers mean (RunRecord keeps keys it has no field for in ``extra``, written back unchanged)
    record.update(facts, **({"submission_coverage": submissions} if submissions else {}))
    # speed only, no number depends on it beyond float rounding: the validation's and each scored split's
    record["inference_batch_size"] = {**({"validation": trained.val_batch} if trained.val_batch else {}),
                                      **{name: c.describe() for name, c in choices.items()}}
    _append_final_metrics(wd / "metrics.jsonl", split, trained.best_epoch, metrics)
    result_path = write_json(wd / "result.json", record)
    # the results store and the run's plots are built-in implementations of this hook (leaderboard.run_finished)
    plugin_manager().hook.tim_bench_run_finished(result=record, record=RunRecord.from_dict(record), work_dir=str(wd),
                                                 results_dir=results_dir or cfg.get("results_dir"))
    log.info("final metrics on split '%s' (best checkpoint, epoch %d): %s", split, trained.best_epoch,
             _fmt_metrics(metrics))
    log.info("result: %s", result_path.resolve())
    return record


def _split_facts(data: SplitData, metric: Any) -> dict[str, Any]:
    """``scored_split`` (sizes, class counts, chance levels) and ``empty_metric_groups`` of the split scored,
    logged as they go into result.json."""
    summary = split_summary(data.name, data.annotations, data.windows.query_row, len(data.windows))
    for line in describe_split(summary):
        log.info("%s", line)
    empty = empty_metric_groups(metric, data.annotations)
    for group, why in empty.items():
        log.warning("warning: no '%s' metrics on split '%s': %s", group, data.name, why)
    return {"scored_split": summary, "empty_metric_groups": empty}


def _keep_checkpoints(cfg: Config, wd: Path) -> list[Path]:
    """Remove the checkpoints ``train_cfg.keep_checkpoints`` does not keep, once used; log what is kept."""
    removed = prune_checkpoints(wd, keep_policy(cfg.train_cfg), BEST, LAST)
    gone = f"; removed {', '.join(p.name for p in removed)}" if removed else ""
    log.info("checkpoints kept (train_cfg.keep_checkpoints=%r): %s%s", keep_policy(cfg.train_cfg),
             describe_checkpoints(wd), gone)
    return [p.resolve() for p in removed]


def _record_finished(cfg: Config, wd: Path, dist: DistInfo, results_dir: str | None) -> dict[str, Any]:
    """Store the record of a finished run that was stopped after writing result.json and before storing it (the
    run_finished hooks: results store, plots, the config's plugins), once; nothing is trained or scored again."""
    if not dist.is_main:
        return {}
    record = json.loads((wd / RESULT).read_text())
    custom = cfg.get("custom_imports")
    if custom:  # its plugins hear of the run as they would have
        import_custom(custom.get("imports", []), custom.get("allow_failed_imports", False))
    log.warning("warning: --resume: %s finished (run %s) but the results store lacks its record (the run was stopped "
                "before storing it); recording it now, without training again.", wd, record.get("run_id"))
    plugin_manager().hook.tim_bench_run_finished(result=record, record=RunRecord.from_dict(record), work_dir=str(wd),
                                                 results_dir=results_dir or cfg.get("results_dir"))
    return record


def _append_final_metrics(path: Path, split: str, best_epoch: int, metrics: dict[str, float]) -> None:
    """Add the final evaluation to the per-epoch ``metrics.jsonl`` as one line marked ``"final": true`` (it has
    no ``epoch`` key, so readers of the epoch lines tell it apart)."""
    final = {"final": True, "split": split, "checkpoint_epoch": best_epoch, "metrics": round_metrics(metrics)}
    before = path.read_text() if path.is_file() else ""
    write_atomic(path, lambda tmp: tmp.write_text(before + json.dumps(final) + "\n"))


def write_submissions(exp: Experiment, preds: Predictions, wd: Path) -> list[dict[str, Any]]:
    """Every writer the config lists (e.g. challenge zips), each to WORK_DIR/<its ``out`` key, default TYPE.zip>;
    per file, which timestamps file it covers and how much of it (``split_facts.submission_coverage``)."""
    written = []
    for wcfg in exp.cfg.get("writers") or []:
        options = dict(wcfg)
        out = wd / options.pop("out", f"{options['type']}.zip")
        writer = build(WRITERS, options, data_root=exp.data_root)
        path = writer(preds, out, force=True)  # a rerun replaces its own submission
        written.append(submission_coverage(writer, path, is_synthetic(exp.data_root)))
        log.info("%s", describe_submission(written[-1]))
    return written


def test_checkpoint(config: str | Path, checkpoint: str | Path | None, cfg_options: dict | None = None,
                    work_dir: str | None = None, split: str | None = None,
                    trust: bool = False) -> tuple[str, dict[str, float]]:
    """(split, metrics) of a trained (or released original) checkpoint on ``split``, default the val split
    (the test split when the config has no val split). ``config`` may be a run folder (its config.py, and
    its best.pth when ``checkpoint`` is None; outputs go there unless ``work_dir``); ``checkpoint`` is a file or a
    zoo checkpoint name."""
    inputs = resolve_inputs(config, checkpoint)
    resolved, zoo = resolve_checkpoint(inputs.checkpoint)
    checkpoint = check_checkpoint_file(resolved)  # before anything is created
    cfg, wd, dist, device = _setup(inputs.config, cfg_options, work_dir or inputs.run_dir, command="test",
                                   run_dir=inputs.run_dir)
    exp = _experiment(cfg, wd, dist)
    model = load_model(exp, checkpoint, device, trust)
    digest = sha256_file(checkpoint)
    log.info("test: checkpoint %s%s, sha256 %s", checkpoint, f" (zoo {zoo})" if zoo else "", digest)
    split = split or exp.split_name("val") or exp.require_split("test")
    log.info("test: scoring %s on split '%s'", checkpoint, split)
    data = exp.load_split(split, train=False)
    if not data.annotations.labelled:
        raise TimBenchError(f"Split '{split}' has no labels to test against; use `tim-bench predict` for it.")
    choices: dict[str, BatchChoice] = {}
    preds = _predict(exp, model, data, device, dist, choices)
    metric = exp.build_metric()
    metrics = metric(preds, data.annotations)
    if not dist.is_main:
        return split, {}
    out = write_json(wd / f"test_{split}.json", {"checkpoint": str(checkpoint), "zoo": zoo,
                                                 "checkpoint_sha256": digest, "split": split, "metrics": metrics,
                                                 "inference_batch_size": choices[data.name].describe(),
                                                 **_split_facts(data, metric)})
    log.info("test metrics on '%s': %s (written to %s)", split, _fmt_metrics(metrics), out)
    return split, metrics


def prediction_inputs(config: str | Path, checkpoint: str | Path | None,
                      cfg_options: dict | None = None) -> list[str | Path | None]:
    """What a prediction reads, which no output of it may be or lie inside: the config, the checkpoint and the
    config's data_root."""
    inputs = resolve_inputs(config, checkpoint)
    return [inputs.config, inputs.checkpoint, load_config(inputs.config, cfg_options).get("data_root")]


def predict(config: str | Path, checkpoint: str | Path | None, split: str, out: str | Path | None = None,
            cfg_options: dict | None = None, work_dir: str | None = None, trust: bool = False) -> Path | None:
    """Write per-segment predictions of ``split`` to ``out`` (default: work dir); the path, or None off rank 0.
    ``config`` may be a run folder, as for ``test_checkpoint``; the run's own predictions there are kept;
    ``checkpoint`` is a file or a zoo checkpoint name."""
    inputs = resolve_inputs(config, checkpoint)
    if out:  # a folder, the config, the checkpoint or a file in data_root is refused now, not after the prediction
        check_output_file(out, prediction_inputs(config, checkpoint, cfg_options), force=True, option="--out",
                          example=f"predictions_{split}.npz")
    resolved, zoo = resolve_checkpoint(inputs.checkpoint)
    checkpoint = check_checkpoint_file(resolved)
    own = inputs.run_dir / f"predictions_{split}.npz" if inputs.run_dir is not None else None
    if own is not None and own.exists() and not out and not work_dir:
        raise TimBenchError(f"{own} holds the run's own predictions (its result.json names them); pass --out (or "
                            f"--work-dir) for the new ones.")
    outputs = ((Path(out).parent, "output folder"),) if out else ()
    cfg, wd, dist, device = _setup(inputs.config, cfg_options, work_dir or inputs.run_dir, command="predict",
                                   outputs=outputs, run_dir=inputs.run_dir)
    exp = _experiment(cfg, wd, dist)
    model = load_model(exp, checkpoint, device, trust)
    log.info("predict: checkpoint %s%s, sha256 %s", checkpoint, f" (zoo {zoo})" if zoo else "", sha256_file(checkpoint))
    preds = _predict(exp, model, exp.load_split(split, train=False), device, dist)
    if not dist.is_main:
        return None
    return preds.save(out or wd / f"predictions_{split}.npz")
