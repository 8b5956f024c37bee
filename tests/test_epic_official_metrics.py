"""The official EPIC-100 and EPIC-Sounds metrics: hand-computed cases, the tie rule, the global-softmax quirk,
the real validation subsets, an independent loop-based re-implementation, and the METRICS plugins."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from helpers import ANNOTATIONS, full_release
from scipy.special import softmax

from tim_bench_plugins.epic.metrics import EPIC100Metrics, EPICJointMetrics, EPICSoundsMetrics
from tim_bench_plugins.epic.official import epic100_metrics, epic100_subsets, epic_sounds_metrics, rank_actions
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_registry import METRICS, DataError, SplitAnnotations, Task, build

DATA = ANNOTATIONS  # a few real rows (tests/data), or the full files
EPIC = DATA / "epic-kitchens-100"
SOUNDS = DATA / "epic-sounds"
needs_full_release = pytest.mark.skipif(not full_release(DATA), reason="checks figures of the full official files "
                                        "(tests/data holds a few rows); set TIM_BENCH_TEST_DATA to them to run it")


# ---------------------------------------------------------------- EPIC-100 action ranking

def test_action_ranking_hand_computed():
    # verb order 1, 2, 0; noun order 1, 3, 2, 0; pair sums: (1,1)=8, (1,3)=7.5, (2,1)=7, (2,3)=6.5, (0,1)=6
    verbs = np.array([[1.0, 3.0, 2.0]])
    nouns = np.array([[0.0, 5.0, 1.0, 4.5]])
    assert rank_actions(verbs, nouns)[0, :5].tolist() == [1001, 1003, 2001, 2003, 1]


def test_action_ties_go_to_the_lower_action_id():
    # verbs 1 and 2 tie, nouns 0 and 2 tie: each tier of equal products is listed by action id
    verbs = np.array([[0.0, 1.0, 1.0]])
    nouns = np.array([[2.0, 0.0, 2.0, 0.0]])
    assert rank_actions(verbs, nouns)[0].tolist() == [1000, 1002, 2000, 2002, 0, 2, 1001, 1003, 2001, 2003, 1, 3]


def test_all_equal_scores_rank_verb_0_with_the_first_100_nouns():
    ranked = rank_actions(np.zeros((2, 97)), np.zeros((2, 300)))
    assert ranked.shape == (2, 100)
    assert ranked[0].tolist() == list(range(100))


def test_a_noun_outside_the_top_100_is_never_an_action_candidate():
    rng = np.random.default_rng(1)
    verbs, nouns = rng.normal(size=(50, 97)), rng.normal(size=(50, 300))
    worst_nouns = np.argsort(nouns, axis=1)[:, :200]  # the 200 lowest-scored nouns of each row
    ranked_nouns = rank_actions(verbs, nouns) % 1000
    assert not any(np.isin(ranked_nouns[i], worst_nouns[i]).any() for i in range(50))


def test_global_softmax_ranks_like_per_row_softmax_and_like_score_sums():
    rng = np.random.default_rng(2)
    verbs, nouns = rng.normal(scale=3, size=(300, 97)), rng.normal(scale=3, size=(300, 300))
    ranked = rank_actions(verbs, nouns)
    top_nouns = np.argsort(-nouns, axis=1, kind="stable")[:, :100]
    for i in range(len(verbs)):
        per_row = softmax(verbs[i])[:, None] * softmax(nouns[i, top_nouns[i]])[None, :]
        sums = verbs[i][:, None] + nouns[i, top_nouns[i]][None, :]
        ids = (np.arange(97)[:, None] * 1000 + top_nouns[i][None, :]).ravel()
        assert ids[np.argsort(-per_row.ravel())[:100]].tolist() == ranked[i].tolist()
        assert ids[np.argsort(-sums.ravel())[:100]].tolist() == ranked[i].tolist()
    # the normaliser differs (global vs per row) while the order above does not
    assert not np.allclose(softmax(verbs), softmax(verbs, axis=1))


def test_global_softmax_underflow_ties_fall_to_the_action_id_rule():
    # One extreme row makes exp() of every other row underflow to 0, as in the official code:
    # all their pairs tie at 0 and rank by action id.
    verbs, nouns = np.zeros((2, 97)), np.zeros((2, 300))
    verbs[1, 5] = nouns[1, 7] = 900.0
    verbs[0, 96], nouns[0, 299] = 3.0, 3.0
    ranked = rank_actions(verbs, nouns)
    assert ranked[1, 0] == 5007
    assert ranked[0, :3].tolist() == [0, 1, 2]


# ---------------------------------------------------------------- EPIC-100 metrics

def test_epic100_metrics_hand_computed():
    # 4 segments, 3 verbs x 4 nouns. Top-1 verb right on 0,1,3; noun right on 0,2,3; action on 0,3.
    verbs = np.array([[5, 0, 0], [0, 5, 0], [5, 0, 0], [0, 0, 5]], dtype=float)
    nouns = np.array([[5, 0, 0, 0], [5, 0, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]], dtype=float)
    verb_labels, noun_labels = np.array([0, 1, 2, 2]), np.array([0, 1, 2, 3])
    m = epic100_metrics(verbs, nouns, verb_labels, noun_labels, participant_ids=["P01", "P18", "P18", "P01"],
                        tail_verbs=[2], tail_nouns=[1], unseen_participants=["P18"])
    assert m["all_verb_accuracy_at_1"] == 75.0
    assert m["all_noun_accuracy_at_1"] == 75.0
    assert m["all_action_accuracy_at_1"] == 50.0
    assert m["all_verb_accuracy_at_5"] == m["all_noun_accuracy_at_5"] == 100.0  # 5 >= class counts
    # segment 2: (0, 2) first, then the tier (0,0) (0,1) (0,3) (1,2) (2,2) by action id: 2002 is 6th
    assert m["all_action_accuracy_at_5"] == 75.0
    assert m["tail_verb_accuracy_at_1"] == 50.0      # segments 2, 3
    assert m["tail_noun_accuracy_at_1"] == 0.0       # segment 1
    assert m["tail_action_accuracy_at_1"] == pytest.approx(100 / 3)  # segments 1, 2, 3
    assert m["unseen_verb_accuracy_at_1"] == 50.0    # segments 1, 2
    assert m["unseen_action_accuracy_at_1"] == 0.0
    assert len(m) == 12


def test_verb_ties_rank_the_lower_class_first():
    verbs = np.zeros((2, 97))
    nouns = np.zeros((2, 300))
    m = epic100_metrics(verbs, nouns, np.array([0, 1]), np.array([0, 0]))
    assert m["all_verb_accuracy_at_1"] == 50.0
    assert m["all_action_accuracy_at_1"] == 50.0  # (0, 0) is the first action; (1, 0) = 1000 is not in 5 best
    assert m["all_action_accuracy_at_5"] == 50.0


def test_a_subset_that_matches_nothing_is_left_out():
    m = epic100_metrics(np.zeros((2, 97)), np.zeros((2, 300)), np.array([0, 1]), np.array([0, 0]),
                        participant_ids=["P01", "P02"], tail_verbs=[50], tail_nouns=[50],
                        unseen_participants=["P33"])
    assert sorted(k for k in m if not k.startswith("all_")) == []


def test_epic100_refuses_nan_and_out_of_range_labels():
    with pytest.raises(DataError, match="NaN or inf in 1 rows"):
        epic100_metrics(np.full((1, 97), np.nan), np.zeros((1, 300)), np.array([0]), np.array([0]))
    with pytest.raises(DataError, match="label 300"):
        epic100_metrics(np.zeros((1, 97)), np.zeros((1, 300)), np.array([0]), np.array([300]))


@pytest.fixture(scope="module")
def epic_val() -> pd.DataFrame:
    return pd.read_csv(EPIC / "EPIC_100_validation.csv", dtype={"participant_id": str})


@pytest.fixture(scope="module")
def epic_subset_files() -> dict:
    return dict(tail_verbs=pd.read_csv(EPIC / "EPIC_100_tail_verbs.csv")["verb"].tolist(),
                tail_nouns=pd.read_csv(EPIC / "EPIC_100_tail_nouns.csv")["noun"].tolist(),
                unseen_participants=pd.read_csv(EPIC / "EPIC_100_unseen_participant_ids_validation.csv")[
                    "participant_id"].tolist())


@needs_full_release
def test_real_validation_subset_sizes(epic_val, epic_subset_files):
    masks = epic100_subsets(epic_val.verb_class, epic_val.noun_class, epic_val.participant_id, **epic_subset_files)
    sizes = {name: int(mask.sum()) for name, mask in masks.items()}
    assert sizes == {"all": 9668, "tail_verb": 1760, "tail_noun": 1900, "tail_action": 3105, "unseen": 1065}


def reference_ranking(row: list[float]) -> list[int]:
    """Class ids by score, highest first; equal scores: lower id first."""
    return sorted(range(len(row)), key=lambda c: (-row[c], c))


def reference_rank_actions(verb_ranks: list[list[int]], noun_ranks: list[list[int]], verb_scores: np.ndarray,
                           noun_scores: np.ndarray) -> np.ndarray:
    """The spec, literally: top-100 verbs and nouns, global softmax, all products, best 100 pairs, lower id first."""
    top_verbs, top_nouns = [r[:100] for r in verb_ranks], [r[:100] for r in noun_ranks]
    p_verb = softmax(np.array([verb_scores[i, top] for i, top in enumerate(top_verbs)]))
    p_noun = softmax(np.array([noun_scores[i, top] for i, top in enumerate(top_nouns)]))
    out = []
    for i in range(len(verb_scores)):
        products = (p_verb[i][:, None] * p_noun[i][None, :]).ravel()
        ids = (1000 * np.array(top_verbs[i])[:, None] + np.array(top_nouns[i])[None, :]).ravel()
        threshold = np.partition(products, len(products) - 100)[len(products) - 100]
        candidates = np.flatnonzero(products >= threshold)
        order = np.lexsort((ids[candidates], -products[candidates]))[:100]
        out.append(ids[candidates][order])
    return np.array(out)


def reference_epic100(verb_scores, noun_scores, verb_labels, noun_labels, participants, tail_verbs, tail_nouns,
                      unseen):
    verb_ranks = [reference_ranking(row) for row in verb_scores.tolist()]
    noun_ranks = [reference_ranking(row) for row in noun_scores.tolist()]
    actions = reference_rank_actions(verb_ranks, noun_ranks, verb_scores, noun_scores)
    rows = []
    for i in range(len(verb_labels)):
        v_rank, n_rank = verb_ranks[i], noun_ranks[i]
        true_action = verb_labels[i] * 1000 + noun_labels[i]
        rows.append(dict(verb1=v_rank[0] == verb_labels[i], verb5=verb_labels[i] in v_rank[:5],
                         noun1=n_rank[0] == noun_labels[i], noun5=noun_labels[i] in n_rank[:5],
                         action1=actions[i, 0] == true_action, action5=true_action in actions[i, :5].tolist(),
                         tail_verb=verb_labels[i] in tail_verbs, tail_noun=noun_labels[i] in tail_nouns,
                         unseen=participants[i] in unseen))
    table = pd.DataFrame(rows)
    table["tail_action"] = table.tail_verb | table.tail_noun
    out = {}
    for task in ("verb", "noun", "action"):
        for k in (1, 5):
            out[f"all_{task}_accuracy_at_{k}"] = 100 * table[f"{task}{k}"].mean()
    for task in ("verb", "noun", "action"):
        out[f"tail_{task}_accuracy_at_1"] = 100 * table[f"{task}1"][table[f"tail_{task}"]].mean()
    for task in ("verb", "noun", "action"):
        out[f"unseen_{task}_accuracy_at_1"] = 100 * table[f"{task}1"][table["unseen"]].mean()
    return out, actions


def _score_matrices(kind: str, verb_labels: np.ndarray, noun_labels: np.ndarray):
    """``random``: continuous noise. ``informative``: the true classes lifted (accuracies far from 0 and 100) and
    rounded to half units, so equal verb, noun and pair scores are everywhere and the tie rule decides."""
    rng = np.random.default_rng({"random": 3, "informative": 4}[kind])
    verbs = rng.normal(size=(len(verb_labels), 97)).astype(np.float32)
    nouns = rng.normal(size=(len(noun_labels), 300)).astype(np.float32)
    if kind == "informative":
        rows = np.arange(len(verb_labels))
        verbs[rows, verb_labels] += 3.0
        nouns[rows, noun_labels] += 3.5
        verbs, nouns = np.round(verbs * 2) / 2, np.round(nouns * 2) / 2
    return verbs, nouns


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["random", "informative"])
def test_vectorised_equals_loop_reference_on_real_labels(kind, epic_val, epic_subset_files):
    vl, nl = epic_val.verb_class.to_numpy(), epic_val.noun_class.to_numpy()
    verbs, nouns = _score_matrices(kind, vl, nl)
    got = epic100_metrics(verbs, nouns, vl, nl, epic_val.participant_id, **epic_subset_files)
    want, reference_actions = reference_epic100(
        verbs.astype(np.float64), nouns.astype(np.float64), vl, nl, epic_val.participant_id.tolist(),
        set(epic_subset_files["tail_verbs"]), set(epic_subset_files["tail_nouns"]),
        set(epic_subset_files["unseen_participants"]))
    assert list(got) == list(want)
    max_abs_diff = max(abs(got[k] - want[k]) for k in want)
    print(f"{kind}: max abs difference vs the loop reference = {max_abs_diff}")
    assert max_abs_diff == 0.0
    np.testing.assert_array_equal(rank_actions(verbs, nouns), reference_actions)
    if kind == "informative":
        assert 20 < got["all_action_accuracy_at_1"] < 90  # the comparison is not vacuous


# ---------------------------------------------------------------- EPIC-Sounds

def test_sounds_hand_computed_with_absent_class():
    # 3 classes; class 2 is predicted once but never a label, so mCA averages classes 0 and 1 only.
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.0, 0.5], [0.1, 0.7, 0.9], [0.2, 0.6, 0.1]])
    labels = np.array([0, 1, 0, 1])
    m = epic_sounds_metrics(scores, labels)
    assert m["all_interaction_accuracy_at_1"] == 50.0  # rows 0 and 3
    assert m["all_interaction_accuracy_at_5"] == 100.0
    assert m["all_interaction_mCA"] == 50.0  # class 0: 1/2, class 1: 1/2
    # class 0 scores by rank: .9 (pos), .8 (neg), .2 (neg), .1 (pos): AP = (1 + 2/4) / 2, AUC = 2/4
    # class 1 scores by rank: .7 (neg), .6 (pos), .1 (neg), 0 (pos): AP = (1/2 + 2/4) / 2, AUC = 1/4
    assert m["all_interaction_mAP"] == pytest.approx(100 * (0.75 + 0.5) / 2)
    assert m["all_interaction_mAUC"] == pytest.approx((0.5 + 0.25) / 2)


def test_sounds_mca_uses_float32_argmax_while_topk_uses_the_scores():
    # 1 + 1e-12 beats 1 in float64 but ties with it in float32, where argmax takes class 0
    scores = np.array([[1.0, 1.0 + 1e-12, 0.0], [0.0, 1.0, 0.0]])
    m = epic_sounds_metrics(scores, np.array([0, 1]))
    assert m["all_interaction_accuracy_at_1"] == 50.0
    assert m["all_interaction_mCA"] == 100.0


def test_sounds_exclude_background_drops_rows_and_keeps_the_column():
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(40, 44))
    labels = rng.integers(0, 44, 40)
    labels[:5] = 13
    scores[5, 13] = 100.0  # a non-background segment whose top score is background: still wrong
    kept = labels != 13
    m = epic_sounds_metrics(scores, labels, exclude_background=True)
    assert m == epic_sounds_metrics(scores[kept], labels[kept])
    assert m != epic_sounds_metrics(scores, labels)


def test_sounds_views_are_summed():
    rng = np.random.default_rng(7)
    views, labels = rng.normal(size=(30, 3, 44)), rng.integers(0, 44, 30)
    assert epic_sounds_metrics(views, labels) == epic_sounds_metrics(views.sum(axis=1), labels)


def _reference_ap(positive: np.ndarray, score: np.ndarray) -> float:
    """Step-wise AP, one threshold per distinct score."""
    ap, previous_recall = 0.0, 0.0
    for threshold in np.unique(score)[::-1]:
        taken = score >= threshold
        recall = positive[taken].sum() / positive.sum()
        ap += (recall - previous_recall) * positive[taken].mean()
        previous_recall = recall
    return ap


def _reference_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Probability that a positive outscores a negative, ties counting half."""
    negatives = np.sort(score[~positive])
    below = np.searchsorted(negatives, score[positive], side="left")
    equal = np.searchsorted(negatives, score[positive], side="right") - below
    return float((below + 0.5 * equal).sum() / (positive.sum() * len(negatives)))


