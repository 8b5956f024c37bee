"""The original TIM's own recognition code (JacobChalk/TIM, a checkout the user points at) driven on tim-bench's
batches, so the throughput bench can time the code it replaces next to its own rendering of it.

Run as is from the checkout (imported from ``recognition/time_interval_machine``, not edited):
  * the model class ``models/tim.py`` ``TIM`` with its helpers (encodings, transformers: the [B*heads, S, S]
    boolean mask rebuilt every forward, heads), its ``time_mlp`` / ``encoder`` / ``drloc_mlp`` forwards;
  * ``utils/mixup.py`` ``mixup_criterion`` and ``models/helpers/losses/drloc.py`` (DRLoc, cross-modal for AV);
  * its logging module, with stand-ins for ``simplejson`` and fvcore's ``PathManager`` where they are not
    installed (it imports them for log files only; the model only calls ``logger.info``).
Re-driven here, transcribed from ``scripts/train.py`` ``train_epoch`` and ``init_train`` (c7cb293), line by line:
  * one iteration's body: time MLP, mixup, encoder, the per-stream masked losses with their ``valid > 0`` host
    checks, DRLoc, ``check_nan_losses`` (a host sync), zero_grad, GradScaler backward, unscale, clip at 1.0,
    step, update, the cosine LR step; ``.cuda()`` is ``.to(device)`` and fp16 autocast + GradScaler run on CUDA
    only (``enable_amp`` on the CPU is a no-op, as ``torch.cuda.amp.autocast`` there);
  * ``mixup_data``: the same draw with its ``randperm`` on the batch's device (the original calls ``.cuda()``);
  * the host transfers the loop hands ``train_meter.update`` every step (``.detach().cpu()`` of the predictions
    and targets, seven ``.item()``); the meter's own CPU arithmetic, wandb, the pytorch_warmup dampening and the
    loader are not run (tim-bench's loader hands both formulations the same batches).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

#: the files of the checkout the bench imports (prepare_gpu_check.sh carries these)
NEEDED = "recognition/time_interval_machine"
#: what the bench output and its JSON say of each part (the module text has the detail)
RUN_AS_IS = "models/tim.py TIM with its helpers (masked encoder, heads, time and DRLoc MLPs), mixup_criterion, DRLoc loss"
RE_DRIVEN = ("train_epoch's step transcribed (.cuda() -> the device, fp16 autocast + GradScaler on CUDA only), "
             "mixup_data with its randperm on the device, the meter's per-step host copies; not run: meter "
             "arithmetic, wandb, pytorch_warmup dampening, the original's loader")


def code_root(checkout: Path) -> Path:
    """The folder holding ``time_interval_machine`` in a TIM checkout (its root or its ``recognition/``)."""
    for root in (checkout / "recognition", checkout):
        if (root / "time_interval_machine" / "models" / "tim.py").is_file():
            return root
    raise SystemExit(f"--original {checkout}: no recognition/time_interval_machine/models/tim.py there; point it at "
                     f"a JacobChalk/TIM checkout (its root or its recognition/ folder).")


@contextlib.contextmanager
def _stand_ins(modules: dict[str, dict[str, Any]]) -> Iterator[None]:
    """Register module ``name`` (and parents) holding ``attrs`` for each entry whose real module does not import,
    for the imports inside the block only (other code, e.g. requests probing simplejson, never sees them)."""
    added = []
    for name, attrs in modules.items():
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            continue
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) not in sys.modules:
                sys.modules[".".join(parts[:i])] = types.ModuleType(".".join(parts[:i]))
                added.append(".".join(parts[:i]))
        for k, v in attrs.items():
            setattr(sys.modules[name], k, v)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


@dataclass
class OriginalCode:
    """The checkout's modules the bench calls."""

    root: Path
    TIM: type
    mixup_criterion: Any
    drloc: types.ModuleType


