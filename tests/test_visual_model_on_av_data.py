"""``--model_modality visual`` on audio-visual data (the original README's note): both streams' queries are
answered from the visual features alone."""
from __future__ import annotations

import torch

from test_from_tim_args import readme_commands
from tim_bench.original.from_tim_args import convert
from tim_bench.model.tim import TIM
from tim_bench_registry import Task

TASKS = (Task("visual", "verb", 5), Task("visual", "noun", 7), Task("visual", "action", 9),
         Task("audio", "interaction", 4))


def test_visual_features_answer_visual_and_audio_queries():
    torch.manual_seed(0)
    model = TIM({"visual": 12}, TASKS, d_model=16, nhead=2, num_layers=2).eval()
    assert not any(k.startswith(("embedders.audio", "modality_encodings")) for k in model.state_dict())
    b, f = 2, 6
    visual, times = torch.randn(b, f, 12), torch.rand(b, f, 2)
    queries = {"visual": torch.rand(b, 3, 2), "audio": torch.rand(b, 2, 2)}
    out = model({"visual": visual}, {"visual": times}, queries)
    assert {k: tuple(v.shape) for k, v in out.logits.items()} == {
        "visual_verb": (b, 3, 5), "visual_noun": (b, 3, 7), "visual_action": (b, 3, 9), "audio_interaction": (b, 2, 4)}
    assert out.feature_tokens.shape == (b, f, 32)  # F visual feature tokens only
    moved = model({"visual": visual + 1}, {"visual": times}, queries)
    assert not torch.allclose(moved.logits["audio_interaction"], out.logits["audio_interaction"])
    # an audio query sees the features and itself only: other audio queries do not change it
    other = dict(queries, audio=torch.cat([queries["audio"][:, :1], torch.rand(b, 1, 2)], dim=1))
    again = model({"visual": visual}, {"visual": times}, other)
    torch.testing.assert_close(again.logits["audio_interaction"][:, 0], out.logits["audio_interaction"][:, 0])


def test_from_tim_args_converts_the_readme_note_model_modality_visual_on_av_data():
    argv = readme_commands()["epic_av"] + ["--model_modality", "visual"]
    conversion = convert(argv, "cfg.py")
    assert set(conversion.config["features"]) == {"visual"}
    assert [d["type"] for d in conversion.config["dataset"]] == ["EPIC100", "EPICSounds"]
    assert any(note.startswith("--model_modality visual on --data_modality audio_visual") for note in
               conversion.notes)
