"""The eager training step with fewer kernels (one projection per attention layer, one token concatenation, mixup as
one interpolation, the task losses from one log-softmax each) computes what the step before it computed: the same
loss parts and gradients, in fp32 and under fp16 autocast with a GradScaler-free step, on the padded layout (CUDA's
eager step) and on the packed one. The reference below is the previous formulation, kept here verbatim in maths."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from tim_bench.model.compiled import TrainForward
from tim_bench.model.layers import SDPA_BACKENDS, SelfAttention
from tim_bench.model.losses import TIMLoss
from tim_bench.model.tim import TIM, Mix
from tim_bench_registry import IGNORE_LABEL, Task

EPIC_TASKS = (Task("visual", "verb", 5), Task("visual", "noun", 6), Task("visual", "action", 7),
              Task("audio", "event", 4))
ONE_PER_STREAM = (Task("visual", "event", 5), Task("audio", "event", 4))
B, F_TOKENS, NQ = 4, 5, {"visual": 3, "audio": 2}
#: fp32: the reformulation only reorders a few float additions; fp16 autocast: half-precision products, where a
#: different grouping moves results by a few half-precision ulps
TOLERANCE = {None: dict(rtol=1e-5, atol=1e-6), torch.float16: dict(rtol=2e-3, atol=2e-4)}


class ReferenceAttention(SelfAttention):
    """The previous padded attention: features and queries projected separately, softmax of an explicit upcast."""

    def forward(self, x: torch.Tensor, num_feature_tokens: int) -> torch.Tensor:
        b, s, w = x.shape
        f = num_feature_tokens
        p = self.dropout if self.training else 0.0

        def heads(tokens):
            n = tokens.shape[1]
            qkv = F.linear(tokens, self.in_proj_weight, self.in_proj_bias)
            return qkv.view(b, n, 3, self.nhead, w // self.nhead).permute(2, 0, 3, 1, 4).unbind(0)

        qf, kf, vf = heads(x[:, :f])
        with torch.nn.attention.sdpa_kernel(SDPA_BACKENDS):
            out = F.scaled_dot_product_attention(qf, kf, vf, dropout_p=p)
        if s > f:
            qq, kq, vq = heads(x[:, f:])
            scale = qq.shape[-1] ** -0.5
            logits = torch.cat([qq @ kf.transpose(-1, -2), (qq * kq).sum(-1, keepdim=True)], dim=-1) * scale
            probs = F.dropout(torch.softmax(logits.float(), dim=-1).to(vf.dtype), p, self.training)
            out = torch.cat([out, probs[..., :f] @ vf + probs[..., f:] * vq], dim=2)
        return self.out_proj(out.transpose(1, 2).reshape(b, s, w))


def reference_forward(model: TIM, features, feature_times, query_times, lam, perm):
    """The previous TIM.forward (padded): per-group token concatenations and additions, mixup as lam*x+(1-lam)*x[p]."""
    mix = lambda x: lam * x + (1.0 - lam) * x[perm]  # noqa: E731
    feats = {s: mix(features[s]) for s in model.streams}
    rows = [feature_times[s] for s in model.streams] + [query_times[s] for s in model.query_streams]
    time_enc = mix(model.time_mlp(torch.cat(rows, dim=1)))
    parts = dict(zip([*model.streams, *(f"q_{s}" for s in model.query_streams)],
                     time_enc.split([r.shape[1] for r in rows], dim=1)))
    tokens = []
    for s in model.streams:
        tok = torch.cat([model.embedders[s](feats[s]), parts[s]], dim=-1)
        tokens.append(tok + model.modality_encodings[s])
    f = sum(t.shape[1] for t in tokens)
    spans, offset = {}, f
    for task in model.tasks:
        q_time = parts[f"q_{task.stream}"]
        cls = model.query_tokens[task.key].expand(q_time.shape[0], q_time.shape[1], -1)
        tokens.append(torch.cat([cls, q_time], dim=-1) + model.modality_encodings[task.stream])
        spans[task.key] = (offset, offset + q_time.shape[1])
        offset += q_time.shape[1]
    out = model.encoder(model.seq_dropout(torch.cat(tokens, dim=1)), f)
    return {key: model.heads[key](out[:, a:b]) for key, (a, b) in spans.items()}, out[:, :f]


def reference_loss(criterion: TIMLoss, logits, labels, feature_tokens, drloc_mlp, lam, perm):
    """The previous TIMLoss: F.cross_entropy per task and mixup target on an upcast, DRLoc pairs gathered apart."""
    def valid_of(task):
        if not criterion.drop_partial_labels:
            return labels[task.key] != IGNORE_LABEL
        mask = torch.ones_like(labels[task.key], dtype=torch.bool)
        for other in criterion.tasks:
            if other.stream == task.stream:
                mask &= labels[other.key] != IGNORE_LABEL
        return mask

    def ce(x, y, valid):
        x, y, valid = x.reshape(-1, x.shape[-1]), y.reshape(-1), valid.reshape(-1)
        losses = F.cross_entropy(x.float(), y.clamp_min(0), reduction="none", label_smoothing=criterion.label_smoothing)
        return (losses * valid).sum() / valid.sum().clamp_min(1)

    parts, per_stream = {}, {}
    for task in criterion.tasks:
        y, valid = labels[task.key], valid_of(task)
        loss = lam * ce(logits[task.key], y, valid) + (1.0 - lam) * ce(logits[task.key], y[perm], valid[perm])
        parts[f"loss_{task.key}"] = loss
        per_stream.setdefault(task.stream, []).append(loss)
    total = sum(criterion.stream_weights[s] * torch.stack(v).mean() for s, v in per_stream.items())
    b, length = feature_tokens.shape[0], feature_tokens.shape[1] // 2
    pos_1 = torch.randint(length, (b, criterion.m_drloc))
    pos_2 = torch.randint(length, (b, criterion.m_drloc))
    batch = torch.arange(b).unsqueeze(1)
    pairs = torch.cat([feature_tokens[:, :length][batch, pos_1], feature_tokens[:, length:][batch, pos_2]], dim=-1)
    target = (pos_1 - pos_2).abs().float() / length
    parts["loss_drloc"] = F.l1_loss(drloc_mlp(pairs).squeeze(-1).float(), target)
    parts["loss"] = total + criterion.lambda_drloc * parts["loss_drloc"]
    return parts


def _batch(tasks) -> dict:
    """A mixed batch of B windows with a few padding queries (IGNORE_LABEL) and a partially labelled query."""
    g = torch.Generator().manual_seed(3)
    feats = {"visual": torch.randn(B, F_TOKENS, 6, generator=g), "audio": torch.randn(B, F_TOKENS, 5, generator=g)}
    labels = {t.key: torch.randint(t.num_classes, (B, NQ[t.stream]), generator=g) for t in tasks}
    for t in tasks:  # windows 1 and 3 (mixup partners) have one query less: their last slot is padding
        labels[t.key][1::2, -1] = IGNORE_LABEL
    labels[tasks[0].key][2, 0] = IGNORE_LABEL  # a query unlabelled for one task of its stream only
    counts = {s: torch.tensor([n, n - 1, n, n - 1]) for s, n in NQ.items()}
    return {"features": feats,
            "feature_times": {s: torch.rand(B, F_TOKENS, 2, generator=g).sort(-1).values for s in feats},
            "query_times": {s: torch.rand(B, n, 2, generator=g).sort(-1).values for s, n in NQ.items()},
            "labels": labels, "mix": {"lam": torch.tensor(0.7), "perm": torch.tensor([2, 3, 0, 1])},
            "query_index": {s: torch.cat([w * NQ[s] + torch.arange(int(c)) for w, c in enumerate(counts[s])])
                            for s in NQ}}


def _no_dropout(model: TIM) -> TIM:
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    for layer in model.encoder.layers:
        layer.self_attn.dropout = 0.0
    return model


def _grads(model: torch.nn.Module, loss: torch.Tensor) -> dict[str, torch.Tensor]:
    loss.backward()
    return {n: p.grad.float() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("amp", [None, torch.float16], ids=["fp32", "fp16-autocast"])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("tasks", [EPIC_TASKS, ONE_PER_STREAM], ids=["epic", "one-task-per-stream"])
def test_eager_step_gives_the_previous_loss_and_gradients(amp, packed, tasks):
    torch.manual_seed(0)
    model = _no_dropout(TIM({"visual": 6, "audio": 5}, tasks, d_model=8, nhead=2, num_layers=2).train())
    reference = copy.deepcopy(model)
    for layer in reference.encoder.layers:
        layer.self_attn.__class__ = ReferenceAttention
    criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.5}, 0.3, 6)
    batch = _batch(tasks)
    lam, perm = batch["mix"]["lam"], batch["mix"]["perm"]

    torch.manual_seed(5)  # the DRLoc pairs: both formulations draw them in the same order
    got = TrainForward(model, model, criterion, amp, packed=packed)(batch)
    torch.manual_seed(5)
    with torch.autocast("cpu", dtype=amp, enabled=amp is not None):
        logits, feature_tokens = reference_forward(reference, batch["features"], batch["feature_times"],
                                                   batch["query_times"], lam, perm)
        want = reference_loss(criterion, logits, batch["labels"], feature_tokens, reference.drloc_mlp, lam, perm)

    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], **TOLERANCE[amp], msg=key)
    got_grads, want_grads = _grads(model, got["loss"]), _grads(reference, want["loss"])
    assert got_grads.keys() == want_grads.keys()
    for name in want_grads:
        torch.testing.assert_close(got_grads[name], want_grads[name], **TOLERANCE[amp], msg=name)


@pytest.mark.parametrize("drop_partial_labels", [True, False])
@pytest.mark.parametrize("with_mix", [True, False])
def test_task_losses_equal_per_task_cross_entropy(drop_partial_labels, with_mix):
    """The loss from one log-softmax per task equals F.cross_entropy per task and target, with and without mixup
    and the original's rule for partially labelled queries."""
    batch = _batch(EPIC_TASKS)
    g = torch.Generator().manual_seed(4)
    logits = {t.key: torch.randn(B, NQ[t.stream], t.num_classes, generator=g, requires_grad=True) for t in EPIC_TASKS}
    feature_tokens = torch.randn(B, 2 * F_TOKENS, 16, generator=g)
    drloc = torch.nn.Linear(32, 1)
    criterion = TIMLoss(EPIC_TASKS, 0.1, {"audio": 0.25}, 0.3, 4, drop_partial_labels=drop_partial_labels)
    lam, perm = (batch["mix"]["lam"], batch["mix"]["perm"]) if with_mix else (1.0, torch.arange(B))
    torch.manual_seed(1)
    got = criterion(logits, batch["labels"], feature_tokens, drloc, 2, Mix(lam, perm) if with_mix else None)
    torch.manual_seed(1)
    want = reference_loss(criterion, logits, batch["labels"], feature_tokens, drloc, lam, perm)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-6, atol=1e-7, msg=key)
    grads = torch.autograd.grad(got["loss"], list(logits.values()))
    want_grads = torch.autograd.grad(want["loss"], list(logits.values()))
    for g_got, g_want in zip(grads, want_grads):
        torch.testing.assert_close(g_got, g_want, rtol=1e-5, atol=1e-7)
