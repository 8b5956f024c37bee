"""AVE per-second accuracy for the visual queries, the audio queries and their fused prediction."""
from __future__ import annotations

import numpy as np

from tim_bench_registry import METRICS, DataError, Predictions, SplitAnnotations, StreamBest
from tim_bench_registry.scores import softmax, topk_accuracy


@METRICS.register_module()
class AVEAccuracy:
    """``acc_visual``, ``acc_audio`` and ``acc_fused`` (mean of the two softmaxes of the same second), in %.

    As the original reports them: each 1-s segment's logits are averaged over the windows that
    query it before the softmax. The original keeps a best checkpoint for each of the three; its
    reported AVE figures are ``acc_visual`` at the visual best, so that is the main metric (the leaderboard's too).
    """

    stream_bests = (StreamBest("visual", "acc_visual", ("acc_visual",)),
                    StreamBest("audio", "acc_audio", ("acc_audio",)),
                    StreamBest("combined", "acc_fused", ("acc_fused",)))

    def __init__(self, main_metric: str = "acc_visual", visual_task: str = "visual_event",
                 audio_task: str = "audio_event") -> None:
        self.main_metric = main_metric
        self.visual_task, self.audio_task = visual_task, audio_task

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        v, a = predictions.task(self.visual_task), predictions.task(self.audio_task)
        metrics = {"acc_visual": topk_accuracy(v.logits, v.labels, 1), "acc_audio": topk_accuracy(a.logits, a.labels, 1)}
        a_index = {sid: i for i, sid in enumerate(a.ids)}
        missing = [sid for sid in v.ids if sid not in a_index]
        if missing:
            raise DataError(f"Fused AVE accuracy needs both streams for every second; {len(missing)} visual "
                            f"segments (first {missing[0]}) have no audio prediction.")
        order = np.array([a_index[sid] for sid in v.ids], dtype=np.int64)
        fused = (softmax(v.logits) + softmax(a.logits[order])) / 2
        metrics["acc_fused"] = topk_accuracy(fused, v.labels, 1)
        return metrics