def load(checkout: Path) -> OriginalCode:
    """Import the checkout's model, mixup criterion and DRLoc loss (the checkout goes first on sys.path)."""
    root = code_root(Path(checkout).resolve())
    sys.path.insert(0, str(root))
    with _stand_ins({"simplejson": {"dumps": json.dumps}, "fvcore.common.file_io": {"PathManager": None}}):
        tim = importlib.import_module("time_interval_machine.models.tim")
        mixup = importlib.import_module("time_interval_machine.utils.mixup")
        drloc = importlib.import_module("time_interval_machine.models.helpers.losses.drloc")
    if not Path(tim.__file__).resolve().is_relative_to(root):
        raise SystemExit(f"time_interval_machine was imported from {tim.__file__}, not from {root}.")
    return OriginalCode(root, tim.TIM, mixup.mixup_criterion, drloc)


@dataclass
class OriginalArgs:
    """The original's ``args`` fields that its model and step read, from a tim-bench model and loss config."""

    num_class: list
    visual_input_dim: int
    audio_input_dim: int
    d_model: int
    nhead: int
    num_layers: int
    model_modality: str
    data_modality: str
    include_verb_noun: bool
    num_feats: int
    lambda_audio: float
    lambda_drloc: float = 0.3
    m_drloc: int = 32
    mixup_alpha: float = 0.2
    feedforward_scale: int = 4
    enc_dropout: float = 0.1
    feat_dropout: float = 0.5
    seq_dropout: float = 0.5
    pool_features: bool = False


def original_roles(model: torch.nn.Module) -> tuple[list, list]:
    """Model's visual tasks (verb, noun, action; or one action) and audio task, in the original's head order."""
    visual = [t for t in model.tasks if t.stream == "visual"]
    audio = [t for t in model.tasks if t.stream == "audio"]
    if len(visual) not in (0, 1, 3) or len(audio) > 1:
        raise SystemExit(f"the original's heads are (verb, noun, action) or one visual action, and one audio action; "
                         f"this recipe has {[t.key for t in model.tasks]}.")
    return visual, audio


def original_args(model: torch.nn.Module, cfg: Any, num_feats: int) -> OriginalArgs:
    """The original's arguments for tim-bench ``model`` built from config ``cfg`` (same dims, heads, layers,
    dropouts, tasks, loss weights); ``num_feats`` feature tokens per stream."""
    visual_tasks, audio_tasks = original_roles(model)
    verb_noun = len(visual_tasks) == 3
    visual = [t.num_classes for t in visual_tasks] if verb_noun else sum(t.num_classes for t in visual_tasks)
    m, loss = cfg.model, cfg.loss
    weights = dict(loss.stream_weights)
    modality = lambda names: "audio_visual" if len(names) == 2 else names[0]  # noqa: E731
    return OriginalArgs(num_class=[visual, sum(t.num_classes for t in audio_tasks)],
                        visual_input_dim=model.input_dims.get("visual", 0), audio_input_dim=model.input_dims.get("audio", 0),
                        d_model=m.d_model, nhead=m.nhead, num_layers=m.num_layers,
                        model_modality=modality(model.streams), data_modality=modality(model.query_streams),
                        include_verb_noun=verb_noun, num_feats=num_feats,
                        lambda_audio=weights.get("audio", 1.0) / weights.get("visual", 1.0),
                        lambda_drloc=loss.lambda_drloc, m_drloc=loss.m_drloc, mixup_alpha=loss.mixup_alpha,
                        feedforward_scale=m.feedforward_scale, enc_dropout=m.enc_dropout,
                        feat_dropout=m.feat_dropout, seq_dropout=m.seq_dropout,
                        pool_features=bool(m.get("pool_features", False)))


