"""The evaluator: run a model over every window of a split and average each segment's logits over the windows
that query it."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from tim_bench_registry import TimBenchError
from tim_bench_registry.predictions import Predictions, TaskPredictions

from ..data.dataset import move_batch
from ..model.compiled import inference_forward
from ..model.tim import TIM
from ..data.split import SplitData
from ..distributed import DistInfo, all_reduce_sum


@torch.no_grad()
def predict_split(model: TIM, loader: DataLoader, data: SplitData, dataset_name: str, device: torch.device,
                  dist: DistInfo = DistInfo(), progress: bool = True,
                  forward: Callable[[Mapping], dict] | None = None) -> Predictions:
    """Per-segment logits (fp32 sums / counts over windows) for every task, on every rank.

    The sums and counts stay on ``device`` (no host sync per batch; one copy to the host at the end). Buffers
    hold only the segments of each task's own stream (EPIC's 3,806-way action head never pays for the
    EPIC-Sounds rows). ``forward`` gives a batch's logits (``inference_forward``: eager, or compiled).
    """
    forward = forward or inference_forward(model, None)
    if data.train:  # training batches also compute mixup partners' slots, which are not this window's queries
        raise TimBenchError(f"Predictions need the evaluation view of split '{data.name}' (load_split(train=False)).")
    model.eval()
    seg = data.annotations.segments
    stream_rows = {s: np.flatnonzero(seg["stream"].to_numpy() == s) for s in model.query_streams}
    local = {}  # segments-table row -> row within its stream's buffers
    for s, rows in stream_rows.items():
        index = np.full(len(seg), -1, dtype=np.int64)
        index[rows] = np.arange(len(rows))
        local[s] = torch.from_numpy(index).to(device)
    sums = {t.key: torch.zeros(len(stream_rows[t.stream]), t.num_classes, dtype=torch.float32, device=device)
            for t in model.tasks}
    counts = {s: torch.zeros(len(rows), dtype=torch.float32, device=device) for s, rows in stream_rows.items()}
    for batch in tqdm(loader, desc=f"predict {data.name}", disable=not (progress and dist.is_main), leave=False):
        batch = move_batch(batch, device)
        logits_of = forward(batch)
        for s in model.query_streams:
            real = batch["query_index"][s]  # flat positions of the real queries (an index: no host sync)
            mine = local[s][batch["query_rows"][s].reshape(-1).index_select(0, real)]
            counts[s].index_add_(0, mine, torch.ones_like(mine, dtype=torch.float32))
            for t in model.tasks:
                if t.stream == s:
                    logits = logits_of[t.key].reshape(-1, t.num_classes).index_select(0, real)
                    sums[t.key].index_add_(0, mine, logits.float())
    for tensor in [*sums.values(), *counts.values()]:
        all_reduce_sum(tensor, dist)
    by_task = {}
    for t in model.tasks:
        queried = counts[t.stream] > 0
        rows = stream_rows[t.stream][queried.cpu().numpy()]
        logits = (sums[t.key][queried] / counts[t.stream][queried].unsqueeze(1)).cpu().numpy()
        by_task[t.key] = TaskPredictions(ids=seg["segment_id"].to_numpy(str)[rows], logits=logits.astype(np.float32),
                                         labels=seg[t.key].to_numpy(np.int64)[rows])
    return Predictions(dataset_name, data.name, model.tasks, by_task)
