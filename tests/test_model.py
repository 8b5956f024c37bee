"""TIM's masking, padding and loss behave as the original's maths says they must."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tim_bench.model.losses import TIMLoss
from tim_bench.model.tim import TIM, Mix
from tim_bench_registry import Task

TASKS = (Task("visual", "verb", 5), Task("visual", "action", 7), Task("audio", "event", 4))


def _model(**kw) -> TIM:
    torch.manual_seed(0)
    return TIM({"visual": 6, "audio": 5}, TASKS, d_model=8, nhead=2, num_layers=2, **kw).eval()


def _inputs(b=3, f=4, nv=3, na=2):
    g = torch.Generator().manual_seed(1)
    feats = {"visual": torch.randn(b, f, 6, generator=g), "audio": torch.randn(b, f, 5, generator=g)}
    ft = {s: torch.rand(b, f, 2, generator=g).sort(-1).values for s in feats}
    qt = {"visual": torch.rand(b, nv, 2, generator=g).sort(-1).values,
          "audio": torch.rand(b, na, 2, generator=g).sort(-1).values}
    return feats, ft, qt


def test_padding_queries_never_changes_real_ones():
    model = _model()
    feats, ft, qt = _inputs()
    with torch.no_grad():
        ref = model(feats, ft, qt)
        padded = {s: torch.cat([q, torch.zeros(q.shape[0], 5, 2)], 1) for s, q in qt.items()}
        out = model(feats, ft, padded)
    for key, logits in ref.logits.items():
        torch.testing.assert_close(out.logits[key][:, :logits.shape[1]], logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.feature_tokens, ref.feature_tokens, atol=1e-6, rtol=0)


def test_a_query_depends_only_on_features_and_itself():
    model = _model()
    feats, ft, qt = _inputs()
    with torch.no_grad():
        ref = model(feats, ft, qt)
        moved = {**qt, "visual": qt["visual"].clone()}
        moved["visual"][:, 0] = torch.tensor([0.1, 0.9])
        out = model(feats, ft, moved)
    assert not torch.allclose(out.logits["visual_verb"][:, 0], ref.logits["visual_verb"][:, 0])
    torch.testing.assert_close(out.logits["visual_verb"][:, 1:], ref.logits["visual_verb"][:, 1:], atol=1e-6, rtol=0)
    torch.testing.assert_close(out.logits["audio_event"], ref.logits["audio_event"], atol=1e-6, rtol=0)


def test_no_queries_in_a_stream_is_fine():
    model = _model()
    feats, ft, qt = _inputs(na=0)
    with torch.no_grad():
        out = model(feats, ft, qt)
    assert out.logits["audio_event"].shape == (3, 0, 4)


def test_total_loss_weights_streams_and_drloc():
    model = _model().train()
    feats, ft, qt = _inputs()
    labels = {"visual_verb": torch.tensor([[0, 1, -1], [2, -1, -1], [4, 3, 1]]),
              "visual_action": torch.tensor([[0, 6, -1], [2, -1, -1], [5, 3, 1]]),
              "audio_event": torch.tensor([[0, 1], [-1, -1], [3, 2]])}
    criterion = TIMLoss(TASKS, stream_weights={"audio": 0.5}, lambda_drloc=0.3, m_drloc=4)
    torch.manual_seed(0)
    mix = Mix(0.7, torch.tensor([2, 0, 1]))
    out = model(feats, ft, qt, mix=mix)
    parts = criterion(out.logits, labels, out.feature_tokens, model.drloc_mlp, 2, mix)
    expected = (parts["loss_visual_verb"] + parts["loss_visual_action"]) / 2 + 0.5 * parts["loss_audio_event"] + \
        0.3 * parts["loss_drloc"]
    torch.testing.assert_close(parts["loss"], expected)
    parts["loss"].backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if not n.startswith("pool"))


def test_single_stream_model_has_no_modality_encodings():
    model = TIM({"visual": 6}, (Task("visual", "action", 3),), d_model=8, nhead=2, num_layers=1)
    assert len(model.modality_encodings) == 0 and "embedders.audio.1.weight" not in model.state_dict()


def test_bf16_autocast_step_runs_and_keeps_fp32_weights():
    """The AMP code path (bf16 autocast), exercised on CPU since CI has no GPU."""
    model = TIM({"visual": 6, "audio": 5}, TASKS, d_model=8, nhead=2, num_layers=1, pool_features=False).train()
    feats, ft, qt = _inputs()
    labels = {t.key: torch.randint(t.num_classes, (3, qt[t.stream].shape[1])) for t in TASKS}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(feats, ft, qt, mix=Mix(0.6, torch.tensor([1, 2, 0])))
        loss = TIMLoss(TASKS)(out.logits, labels, out.feature_tokens, model.drloc_mlp, 2)["loss"]
    assert out.logits["visual_verb"].dtype == torch.bfloat16 and loss.dtype == torch.float32
    loss.backward()
    assert all(p.dtype == torch.float32 and p.grad is not None for p in model.parameters())


def test_avga_model_under_autocast():
    model = TIM({"visual": 6, "audio": 5}, TASKS, d_model=8, nhead=2, num_layers=1, pool_features=True).eval()
    _, ft, qt = _inputs(f=2)
    feats = {"visual": torch.randn(3, 2, 7, 7, 6), "audio": torch.randn(3, 2, 5)}
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(feats, ft, qt)
    assert torch.isfinite(out.logits["audio_event"].float()).all()


def test_task_loss_is_label_smoothed_ce_over_valid_queries_and_mixup_mixes_the_targets():
    torch.manual_seed(0)
    logits = {"visual_verb": torch.randn(3, 4, 5)}
    labels = {"visual_verb": torch.tensor([[0, 1, -1, -1], [2, -1, -1, -1], [4, 3, 1, -1]])}
    criterion = TIMLoss((TASKS[0],), label_smoothing=0.2, lambda_drloc=0.0)
    mix = Mix(0.7, torch.tensor([2, 0, 1]))
    unused = torch.zeros(3, 2, 16)
    got = criterion(logits, labels, unused, None, 2, mix)["loss"]

    def ce(y):  # mean label-smoothed CE over the non-padded positions only
        valid = y.reshape(-1) >= 0
        return torch.nn.functional.cross_entropy(logits["visual_verb"].reshape(-1, 5)[valid], y.reshape(-1)[valid],
                                                 label_smoothing=0.2)
    y = labels["visual_verb"]
    torch.testing.assert_close(got, 0.7 * ce(y) + 0.3 * ce(y[mix.perm]))
    # logits at padded positions never matter
    changed = {"visual_verb": logits["visual_verb"].clone()}
    changed["visual_verb"][1, 1:] += 100.0
    changed["visual_verb"][0, 2:] -= 50.0
    torch.testing.assert_close(TIMLoss((TASKS[0],), lambda_drloc=0.0)(changed, labels, unused, None, 2)["loss"],
                               TIMLoss((TASKS[0],), lambda_drloc=0.0)(logits, labels, unused, None, 2)["loss"])


def test_mask_free_attention_equals_dense_attention_with_the_query_mask():
    from torch.nn import functional as F

    from tim_bench.model.layers import SelfAttention, query_mask
    torch.manual_seed(0)
    attn = SelfAttention(16, 4, dropout=0.0).train()  # train mode: the fused path with dropout_p=0
    for features, queries in ((10, 0), (10, 1), (6, 9)):
        x = torch.randn(3, features + queries, 16)
        q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).view(3, -1, 3, 4, 4).permute(2, 0, 3, 1, 4)
        dense = F.scaled_dot_product_attention(q, k, v, attn_mask=query_mask(features + queries, features, x.device))
        want = attn.out_proj(dense.transpose(1, 2).reshape(3, -1, 16))
        torch.testing.assert_close(attn(x, features), want, atol=1e-6, rtol=1e-5)


def test_encoder_layers_start_identical_by_default_as_the_originals_deep_copies():
    from tim_bench.config import load_config
    from tim_bench_registry import MODELS, build
    configs = Path(__file__).resolve().parents[1] / "configs"
    cfg = load_config(configs / "ave_vgg.py", {"data_root": "unused"})  # the shipped recipe, as a run builds it
    assert cfg.model.encoder_init == "cloned"
    model = build(MODELS, cfg.model, input_dims={"visual": 6, "audio": 5}, tasks=TASKS)
    first, *others = [layer.state_dict() for layer in model.encoder.layers]
    assert others and all(torch.equal(first[k], other[k]) for other in others for k in first)
    assert model.encoder.layers[0].linear1.weight.data_ptr() != model.encoder.layers[1].linear1.weight.data_ptr()
    independent = _model(encoder_init="independent").encoder.layers
    assert not torch.equal(independent[0].linear1.weight, independent[1].linear1.weight)
    with pytest.raises(ValueError, match="encoder_init='shared'"):
        _model(encoder_init="shared")