def build_model(code: OriginalCode, args: OriginalArgs, device: torch.device) -> torch.nn.Module:
    """The checkout's ``TIM`` as ``build_model`` makes it for one process (``.cuda()`` there, ``.to(device)`` here)."""
    model = code.TIM(args.num_class, visual_input_dim=args.visual_input_dim, audio_input_dim=args.audio_input_dim,
                     feat_drop=args.feat_dropout, seq_drop=args.seq_dropout, d_model=args.d_model,
                     feedforward_scale=args.feedforward_scale, nhead=args.nhead, num_layers=args.num_layers,
                     enc_dropout=args.enc_dropout, input_modality=args.model_modality,
                     data_modality=args.data_modality, num_feats=args.num_feats,
                     include_verb_noun=args.include_verb_noun, pool_features=args.pool_features)
    return model.to(device)


def original_batch(batch: dict, model: torch.nn.Module, split_max: dict[str, int]) -> tuple:
    """A tim-bench batch in the original loader's layout: (visual_input, audio_input, times, target,
    num_v_queries, num_a_queries); queries padded to the split maximum per stream (times 0, labels -1), the
    times rows visual features, audio features, visual queries, audio queries, as ``sliding_window`` returns."""
    first = next(iter(batch["feature_times"].values()))
    b, device = first.shape[0], first.device
    empty = torch.empty((b, 0), device=device)
    inputs = [batch["features"].get(s, empty) for s in ("visual", "audio")]
    rows = [batch["feature_times"][s] for s in ("visual", "audio") if s in batch["feature_times"]]
    counts = {s: split_max.get(s, 0) if s in batch["query_times"] else 0 for s in ("visual", "audio")}
    for s in ("visual", "audio"):
        if counts[s]:
            t = batch["query_times"][s]
            rows.append(F.pad(t, (0, 0, 0, counts[s] - t.shape[1])))
    def padded(t) -> torch.Tensor:
        y = batch["labels"][t.key]
        return F.pad(y, (0, counts[t.stream] - y.shape[1]), value=-1)
    visual, audio = original_roles(model)
    none = lambda s: torch.full((b, counts[s]), -1, dtype=torch.long, device=device)  # noqa: E731
    action = padded(visual[-1]) if visual else none("visual")
    verb, noun = (padded(visual[0]), padded(visual[1])) if len(visual) == 3 else (action, action)
    target = {"verb": verb, "noun": noun, "action": action, "class_id": padded(audio[0]) if audio else none("audio")}
    return inputs[0], inputs[1], torch.cat(rows, 1), target, counts["visual"], counts["audio"]


def mixup_data(x: list[torch.Tensor], y: dict, alpha: float) -> tuple:
    """``utils/mixup.py`` ``mixup_data``, its ``randperm`` on the inputs' device instead of ``.cuda()``."""
    lam = np.random.beta(alpha, alpha) if alpha > 0 else 1
    batch_size = x[0].size(0)
    index = torch.randperm(batch_size).to(x[0].device)
    mixed_x = [lam * data + (1 - lam) * data[index, :] for data in x]
    y_b = {"verb": y["verb"][index], "noun": y["noun"][index], "action": y["action"][index],
           "class_id": y["class_id"][index]}
    return mixed_x, y, y_b, lam


