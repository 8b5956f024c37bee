"""`predict --original-dict` writes what the original's ``--extract_feats`` writes.

``original_feature_meter`` below is the original's ``FeatureMeter.update`` + ``finalize_metrics``
(recognition/time_interval_machine/utils/meters.py @c7cb293), copied step by step with its timers and
logging removed, and fed the per-window outputs and metadata its extract loop gives it. The same windows'
logits, averaged per segment as tim-bench's evaluator does, go through tim-bench's exporter; the two
dicts must agree in keys, types, dtypes, shapes, ids and values, and tim-bench's file must read back with
plain ``pickle.load``.
"""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import torch

from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench.original.original_dict import export_original_predictions
from tim_bench_registry import Task

NUM_CLASS = ([5, 7, 9], 4)  # verbs, nouns, actions; audio classes
V_IDS = ["P01_01_0", "P01_01_1", "P01_01_2"]  # visual segments: action ids 0..2 (annotation order)
A_IDS = ["P01_01_s0", "P01_01_s1"]  # audio segments: action ids 3..4 (after the visual ones, as concatenated)
#: windows: (visual segments queried, audio segments queried); padded to 2 visual and 2 audio queries
WINDOWS = [([0, 1], [3]), ([1, 2], [3, 4]), ([2], [4])]


def original_feature_meter(batches: list[tuple[tuple, dict]], num_actions: int) -> dict:
    """The original FeatureMeter (include_verb_noun True, data modality audio_visual), update then finalize."""
    verb_preds = torch.zeros((num_actions, NUM_CLASS[0][0]))
    noun_preds = torch.zeros((num_actions, NUM_CLASS[0][1]))
    action_preds = torch.zeros((num_actions, NUM_CLASS[0][2]))
    aud_preds = torch.zeros((num_actions, NUM_CLASS[1]))
    seen_count = torch.zeros((num_actions,), dtype=torch.float32)
    narration_ids = np.zeros(num_actions, dtype=object)
    last_visual = 0
    for features, metadata in batches:
        n_ids = metadata["v_narration_ids"]
        visual_indices = np.where(np.char.find(n_ids.astype(str), "v_") != -1)
        v_action_ids = metadata["v_action_ids"].cpu()[visual_indices]
        if v_action_ids.shape[0] > 0:
            last_visual = max(last_visual, max(v_action_ids) + 1)
            verb_preds.index_add_(0, v_action_ids, features[0].cpu()[visual_indices])
            noun_preds.index_add_(0, v_action_ids, features[1].cpu()[visual_indices])
            action_preds.index_add_(0, v_action_ids, features[2].cpu()[visual_indices])
            seen_count.index_add_(0, v_action_ids, torch.ones_like(v_action_ids).float())
            narration_ids[v_action_ids] = n_ids[visual_indices]
        n_ids = metadata["a_narration_ids"]
        audio_indices = np.where(np.char.find(n_ids.astype(str), "a_") != -1)
        a_action_ids = metadata["a_action_ids"].cpu()[audio_indices]
        if a_action_ids.shape[0] > 0:
            aud_preds.index_add_(0, a_action_ids, features[3].cpu()[audio_indices])
            seen_count.index_add_(0, a_action_ids, torch.ones_like(a_action_ids).float())
            narration_ids[a_action_ids] = n_ids[audio_indices]
    assert torch.where(seen_count == 0)[0].size(0) == 0
    visual_seen = seen_count[:last_visual].unsqueeze(1)
    verb_preds = (verb_preds[:last_visual] / visual_seen.repeat(1, verb_preds.size(1))).softmax(dim=1)
    noun_preds = (noun_preds[:last_visual] / visual_seen.repeat(1, noun_preds.size(1))).softmax(dim=1)
    action_preds = (action_preds[:last_visual] / visual_seen.repeat(1, action_preds.size(1))).softmax(dim=1)
    audio_seen = seen_count[last_visual:].unsqueeze(1)
    aud_preds = (aud_preds[last_visual:] / audio_seen.repeat(1, aud_preds.size(1))).softmax(dim=1)
    data = {"action": action_preds.numpy(), "audio": aud_preds.numpy(),
            "v_narration_ids": narration_ids[:last_visual], "a_narration_ids": narration_ids[last_visual:]}
    data.update({"verb": verb_preds.numpy(), "noun": noun_preds.numpy()})
    return data


