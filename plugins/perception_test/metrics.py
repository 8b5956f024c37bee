"""Perception Test action and sound recognition accuracy: top-1, top-5 and mean class accuracy, in percent."""
from __future__ import annotations

from tim_bench_registry import METRICS, DataError, Predictions, SplitAnnotations, StreamBest
from tim_bench_registry.scores import mean_class_accuracy, topk_accuracy


@METRICS.register_module()
class PerceptionMetrics:
    """``action_top1/top5/mca`` of the visual action task and ``sound_top1/top5/mca`` of the audio sound task.

    Each segment's logits are averaged over the windows that query it before ranking, as the
    original reports them. A task the predictions lack (a single-stream run) is left out, but the
    main metric must be among those reported. The original keeps a visual (action) and an audio
    (sound) best checkpoint.
    """

    stream_bests = (StreamBest("visual", "action_top1", ("action_*",)), StreamBest("audio", "sound_top1", ("sound_*",)))

    def __init__(self, main_metric: str = "action_top1", action_task: str = "visual_action",
                 sound_task: str = "audio_sound") -> None:
        self.main_metric = main_metric
        self.tasks = {"action": action_task, "sound": sound_task}

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for prefix, key in self.tasks.items():
            if key not in predictions.by_task:
                continue
            task = predictions.task(key)
            unlabelled = task.labels < 0
            if unlabelled.any():
                raise DataError(f"{int(unlabelled.sum())} {key} segments (first {task.ids[unlabelled][0]}) have no "
                                f"label; Perception Test metrics need a labelled split such as val.")
            metrics[f"{prefix}_top1"] = topk_accuracy(task.logits, task.labels, 1)
            metrics[f"{prefix}_top5"] = topk_accuracy(task.logits, task.labels, 5)
            metrics[f"{prefix}_mca"] = mean_class_accuracy(task.logits, task.labels)
        if self.main_metric not in metrics:
            raise DataError(f"PerceptionMetrics main_metric '{self.main_metric}' is not among the metrics of these "
                            f"{predictions.dataset} {predictions.split} predictions ({', '.join(metrics) or 'none'}); "
                            f"set main_metric in the evaluator config to one of them.")
        return metrics