@needs_full_release  # every one of the 44 classes labelled
@pytest.mark.parametrize("exclude_background", [False, True])
def test_sounds_equal_a_loop_reference_on_real_labels(exclude_background):
    labels = pd.read_csv(SOUNDS / "EPIC_Sounds_validation.csv")["class_id"].to_numpy()
    assert len(np.unique(labels)) == 44 and (labels == 13).sum() == 33
    rng = np.random.default_rng(8)
    scores = np.round(rng.normal(size=(len(labels), 44)), 1)  # rounded: ties in top-k, AP and AUC
    scores[np.arange(len(labels)), labels] += 1.0
    got = epic_sounds_metrics(scores, labels, exclude_background)
    keep = labels != 13 if exclude_background else np.ones(len(labels), bool)
    s, y = scores[keep].astype(np.float32), labels[keep]
    ranks = [reference_ranking(row) for row in scores[keep].tolist()]
    present = sorted(set(y.tolist()))
    want = {"all_interaction_accuracy_at_1": 100 * np.mean([r[0] == t for r, t in zip(ranks, y)]),
            "all_interaction_accuracy_at_5": 100 * np.mean([t in r[:5] for r, t in zip(ranks, y)]),
            "all_interaction_mCA": 100 * np.mean([np.mean(s[y == c].argmax(axis=1) == c) for c in present]),
            "all_interaction_mAP": 100 * np.mean([_reference_ap(y == c, s[:, c]) for c in present]),
            "all_interaction_mAUC": np.mean([_reference_auc(y == c, s[:, c]) for c in present])}
    assert list(got) == list(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key


# ---------------------------------------------------------------- METRICS plugins

def _predictions(tasks: dict[str, tuple[list[str], np.ndarray, np.ndarray]]) -> Predictions:
    task_list = tuple(Task(*key.split("_", 1), logits.shape[1]) for key, (_, logits, _) in tasks.items())
    by_task = {key: TaskPredictions(np.array(ids), logits.astype(np.float32), np.array(labels))
               for key, (ids, logits, labels) in tasks.items()}
    return Predictions("epic", "val", task_list, by_task)


def _annotations(**extra) -> SplitAnnotations:
    return SplitAnnotations(segments=pd.DataFrame(), durations={}, tasks=(), extra=extra)


def _epic_tasks(rng, n=6):
    ids = [f"P01_01_{i}" for i in range(n)]
    verb_labels, noun_labels = rng.integers(0, 97, n), rng.integers(0, 300, n)
    verbs, nouns = rng.normal(size=(n, 97)), rng.normal(size=(n, 300))
    verbs[np.arange(n), verb_labels] += 5.0
    nouns[np.arange(n // 2), noun_labels[: n // 2]] += 5.0
    return ids, (verbs, verb_labels), (nouns, noun_labels)


def test_epic100_plugin_reads_extra_and_aligns_noun_rows_by_id():
    rng = np.random.default_rng(9)
    ids, (verbs, vl), (nouns, nl) = _epic_tasks(rng)
    action_labels = np.array([0, -1, 2, 1, 3, 3])
    action = np.zeros((6, 4))
    action[[0, 1, 2, 3], [0, 0, 2, 0]] = 1.0  # right on 0 and 2; segment 1's action is outside the vocabulary
    perm = np.array([3, 0, 5, 1, 4, 2])
    predictions = _predictions({"visual_verb": (ids, verbs, vl),
                                "visual_noun": ([ids[p] for p in perm], nouns[perm], nl[perm]),
                                "visual_action": (ids, action, action_labels)})
    extra = dict(participant_id=pd.Series(["P01", "P18"] * 3, index=ids), tail_verbs=[int(vl[0])],
                 tail_nouns=[], unseen_participants=["P18"])
    metric = build(METRICS, dict(type="EPIC100Metrics"))
    m = metric(predictions, _annotations(**extra))
    direct = epic100_metrics(verbs.astype(np.float32), nouns.astype(np.float32), vl, nl,
                             ["P01", "P18"] * 3, [int(vl[0])], [], ["P18"])
    assert {k: m[k] for k in direct} == direct
    assert m["all_verb_accuracy_at_1"] == 100.0 and m["all_noun_accuracy_at_1"] == 50.0
    assert m["tim_action_head_top1"] == pytest.approx(100 * 2 / 6)
    assert m["tim_verb_noun_top1"] == 50.0
    assert metric.main_metric == "all_action_accuracy_at_1"


def test_epic100_plugin_needs_a_participant_for_every_segment():
    rng = np.random.default_rng(10)
    ids, (verbs, vl), (nouns, nl) = _epic_tasks(rng)
    predictions = _predictions({"visual_verb": (ids, verbs, vl), "visual_noun": (ids, nouns, nl)})
    with pytest.raises(DataError, match="no participant for 1 evaluated segments \\(first P01_01_5\\)"):
        EPIC100Metrics()(predictions, _annotations(participant_id={i: "P01" for i in ids[:5]},
                                                   unseen_participants=["P18"]))


def test_sounds_plugin_and_joint_metrics_with_one_stream():
    rng = np.random.default_rng(11)
    ids, (verbs, vl), (nouns, nl) = _epic_tasks(rng)
    audio_labels = rng.integers(0, 44, 8)
    audio = _predictions({"audio_interaction": ([f"P01_01_{i}" for i in range(8)], rng.normal(size=(8, 44)),
                                                audio_labels)})
    visual = _predictions({"visual_verb": (ids, verbs, vl), "visual_noun": (ids, nouns, nl)})
    sounds = EPICSoundsMetrics(exclude_background=True)(audio, _annotations())
    assert set(sounds) == {"all_interaction_accuracy_at_1", "all_interaction_accuracy_at_5", "all_interaction_mCA",
                           "all_interaction_mAP", "all_interaction_mAUC"}
    visual_only = EPICJointMetrics()(visual, _annotations())
    assert "all_action_accuracy_at_1" in visual_only and "all_interaction_mAP" not in visual_only
    audio_only = EPICJointMetrics(main_metric="all_interaction_accuracy_at_1", exclude_background=True)
    assert audio_only(audio, _annotations()) == sounds
    with pytest.raises(DataError, match="main_metric 'all_action_accuracy_at_1' is not among"):
        EPICJointMetrics()(audio, _annotations())