def window_outputs(seed: int = 0) -> tuple[list, dict[str, np.ndarray]]:
    """Per-window logits in the original's batch layout (queries padded to 2, ids prefixed, pads '' / -1), and
    the per-segment mean of each head's logits over the windows that query it (tim-bench's aggregation)."""
    generator = torch.Generator().manual_seed(seed)
    names = ["verb", "noun", "action", "audio"]
    widths = [*NUM_CLASS[0], NUM_CLASS[1]]
    sums = {n: np.zeros((len(V_IDS) + len(A_IDS), w), np.float64) for n, w in zip(names, widths)}
    counts = np.zeros(len(V_IDS) + len(A_IDS))
    batches = []
    for visual, audio in WINDOWS:
        logits = [torch.randn((2, w), generator=generator) for w in widths]
        v_ids = [f"v_{V_IDS[a]}" for a in visual] + [""] * (2 - len(visual))
        a_ids = [f"a_{A_IDS[a - len(V_IDS)]}" for a in audio] + [""] * (2 - len(audio))
        metadata = {"v_narration_ids": np.array(v_ids), "a_narration_ids": np.array(a_ids),
                    "v_action_ids": torch.tensor(visual + [-1] * (2 - len(visual))),
                    "a_action_ids": torch.tensor(audio + [-1] * (2 - len(audio)))}
        batches.append((tuple(logits), metadata))
        for row, action in enumerate(visual):
            for name, values in zip(names[:3], logits[:3]):
                sums[name][action] += values[row].numpy()
            counts[action] += 1
        for row, action in enumerate(audio):
            sums["audio"][action] += logits[3][row].numpy()
            counts[action] += 1
    means = {n: (s / np.maximum(counts, 1)[:, None]).astype(np.float32) for n, s in sums.items()}
    return batches, means


def tim_bench_predictions(means: dict[str, np.ndarray]) -> Predictions:
    nv = len(V_IDS)
    tasks = (Task("visual", "verb", NUM_CLASS[0][0]), Task("visual", "noun", NUM_CLASS[0][1]),
             Task("visual", "action", NUM_CLASS[0][2]), Task("audio", "interaction", NUM_CLASS[1]))
    unlabelled_v, unlabelled_a = np.full(nv, -1), np.full(len(A_IDS), -1)
    by_task = {f"visual_{n}": TaskPredictions(np.array(V_IDS), means[n][:nv], unlabelled_v)
               for n in ("verb", "noun", "action")}
    by_task["audio_interaction"] = TaskPredictions(np.array(A_IDS), means["audio"][nv:], unlabelled_a)
    return Predictions("EPIC100+EPICSounds", "val", tasks, by_task)


def test_exported_dict_equals_the_original_feature_meters_dict(tmp_path):
    batches, means = window_outputs()
    original = original_feature_meter(batches, num_actions=len(V_IDS) + len(A_IDS))
    path = export_original_predictions(tim_bench_predictions(means), tmp_path / "features" / "val_features.pkl")
    with open(path, "rb") as f:
        ours = pickle.load(f)
    assert set(ours) == set(original)
    for key, value in original.items():
        assert type(ours[key]) is type(value) and ours[key].dtype == value.dtype, key
        assert ours[key].shape == value.shape, key
        if value.dtype == object:
            assert ours[key].tolist() == value.tolist(), key
        else:
            np.testing.assert_allclose(ours[key], value, rtol=1e-5, atol=1e-7, err_msg=key)
    assert original["v_narration_ids"].tolist() == [f"v_{i}" for i in V_IDS]
    assert pd.read_pickle(path)["a_narration_ids"].tolist() == [f"a_{i}" for i in A_IDS]
