"""Published TIM reference rows: shipped with the package, faithful to tim_published.md, matched to tables."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.spec import leaderboard_spec
from tim_bench.leaderboard.reference import load_references, reference_for_metric, references_for

PUBLISHED = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "tim_published.md"


def test_every_published_row_ships_with_source_and_caveat() -> None:
    refs = {r.id: r for r in load_references()}
    assert refs["tim_epic100_av"].metrics == {"all_verb_accuracy_at_1": 77.1, "all_noun_accuracy_at_1": 67.2,
                                              "all_action_accuracy_at_1": 57.5}
    assert refs["tim_epic_sounds_av"].metrics == {"all_interaction_accuracy_at_1": 58.3}
    assert refs["tim_epic_sounds_audio"].metrics == {"all_interaction_accuracy_at_1": 55.7}
    assert refs["tim_perception_test_av"].metrics == {"action_top1": 61.08, "action_top5": 84.66,
                                                      "sound_top1": 56.07, "sound_top5": 87.36}
    assert refs["tim_ave_vgg"].metrics == {"acc_visual": 79.0} and refs["tim_ave_vgg"].split == "test"
    # the 79.85 log belongs to the Omnivore + Auditory SlowFast model, not to the VGG-feature recipe
    assert refs["tim_ave_omnivore_asf"].metrics == {"acc_visual": 79.851}
    assert refs["tim_ave_vgg"].configs == ("ave_vgg",) and refs["tim_ave_omnivore_asf"].configs == ("ave_omnivore_asf",)
    for ref in refs.values():
        assert ref.source and "not runs measured" in ref.caveat and ref.tolerance == 3.0
        spec = leaderboard_spec(ref.dataset)
        assert set(ref.metrics) <= set(spec.metrics), f"{ref.id} uses a metric its dataset does not report"


def test_reference_values_appear_in_the_published_table() -> None:
    if not PUBLISHED.is_file():
        pytest.skip(f"{PUBLISHED} not found")
    text = PUBLISHED.read_text()
    for ref in load_references():
        for value in ref.metrics.values():
            assert f"{value:g}" in text, f"{ref.id}: {value} is not in tim_published.md"


def test_joint_epic_table_takes_rows_of_both_benchmarks_and_defaults_for_deltas() -> None:
    refs = load_references()
    joint = leaderboard_spec("EPIC100+EPICSounds")
    assert [r.id for r in references_for(joint, refs)] == ["tim_epic100_av", "tim_epic_sounds_audio",
                                                           "tim_epic_sounds_av"]
    # each recipe is compared with the row of its own setting: audio-only with audio-only, the joint 2048-d
    # model with the A+V row, and a recipe of no published setting with none
    assert reference_for_metric(joint, refs, "all_interaction_accuracy_at_1", "epic_sounds").id == \
        "tim_epic_sounds_audio"
    assert reference_for_metric(joint, refs, "all_interaction_accuracy_at_1", "epic_av_omnivore_videomae").id == \
        "tim_epic_sounds_av"
    assert reference_for_metric(joint, refs, "all_interaction_accuracy_at_1", "epic_av") is None
    assert reference_for_metric(joint, refs, "all_verb_accuracy_at_5") is None


def test_extra_reference_folders_are_validated(tmp_path: Path) -> None:
    row = {"reference": True, "id": "mine", "dataset": "AVE", "split": "test", "setting": "s", "metrics": {},
           "source": "me", "caveat": "c", "default": False, "tolerance": 1.0}
    (tmp_path / "mine.json").write_text(json.dumps(row))
    assert load_references([tmp_path])[-1].id == "mine"
    (tmp_path / "mine.json").write_text(json.dumps({**row, "id": "tim_ave_vgg"}))
    with pytest.raises(LeaderboardError, match="reuses the id 'tim_ave_vgg'"):
        load_references([tmp_path])
    (tmp_path / "mine.json").write_text(json.dumps({k: v for k, v in row.items() if k != "source"}))
    with pytest.raises(LeaderboardError, match=r"lacks keys \['source'\]"):
        load_references([tmp_path])
    (tmp_path / "mine.json").write_text(json.dumps({**row, "reference": False}))
    with pytest.raises(LeaderboardError, match="is not a reference row"):
        load_references([tmp_path])
    with pytest.raises(LeaderboardError, match="does not exist"):
        load_references([tmp_path / "nope"])
