"""Run a model over every window of a split and average each segment's logits over the windows that query it."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.dataset import move_batch
from ..evaluation.predictions import Predictions, TaskPredictions
from ..model.tim import TIM
from .assemble import SplitData
from .distributed import DistInfo, all_reduce_sum


@torch.no_grad()
def predict_split(model: TIM, loader: DataLoader, data: SplitData, dataset_name: str, device: torch.device,
                  dist: DistInfo = DistInfo(), progress: bool = True) -> Predictions:
    """Per-segment logits (fp32 sums / counts over windows) for every task, on every rank."""
    model.eval()
    n = len(data.annotations.segments)
    tasks = model.tasks
    sums = {t.key: torch.zeros(n, t.num_classes, dtype=torch.float32, device=device) for t in tasks}
    counts = {s: torch.zeros(n, dtype=torch.float32, device=device) for s in model.query_streams}
    for batch in tqdm(loader, desc=f"predict {data.name}", disable=not (progress and dist.is_main), leave=False):
        batch = move_batch(batch, device)
        out = model(batch["features"], batch["feature_times"], batch["query_times"])
        for s in model.query_streams:
            rows = batch["query_rows"][s].reshape(-1)
            valid = rows >= 0
            counts[s].index_add_(0, rows[valid], torch.ones_like(rows[valid], dtype=torch.float32))
        for t in tasks:
            rows = batch["query_rows"][t.stream].reshape(-1)
            valid = rows >= 0
            logits = out.logits[t.key].reshape(-1, t.num_classes)[valid].float()
            sums[t.key].index_add_(0, rows[valid], logits)
    for tensor in [*sums.values(), *counts.values()]:
        all_reduce_sum(tensor, dist)
    seg = data.annotations.segments
    by_task = {}
    for t in tasks:
        c = counts[t.stream].cpu().numpy()
        rows = np.flatnonzero(c > 0)
        logits = (sums[t.key][torch.from_numpy(rows).to(device)] / counts[t.stream][torch.from_numpy(rows).to(device)]
                  .unsqueeze(1)).cpu().numpy()
        by_task[t.key] = TaskPredictions(ids=seg["segment_id"].to_numpy(str)[rows], logits=logits.astype(np.float32),
                                         labels=seg[t.key].to_numpy(np.int64)[rows])
    return Predictions(dataset_name, data.name, tasks, by_task)
