"""TIM on packed tokens (padding queries skipped) computes exactly what the padded layout computes."""
from __future__ import annotations

import pytest
import torch

from helpers import tiny_epic_experiment, train_watching_dtypes
from tim_bench.model.losses import TIMLoss
from tim_bench.distributed import DistInfo
from tim_bench.model.tim import TIM, Mix
from tim_bench_registry import IGNORE_LABEL, Task

TASKS = (Task("visual", "verb", 5), Task("visual", "action", 7), Task("audio", "event", 4))
COUNTS = {"visual": [3, 0, 5, 1], "audio": [2, 4, 0, 1]}  # real queries per window; padded to the batch max


def _model() -> TIM:
    torch.manual_seed(0)
    return TIM({"visual": 6, "audio": 5}, TASKS, d_model=8, nhead=2, num_layers=2)


def _batch(perm: list[int] | None = None) -> dict:
    g = torch.Generator().manual_seed(3)
    b, f = 4, 5
    feats = {"visual": torch.randn(b, f, 6, generator=g), "audio": torch.randn(b, f, 5, generator=g)}
    ft = {s: torch.rand(b, f, 2, generator=g).sort(-1).values for s in feats}
    qt, index, labels = {}, {}, {}
    for s, counts in COUNTS.items():
        longest = max(counts)
        real = torch.tensor([[i < n for i in range(longest)] for n in counts])
        qt[s] = torch.rand(b, longest, 2, generator=g).sort(-1).values * real[..., None]
        # under mixup a slot is computed where the window or its partner has a query
        computed = real | real[perm] if perm is not None else real
        index[s] = computed.reshape(-1).nonzero().squeeze(1)
        for t in TASKS:
            if t.stream == s:
                y = torch.randint(t.num_classes, (b, longest), generator=g)
                labels[t.key] = torch.where(real, y, torch.full_like(y, IGNORE_LABEL))
    return {"features": feats, "feature_times": ft, "query_times": qt, "query_index": index, "labels": labels}


def _real(logits: torch.Tensor, stream: str) -> torch.Tensor:
    counts = COUNTS[stream]
    return torch.cat([logits[w, :n] for w, n in enumerate(counts)])


def test_packed_logits_and_feature_tokens_equal_padded():
    model, batch = _model().eval(), _batch()
    with torch.no_grad():
        padded = model(batch["features"], batch["feature_times"], batch["query_times"])
        packed = model(batch["features"], batch["feature_times"], batch["query_times"],
                       query_index=batch["query_index"])
    for task in TASKS:
        torch.testing.assert_close(_real(packed.logits[task.key], task.stream),
                                   _real(padded.logits[task.key], task.stream), atol=1e-5, rtol=0)
        assert packed.logits[task.key].shape == padded.logits[task.key].shape
    torch.testing.assert_close(packed.feature_tokens, padded.feature_tokens, atol=1e-5, rtol=0)


@pytest.mark.parametrize("with_mix", [False, True])
def test_packed_training_loss_and_gradients_equal_padded(with_mix):
    perm = [2, 0, 3, 1]
    batch = _batch(perm if with_mix else None)
    grads, losses = [], []
    for packed in (False, True):
        model = _model().train()
        for m in model.modules():  # dropout off: the two layouts draw their masks in a different order
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        for layer in model.encoder.layers:
            layer.self_attn.dropout = 0.0
        criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.5}, 0.0, 4)
        mix = Mix(torch.tensor(0.7), torch.tensor(perm)) if with_mix else None
        out = model(batch["features"], batch["feature_times"], batch["query_times"], mix=mix,
                    query_index=batch["query_index"] if packed else None)
        loss = criterion(out.logits, batch["labels"], out.feature_tokens, model.drloc_mlp, 2, mix)["loss"]
        loss.backward()
        losses.append(loss.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    torch.testing.assert_close(losses[1], losses[0], atol=1e-6, rtol=1e-5)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], atol=1e-6, rtol=1e-4, msg=name)


@pytest.mark.parametrize("train", [False, True])
def test_batches_carry_the_slots_to_compute(tmp_path, train):
    """Real queries in evaluation; in training (mixup on) also the slots where the mixup partner has a query."""
    exp = tiny_epic_experiment(tmp_path, {})
    data = exp.load_split("train", train=train)
    exp.loader(data, 8, False, DistInfo())
    data.dataset.set_epoch(1)
    batch = data.dataset[list(range(min(8, len(data.windows))))]
    assert ("mix" in batch) == train
    for s, rows in batch["query_rows"].items():
        real = rows >= 0
        if train:
            real = real | real[batch["mix"]["perm"]]
        assert torch.equal(batch["query_index"][s], real.reshape(-1).nonzero().squeeze(1))


def test_mixup_draw_is_seeded_by_epoch_and_batch(tmp_path):
    exp = tiny_epic_experiment(tmp_path, {})
    data = exp.load_split("train", train=True)
    exp.loader(data, 8, False, DistInfo())
    draws = []
    for epoch in (1, 1, 2):
        data.dataset.set_epoch(epoch)
        draws.append(data.dataset[list(range(8))]["mix"])
    assert float(draws[0]["lam"]) == float(draws[1]["lam"]) and torch.equal(draws[0]["perm"], draws[1]["perm"])
    assert float(draws[0]["lam"]) != float(draws[2]["lam"])


def test_cpu_bf16_autocast_is_explicit_and_recorded(tmp_path):
    """train_cfg.amp="bf16" runs the CPU step under bf16 autocast (the default stays fp32) and says so."""
    dtypes = {}
    for amp in (True, "bf16"):
        fit, seen = train_watching_dtypes(tmp_path / str(amp), amp, "cpu")
        dtypes[amp] = (seen, fit.procedure["autocast"])
        assert torch.isfinite(torch.tensor(fit.history[0]["train_loss"]))
    assert dtypes[True] == ({torch.float32}, "off")
    assert dtypes["bf16"] == ({torch.bfloat16}, "bfloat16")


def test_precision_chosen_for_a_cuda_device_is_the_originals_fp16_with_a_scaler_and_fp32_features():
    from tim_bench.runner.precision import choose_precision
    from tim_bench_registry import TimBenchError
    # the selection the trainer makes, for each device type (what a GPU run would use, decided on the CPU)
    default = choose_precision("cuda", True, "auto", bf16_supported=True)
    assert (default.autocast, default.grad_scaler, default.feature_dtype) == (torch.float16, True, "float32")
    assert default.describe() == {"autocast": "float16", "grad_scaler": True, "feature_dtype": "float32"}
    bf16 = choose_precision("cuda", "bf16", "bfloat16", bf16_supported=True)
    assert (bf16.autocast, bf16.grad_scaler, bf16.feature_dtype) == (torch.bfloat16, False, "bfloat16")
    assert choose_precision("cpu", True).describe() == {"autocast": "off", "grad_scaler": False,
                                                        "feature_dtype": "float32"}
    assert choose_precision("cpu", "bf16").autocast == torch.bfloat16
    assert choose_precision("cuda", False).describe()["autocast"] == "off"
    with pytest.raises(TimBenchError, match=r"train_cfg.amp='bf16' but Old GPU has no bf16 support"):
        choose_precision("cuda", "bf16", bf16_supported=False, device_name="Old GPU")
    with pytest.raises(TimBenchError, match=r"train_cfg.feature_dtype='int8' is not valid"):
        choose_precision("cuda", True, "int8")