class OriginalStep:
    """One iteration of the original's ``train_epoch`` on a batch from ``original_batch`` (see the module text)."""

    def __init__(self, code: OriginalCode, args: OriginalArgs, model: torch.nn.Module, device: torch.device,
                 total_steps: int = 1000) -> None:
        self.code, self.args, self.model, self.device = code, args, model, device
        self.amp = device.type == "cuda"  # args.enable_amp (True by default); autocast is CUDA's in the original
        self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.2, ignore_index=-1)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
        self.lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total_steps, eta_min=1e-6)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

    def __call__(self, batch: tuple) -> torch.Tensor:
        args, model, criterion, device, mix = self.args, self.model, self.criterion, self.device, self.code.mixup_criterion
        visual_input, audio_input, times, target, v_queries, a_queries = batch
        model.train()
        with torch.autocast(device.type, enabled=self.amp):
            time_encodings = model(times, "time_mlp")
            inputs = [visual_input, audio_input, time_encodings]
            inputs, target_a, target_b, lam = mixup_data(inputs, target, alpha=args.mixup_alpha)
            time_encodings = inputs.pop()
            output = model(inputs, "encoder", time_encodings, v_queries, a_queries)
            target_a = {k: torch.flatten(v) for k, v in target_a.items()}
            target_b = {k: torch.flatten(v) for k, v in target_b.items()}
            zero = torch.zeros((), device=device)
            visual_loss = visual_loss_verb = visual_loss_noun = visual_loss_action = zero
            audio_loss = zero
            preds = []
            valid_indices = (target_a["action"] != -1).to(device)
            valid_b_indices = (target_b["action"] != -1).to(device)
            valid_visual = valid_indices.sum()
            if "visual" in args.data_modality and valid_visual > 0:  # a host sync, as the original's
                visual_target = torch.stack([v[valid_indices] for k, v in target_a.items() if k != "class_id"], dim=1)
                visual_b_target = torch.stack([v[valid_b_indices] for k, v in target_b.items() if k != "class_id"],
                                              dim=1)
                if args.include_verb_noun:
                    verb_preds, noun_preds = output[0][0][valid_indices], output[0][1][valid_indices]
                    visual_loss_verb = mix(criterion, verb_preds, output[0][0][valid_b_indices], visual_target[:, 0],
                                           visual_b_target[:, 0], lam)
                    visual_loss_noun = mix(criterion, noun_preds, output[0][1][valid_b_indices], visual_target[:, 1],
                                           visual_b_target[:, 1], lam)
                    preds += [verb_preds, noun_preds]
                action_preds = output[0][2][valid_indices]
                visual_loss_action = mix(criterion, action_preds, output[0][2][valid_b_indices], visual_target[:, 2],
                                         visual_b_target[:, 2], lam)
                visual_loss = (visual_loss_verb + visual_loss_noun + visual_loss_action) / 3.0 \
                    if args.include_verb_noun else visual_loss_action
                preds += [action_preds, visual_target]
            valid_indices = (target_a["class_id"] != -1).to(device)
            valid_b_indices = (target_b["class_id"] != -1).to(device)
            valid_audio = valid_indices.sum()
            if "audio" in args.data_modality and valid_audio > 0:
                audio_preds = output[0][3][valid_indices]
                audio_target = target_a["class_id"][valid_indices]
                audio_loss = mix(criterion, audio_preds, output[0][3][valid_b_indices], audio_target,
                                 target_b["class_id"][valid_b_indices], lam)
                preds += [audio_preds, audio_target]
            loss = torch.zeros(1, device=device)
            if args.data_modality == "visual":
                loss += visual_loss
            elif args.data_modality == "audio":
                loss += audio_loss
            else:
                loss += visual_loss + args.lambda_audio * audio_loss
            drloc_loss = zero
            if args.lambda_drloc > 0.0:
                if args.model_modality == "audio_visual":
                    length = args.num_feats
                    drloc_loss = self.code.drloc.dense_relative_localization_loss_crossmodal(
                        output[1][:, :length], output[1][:, length:], model, args.m_drloc)
                else:
                    drloc_loss = self.code.drloc.dense_relative_localization_loss(output[1], model, args.m_drloc)
                loss += args.lambda_drloc * drloc_loss
        if math.isnan(loss.detach()):  # misc.check_nan_losses(loss): a host sync every step
            raise RuntimeError("ERROR: Got NaN losses")
        self.optimizer.zero_grad()
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.lr_scheduler.step()
        # what train_meter.update receives every step: predictions and targets on the host, the losses as floats
        for p in preds:
            p.detach().cpu()
        for value in (visual_loss, visual_loss_verb, visual_loss_noun, visual_loss_action, audio_loss, loss,
                      drloc_loss):
            value.item()
        return loss.detach()
