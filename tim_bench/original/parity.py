"""Reproduce a fixture recorded from the original TIM and report the largest difference per output."""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from tim_bench_registry import DataError
from tim_bench_registry.checkpoints import pickled_globals

from ..model.losses import drloc_loss
from ..model.original_args import tim_from_original_kwargs
from .convert import load_weights


def _split_times(times: torch.Tensor, streams: tuple[str, ...], query_streams: tuple[str, ...], num_feats: int,
                 counts: dict[str, int]) -> tuple[dict, dict]:
    """The original's packed times rows -> feature times and query times per stream."""
    feature_times, query_times, row = {}, {}, 0
    for s in streams:
        feature_times[s] = times[:, row:row + num_feats]
        row += num_feats
    for s in query_streams:
        query_times[s] = times[:, row:row + counts[s]]
        row += counts[s]
    return feature_times, query_times


#: What a parity fixture holds: each a dict.
FIXTURE_KEYS = ("config", "inputs", "outputs", "state_dict")
EXAMPLE = "shared/reference/fixture_tiny_av.pt"


def load_fixture(path: str | Path) -> dict:
    """A fixture's dict, read without unpickling code; one sentence naming the file if it is not a fixture."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Fixture {path} " + ("is a folder" if path.is_dir() else "does not exist") + f"; pass a "
                        f"fixture .pt recorded from the original TIM (e.g. {EXAMPLE}).")
    unreadable = DataError(f"Fixture {path} is not a torch file of a dict (it is truncated, corrupt or another "
                           f"format); pass a fixture .pt recorded from the original TIM (e.g. {EXAMPLE}).")
    try:
        fixture = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        objects = pickled_globals(path)
        if objects:
            raise DataError(f"Fixture {path} holds pickled Python objects ({', '.join(objects[:3])}), not only tensors "
                            f"and plain values, so it is not a parity fixture and is not unpickled (that could run "
                            f"code); record fixtures with torch.save of tensors, numbers and dicts.") from None
        raise unreadable from None
    except Exception:  # noqa: BLE001 - torch raises RuntimeError, EOFError, KeyError... for broken files
        raise unreadable from None
    if not isinstance(fixture, dict):
        raise unreadable
    missing = [k for k in FIXTURE_KEYS if not isinstance(fixture.get(k), dict)]
    if missing:
        raise DataError(f"Fixture {path} is not a parity fixture: it lacks the dicts {missing} (it needs "
                        f"{', '.join(FIXTURE_KEYS)}, as {EXAMPLE} has).")
    return fixture


def check_fixture(path: str | Path) -> dict[str, float]:
    """Max |ours - original| for every recorded output of the fixture at ``path``."""
    fixture = load_fixture(path)
    cfg, inputs, expected = fixture["config"], fixture["inputs"], fixture["outputs"]
    torch.manual_seed(cfg.get("seed", 0))
    model = tim_from_original_kwargs(cfg["constructor_kwargs"])
    load_weights(model, fixture["state_dict"], str(path))
    model.eval()
    counts = {"visual": inputs["num_v_queries"], "audio": inputs["num_a_queries"]}
    features = {"visual": inputs["visual"], "audio": inputs["audio"]}
    feature_times, query_times = _split_times(inputs["times"], model.streams, model.query_streams,
                                              cfg["num_feats"], counts)
    with torch.no_grad():
        out = model(features, feature_times, query_times, return_internals=True)
        ours: dict[str, torch.Tensor] = {
            "time_encodings": out.internals["time_encodings"],
            "feature_tokens": out.feature_tokens,
            "encoder_input": out.internals["encoder_input"].transpose(0, 1),
            "attn_mask": ~out.internals["allowed"],
        }
        if "pooled_visual" in out.internals:
            ours["pooled_visual"] = out.internals["pooled_visual"]
        for task in model.tasks:
            name = task.name if task.stream == "visual" else "audio"
            ours[name] = out.logits[task.key].reshape(-1, task.num_classes)  # batch-major, as the original
        if "drloc" in expected:
            rec = expected["drloc"]
            loss, parts = drloc_loss(model.drloc_mlp, out.feature_tokens, len(model.streams), rec["m"],
                                     positions=(rec["pos_1"], rec["pos_2"]))
            for name in ("mlp_input", "pred", "target"):
                ours[f"drloc.{name}"] = parts[name]
            ours["drloc.loss"] = loss
    diffs: dict[str, float] = {}
    for name, ref in expected.items():
        if name == "drloc":
            for part in ("mlp_input", "pred", "target", "loss"):
                diffs[f"drloc.{part}"] = _maxdiff(ours[f"drloc.{part}"], ref[part])
        elif isinstance(ref, torch.Tensor):
            if name not in ours:
                raise DataError(f"Fixture {path} records output '{name}', which this model does not produce.")
            diffs[name] = _maxdiff(ours[name], ref)
    if "attn_mask_repeats" in expected:
        diffs["attn_mask_repeats"] = 0.0  # one shared [S, S] mask replaces the original's B*nhead copies
    return diffs


def _maxdiff(ours: torch.Tensor, ref: torch.Tensor) -> float:
    if tuple(ours.shape) != tuple(ref.shape):
        return float("inf")
    if ref.dtype == torch.bool:
        return float((ours != ref).sum())
    return float((ours.double() - ref.double()).abs().max()) if ref.numel() else 0.0
